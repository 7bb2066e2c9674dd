import { existsSync } from "node:fs";
import { join } from "node:path";
import { createScratchRepository, type ScratchRepository } from "@tokenvault/db/testing";
import { createKeyRing } from "@tokenvault/vault";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { providerCallLimitsFromEnv, providerSettingsFromEnv, resetTokenEnvCacheForTests } from "./env";

const envModule = new URL("./env.ts", import.meta.url).href;
const KEY_A = "a".repeat(64);
const KEY_B = "b".repeat(64);
const keyId = (hex: string) => createKeyRing(Buffer.from(hex, "hex")).current.id;

interface Outcome {
  value?: unknown;
  error?: { name: string; message: string; variable?: string };
}
interface Probe {
  settings: Outcome;
  keyId: Outcome;
  stderr: string;
}

/** Reads provider settings and the key ring in a fresh process whose environment is exactly `env`. */
const probeSource = [
  `import { keyRingFromEnv, providerSettingsFromEnv } from "${envModule}";`,
  `report({ settings: await attempt(providerSettingsFromEnv), keyId: await attempt(() => keyRingFromEnv().current.id) });`,
].join("\n");

describe("token environment, read in a fresh process", () => {
  let repo: ScratchRepository;
  const probe = async (env: Record<string, string>): Promise<Probe> => {
    const run = await repo.run(probeSource, env);
    expect(run.report, run.stderr).toBeDefined();
    return { ...(run.report as Omit<Probe, "stderr">), stderr: run.stderr };
  };
  const devKeyFile = () => join(repo.root, ".data", "dev-encryption-key");

  beforeEach(async () => {
    repo = await createScratchRepository();
  });
  afterEach(() => repo.remove());

  it("with NODE_ENV unset behaves as production: no simulator, no generated key", async () => {
    const result = await probe({});
    expect(result.settings.value).toMatchObject({ simulatorUrl: null, quickbooks: null, xero: null, appUrl: "http://localhost:3000" });
    expect(result.keyId.error).toMatchObject({ name: "KeyConfigError", variable: "TOKEN_ENCRYPTION_KEY" });
    expect(existsSync(devKeyFile())).toBe(false);
  });

  it("with any other NODE_ENV value behaves as production", async () => {
    const result = await probe({ NODE_ENV: "staging" });
    expect(result.settings.value).toMatchObject({ simulatorUrl: null });
    expect(result.keyId.error).toMatchObject({ variable: "TOKEN_ENCRYPTION_KEY" });
    expect(existsSync(devKeyFile())).toBe(false);
  });

  it.each(["development", "test"])("in %s on the embedded database offers the simulator and generates a key once", async (nodeEnv) => {
    const first = await probe({ NODE_ENV: nodeEnv });
    expect(first.settings.value).toMatchObject({ simulatorUrl: "http://127.0.0.1:4010" });
    expect(first.keyId.value).toEqual(expect.any(String));
    expect(first.stderr).toContain("TOKEN_ENCRYPTION_KEY is not set: generated a development key");
    expect(existsSync(devKeyFile())).toBe(true);
    // The next start reads the same key instead of generating another.
    const second = await probe({ NODE_ENV: nodeEnv });
    expect(second.keyId.value).toBe(first.keyId.value);
    expect(second.stderr).not.toContain("generated a development key");
  });

  it("in development on a PostgreSQL server generates no key", async () => {
    const result = await probe({ NODE_ENV: "development", DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/unused" });
    expect(result.settings.value).toMatchObject({ simulatorUrl: "http://127.0.0.1:4010" });
    expect(result.keyId.error).toMatchObject({ name: "KeyConfigError", variable: "TOKEN_ENCRYPTION_KEY" });
    expect(existsSync(devKeyFile())).toBe(false);
  });

  describe("ENCRYPTION_KEY", () => {
    it("is honoured as an alias of TOKEN_ENCRYPTION_KEY", async () => {
      const result = await probe({ ENCRYPTION_KEY: KEY_A });
      expect(result.keyId.value).toBe(keyId(KEY_A));
      expect(result.stderr).toBe("");
    });

    it("loses to TOKEN_ENCRYPTION_KEY, with a warning that names both variables and neither value", async () => {
      const result = await probe({ TOKEN_ENCRYPTION_KEY: KEY_B, ENCRYPTION_KEY: KEY_A });
      expect(result.keyId.value).toBe(keyId(KEY_B));
      expect(result.stderr).toContain("TOKEN_ENCRYPTION_KEY and ENCRYPTION_KEY are both set and differ");
      expect(result.stderr).not.toContain(KEY_A);
      expect(result.stderr).not.toContain(KEY_B);
    });

    it("set to the same key as TOKEN_ENCRYPTION_KEY needs no warning", async () => {
      const result = await probe({ TOKEN_ENCRYPTION_KEY: KEY_A, ENCRYPTION_KEY: KEY_A });
      expect(result.keyId.value).toBe(keyId(KEY_A));
      expect(result.stderr).toBe("");
    });

    it("when malformed is refused by its own name, without its value", async () => {
      const result = await probe({ ENCRYPTION_KEY: "not-a-key-zzz" });
      expect(result.keyId.error).toMatchObject({ name: "KeyConfigError", variable: "ENCRYPTION_KEY" });
      expect(result.keyId.error?.message).not.toContain("not-a-key-zzz");
    });
  });

  it("TOKEN_CACHE is on by default, off when set so, and refused by name otherwise", async () => {
    expect((await probe({})).settings.value).toMatchObject({ tokenCache: true });
    expect((await probe({ TOKEN_CACHE: "off" })).settings.value).toMatchObject({ tokenCache: false });
    expect((await probe({ TOKEN_CACHE: "maybe" })).settings.error).toMatchObject({ name: "KeyConfigError", variable: "TOKEN_CACHE" });
  });

  it("WEBHOOK_MAX_ENDPOINTS outside 1-100 is refused at start-up by its name", async () => {
    for (const bad of ["0", "101", "ten"]) expect((await probe({ WEBHOOK_MAX_ENDPOINTS: bad })).settings.error).toMatchObject({ name: "KeyConfigError", variable: "WEBHOOK_MAX_ENDPOINTS" });
    expect((await probe({ WEBHOOK_MAX_ENDPOINTS: "25" })).settings.error).toBeUndefined();
  });

  describe("QUICKBOOKS_REDIRECT_URI and XERO_REDIRECT_URI", () => {
    it("are accepted when they equal the URIs derived from APP_URL", async () => {
      const result = await probe({
        APP_URL: "https://vault.example.com/",
        QUICKBOOKS_REDIRECT_URI: "https://vault.example.com/api/oauth/quickbooks/callback",
        XERO_REDIRECT_URI: "https://vault.example.com/api/oauth/xero/callback",
      });
      expect(result.settings.value).toMatchObject({ appUrl: "https://vault.example.com" });
    });

    it("are compared with the default APP_URL when it is unset", async () => {
      const result = await probe({ PORT: "4000", QUICKBOOKS_REDIRECT_URI: "http://localhost:4000/api/oauth/quickbooks/callback" });
      expect(result.settings.value).toMatchObject({ appUrl: "http://localhost:4000" });
    });

    it.each([
      ["QUICKBOOKS_REDIRECT_URI", "quickbooks"],
      ["XERO_REDIRECT_URI", "xero"],
    ])("refuses %s when it differs, naming APP_URL and the URI Tokenvault uses", async (variable, provider) => {
      const result = await probe({ APP_URL: "https://vault.example.com", [variable]: "https://elsewhere.example.org/oauth/done" });
      expect(result.settings.error).toMatchObject({ name: "KeyConfigError", variable });
      const message = result.settings.error?.message ?? "";
      expect(message).toContain("APP_URL");
      expect(message).toContain(`https://vault.example.com/api/oauth/${provider}/callback`);
      expect(message).not.toContain("elsewhere.example.org");
    });
  });
});

describe("token environment in this process", () => {
  const saved = process.env.APP_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.APP_URL;
    else process.env.APP_URL = saved;
    resetTokenEnvCacheForTests();
  });

  it("is parsed once: a later change to process.env has no effect until the cache is reset", () => {
    process.env.APP_URL = "https://first.example.com";
    resetTokenEnvCacheForTests();
    expect(providerSettingsFromEnv().appUrl).toBe("https://first.example.com");
    process.env.APP_URL = "https://second.example.com";
    expect(providerSettingsFromEnv().appUrl).toBe("https://first.example.com");
    resetTokenEnvCacheForTests();
    expect(providerSettingsFromEnv().appUrl).toBe("https://second.example.com");
  });
});

describe("PROVIDER_CALL_LIMITS and PROVIDER_LIMITS", () => {
  const NAMES = ["PROVIDER_CALL_LIMITS", "PROVIDER_CALL_LIMITS_PREFIX", "PROVIDER_LIMITS", "REDIS_URL"] as const;
  const saved = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));
  const read = (env: Partial<Record<(typeof NAMES)[number], string>>) => {
    for (const name of NAMES) {
      if (env[name] === undefined) delete process.env[name];
      else process.env[name] = env[name];
    }
    resetTokenEnvCacheForTests();
    return providerCallLimitsFromEnv();
  };
  const refusal = (env: Parameters<typeof read>[0]) => {
    try {
      read(env);
    } catch (error) {
      return error as { name: string; message: string; variable?: string };
    }
    throw new Error("accepted");
  };
  afterEach(() => {
    for (const name of NAMES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    resetTokenEnvCacheForTests();
  });

  it("defaults to the database without REDIS_URL, and to Redis with it", () => {
    expect(read({})).toEqual({ backend: { kind: "database" }, overrides: {} });
    expect(read({ REDIS_URL: "redis://127.0.0.1:6379" })).toEqual({ backend: { kind: "redis", url: "redis://127.0.0.1:6379", prefix: "tokenvault" }, overrides: {} });
  });

  it("keeps the database when asked to, even with REDIS_URL set", () => {
    expect(read({ PROVIDER_CALL_LIMITS: "database", REDIS_URL: "redis://127.0.0.1:6379" }).backend).toEqual({ kind: "database" });
  });

  it("refuses redis without REDIS_URL, naming both variables", () => {
    const error = refusal({ PROVIDER_CALL_LIMITS: "redis" });
    expect(error).toMatchObject({ name: "KeyConfigError", variable: "REDIS_URL" });
    expect(error.message).toContain("PROVIDER_CALL_LIMITS=redis");
  });

  it("refuses a backend it does not know and a REDIS_URL that is not a Redis URL, without echoing it", () => {
    expect(refusal({ PROVIDER_CALL_LIMITS: "memory" }).message).toContain("PROVIDER_CALL_LIMITS");
    const error = refusal({ REDIS_URL: "http://user:s3cret-pass@127.0.0.1:6379" });
    expect(error.message).toContain("REDIS_URL");
    expect(error.message).not.toContain("s3cret-pass");
  });

  it("reads per-provider overrides", () => {
    const limits = read({ PROVIDER_LIMITS: JSON.stringify({ xero: { requestsPerMinute: 30, tenantConcurrency: 2 }, quickbooks: { requestsPerDay: 100, concurrency: 3 } }) });
    expect(limits.overrides).toEqual({ xero: { requestsPerMinute: 30, tenantConcurrency: 2 }, quickbooks: { requestsPerDay: 100, concurrency: 3 } });
  });

  it.each([
    [{ xero: { requestsPerMinute: 0 } }, "xero.requestsPerMinute"],
    [{ xero: { tenantConcurrency: -2 } }, "xero.tenantConcurrency"],
    [{ xero: { requestsPerDay: 1.5 } }, "xero.requestsPerDay"],
    [{ xero: { requestsPerHour: 10 } }, "requestsPerHour"],
    [{ xero: 5 }, "xero"],
  ])("refuses %j naming %s", (overrides, field) => {
    const error = refusal({ PROVIDER_LIMITS: JSON.stringify(overrides) });
    expect(error).toMatchObject({ name: "KeyConfigError", variable: "PROVIDER_LIMITS" });
    expect(error.message).toContain(field);
  });

  it("refuses JSON that does not parse without repeating it", () => {
    const error = refusal({ PROVIDER_LIMITS: "{xero: secret-looking-value" });
    expect(error).toMatchObject({ variable: "PROVIDER_LIMITS" });
    expect(error.message).toContain("not valid JSON");
    expect(error.message).not.toContain("secret-looking-value");
  });
});
