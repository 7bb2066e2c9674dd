import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseServiceTokenEnv, ServiceTokenError } from "../src/index";

const VALID = `svc-${randomBytes(16).toString("hex")}`;
const BAD = ["contains a space-xxxxxxxxxxxx", "newline\n-xxxxxxxxxxxxxxx", "sh0rtT0k", "ü".repeat(20), "x".repeat(8193)];

function refusal(source: Record<string, string>): ServiceTokenError {
  try {
    parseServiceTokenEnv(source);
  } catch (error) {
    if (error instanceof ServiceTokenError) return error;
    throw error;
  }
  throw new Error("expected the environment to be refused");
}

describe("the service token variables", () => {
  it("refuse a malformed override, naming the variable and never the value", () => {
    for (const variable of ["TOKENVAULT_SERVICE_TOKEN", "HEMERA_SERVICE_TOKEN"]) {
      for (const bad of BAD) {
        const error = refusal({ [variable]: bad });
        expect(error.code).toBe("CONFIGURATION");
        expect(error.message).toContain(variable);
        expect(error.message).not.toContain(bad);
      }
    }
  });

  it("accept the design documents' name as an alias; the project's name wins, with a warning naming both", () => {
    expect(parseServiceTokenEnv({ HEMERA_SERVICE_TOKEN: VALID }).override).toEqual({ token: VALID, variable: "HEMERA_SERVICE_TOKEN" });
    const both = parseServiceTokenEnv({ TOKENVAULT_SERVICE_TOKEN: VALID, HEMERA_SERVICE_TOKEN: `${VALID}-other` });
    expect(both.override).toEqual({ token: VALID, variable: "TOKENVAULT_SERVICE_TOKEN" });
    expect(both.warnings).toEqual(["TOKENVAULT_SERVICE_TOKEN and HEMERA_SERVICE_TOKEN are both set and differ; TOKENVAULT_SERVICE_TOKEN is used"]);
    expect(parseServiceTokenEnv({ TOKENVAULT_SERVICE_TOKEN: VALID, HEMERA_SERVICE_TOKEN: VALID }).warnings).toEqual([]);
    // The project's name wins even over a malformed alias, which is then not used at all.
    expect(parseServiceTokenEnv({ TOKENVAULT_SERVICE_TOKEN: VALID, HEMERA_SERVICE_TOKEN: "bad value" }).override?.token).toBe(VALID);
  });

  it("treat an empty variable as unset, as every variable of the project", () => {
    expect(parseServiceTokenEnv({ TOKENVAULT_SERVICE_TOKEN: "", HEMERA_SERVICE_TOKEN: "" })).toEqual({ warnings: [] });
  });

  it("configure the client_credentials minter only when complete", () => {
    const complete = { TOKENVAULT_SERVICE_TOKEN_ENDPOINT: "https://id.example.com/oauth/token", TOKENVAULT_SERVICE_CLIENT_ID: "svc", TOKENVAULT_SERVICE_CLIENT_SECRET: "s3cret" };
    expect(parseServiceTokenEnv({ ...complete, TOKENVAULT_SERVICE_SCOPE: "billing.read" }).clientCredentials).toEqual({
      tokenEndpoint: complete.TOKENVAULT_SERVICE_TOKEN_ENDPOINT,
      clientId: "svc",
      clientSecret: "s3cret",
      scope: "billing.read",
      audience: undefined,
    });
    expect(refusal({ ...complete, TOKENVAULT_SERVICE_CLIENT_SECRET: "" }).message).toMatch(/TOKENVAULT_SERVICE_CLIENT_ID and TOKENVAULT_SERVICE_CLIENT_SECRET must be set together/);
    expect(refusal({ ...complete, TOKENVAULT_SERVICE_TOKEN_ENDPOINT: "" }).message).toMatch(/TOKENVAULT_SERVICE_TOKEN_ENDPOINT is required/);
    expect(refusal({ TOKENVAULT_SERVICE_TOKEN_ENDPOINT: complete.TOKENVAULT_SERVICE_TOKEN_ENDPOINT }).message).toMatch(/are required with TOKENVAULT_SERVICE_TOKEN_ENDPOINT/);
    const notUrl = refusal({ ...complete, TOKENVAULT_SERVICE_TOKEN_ENDPOINT: "id.example.com/token" });
    expect(notUrl.message).toMatch(/TOKENVAULT_SERVICE_TOKEN_ENDPOINT must be an http\(s\) URL/);
    expect(refusal({ TOKENVAULT_SERVICE_AUDIENCE: "https://api" }).message).toMatch(/TOKENVAULT_SERVICE_AUDIENCE is set but/);
    expect(refusal({ ...complete, TOKENVAULT_SERVICE_CLIENT_SECRET: "" }).message).not.toContain("s3cret");
  });
});

describe("createServiceTokens reading the process environment (once, at start-up)", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ["TOKENVAULT_SERVICE_TOKEN", "HEMERA_SERVICE_TOKEN"]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    vi.restoreAllMocks();
  });

  /** A fresh copy of the package, so its environment is parsed again. */
  async function freshPackage() {
    vi.resetModules();
    return import("../src/index");
  }

  it("refuses a malformed alias at start-up, naming it without its value", async () => {
    delete process.env.TOKENVAULT_SERVICE_TOKEN;
    process.env.HEMERA_SERVICE_TOKEN = "has whitespace inside-xxxxxxxx";
    const { createServiceTokens } = await freshPackage();
    let error: unknown;
    try {
      createServiceTokens({});
    } catch (e) {
      error = e;
    }
    expect((error as Error).name).toBe("ServiceTokenError");
    expect((error as Error).message).toBe(
      "service token CONFIGURATION: HEMERA_SERVICE_TOKEN contains whitespace; it must be 16 to 8192 visible ASCII characters",
    );
  });

  it("serves the variable's token without a store or a minter, logging only the variable's name", async () => {
    process.env.TOKENVAULT_SERVICE_TOKEN = VALID;
    const consoleLines: string[] = [];
    for (const method of ["log", "info", "warn", "error", "debug"] as const) vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleLines.push(args.map(String).join(" ")));
    const { createServiceTokens } = await freshPackage();
    const service = createServiceTokens({});
    expect(await service.getServiceToken()).toBe(VALID);
    expect(consoleLines.join("\n")).toContain("TOKENVAULT_SERVICE_TOKEN");
    expect(consoleLines.join("\n")).not.toContain(VALID);
  });
});
