import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createScratchRepository, type ScratchRepository } from "@tokenvault/db/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resetWebEnvCacheForTests, webEnv } from "./env";

const envModule = new URL("./env.ts", import.meta.url).href;
const SECRET = "s".repeat(40);

interface Outcome {
  value?: { development: boolean; sessionSecret: string; demoUsers: boolean; cookieSecure: boolean; trustedProxies: unknown; maxRequestBodyBytes: number; healthToken: string | null; requestLimits: unknown };
  error?: { message: string };
}

describe("web environment, read in a fresh process", () => {
  let repo: ScratchRepository;
  const probe = async (env: Record<string, string>): Promise<Outcome> => {
    const run = await repo.run(`import { webEnv } from "${envModule}";\nreport(await attempt(webEnv));`, env);
    expect(run.report, run.stderr).toBeDefined();
    return run.report as Outcome;
  };
  const devSecretFile = () => join(repo.root, ".data", "dev-session-secret");

  beforeEach(async () => {
    repo = await createScratchRepository();
  });
  afterEach(() => repo.remove());

  it("with NODE_ENV unset requires SESSION_SECRET instead of generating one", async () => {
    const result = await probe({});
    expect(result.error?.message).toContain("SESSION_SECRET is not set");
    expect(existsSync(devSecretFile())).toBe(false);
  });

  it("with NODE_ENV unset turns demo users off and cookies secure", async () => {
    const result = await probe({ SESSION_SECRET: SECRET });
    expect(result.value).toEqual({ development: false, sessionSecret: SECRET, demoUsers: false, cookieSecure: true, publicOrigin: null, trustedProxies: { kind: "none" }, maxRequestBodyBytes: 65536, healthToken: null, metricsToken: null, requestLimits: { checksPerMinute: 30, connectsPerMinute: 10, webhookChangesPerMinute: 20, apiKeyChangesPerMinute: 20, apiCallsPerMinute: 600 }, sessionCacheMs: 30_000 });
  });

  it("in test on the embedded database generates the session secret into .data/ and turns demo users on", async () => {
    const result = await probe({ NODE_ENV: "test" });
    expect(result.value).toMatchObject({ development: true, demoUsers: true, cookieSecure: false });
    expect(readFileSync(devSecretFile(), "utf8").trim()).toBe(result.value?.sessionSecret);
  });

  it("in development on a PostgreSQL server requires SESSION_SECRET", async () => {
    const result = await probe({ NODE_ENV: "development", DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/unused" });
    expect(result.error?.message).toContain("SESSION_SECRET is not set");
    expect(existsSync(devSecretFile())).toBe(false);
  });
});

describe("web environment in this process", () => {
  const saved = { SESSION_SECRET: process.env.SESSION_SECRET, TOKENVAULT_DEMO_USERS: process.env.TOKENVAULT_DEMO_USERS, TRUSTED_PROXIES: process.env.TRUSTED_PROXIES, MAX_REQUEST_BODY_BYTES: process.env.MAX_REQUEST_BODY_BYTES, HEALTH_TOKEN: process.env.HEALTH_TOKEN, METRICS_TOKEN: process.env.METRICS_TOKEN, RATE_LIMIT_CHECKS_PER_MINUTE: process.env.RATE_LIMIT_CHECKS_PER_MINUTE, RATE_LIMIT_CONNECTS_PER_MINUTE: process.env.RATE_LIMIT_CONNECTS_PER_MINUTE, SESSION_CACHE_SECONDS: process.env.SESSION_CACHE_SECONDS };
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    resetWebEnvCacheForTests();
  });

  it("is parsed once: a later change to process.env has no effect until the cache is reset", () => {
    // A secret of its own, so this process never writes .data/ in the real repository.
    process.env.SESSION_SECRET = SECRET;
    process.env.TOKENVAULT_DEMO_USERS = "0";
    resetWebEnvCacheForTests();
    expect(webEnv().demoUsers).toBe(false);
    process.env.TOKENVAULT_DEMO_USERS = "1";
    expect(webEnv().demoUsers).toBe(false);
    resetWebEnvCacheForTests();
    expect(webEnv().demoUsers).toBe(true);
  });

  it("reads TRUSTED_PROXIES as a hop count or addresses, and names it when it is neither", () => {
    process.env.SESSION_SECRET = SECRET;
    process.env.TRUSTED_PROXIES = "2";
    resetWebEnvCacheForTests();
    expect(webEnv().trustedProxies).toEqual({ kind: "hops", hops: 2 });
    process.env.TRUSTED_PROXIES = "10.0.0.0/8, 2001:db8::/32";
    resetWebEnvCacheForTests();
    expect(webEnv().trustedProxies.kind).toBe("addresses");
    process.env.TRUSTED_PROXIES = "the load balancer";
    resetWebEnvCacheForTests();
    expect(() => webEnv()).toThrow(/^TRUSTED_PROXIES: entry 1 is not/);
  });

  it("reads APP_URL's origin as the app's public origin, and names it when it is not an http(s) URL", () => {
    process.env.SESSION_SECRET = SECRET;
    const saved = process.env.APP_URL;
    try {
      process.env.APP_URL = "https://vault.example.com/base/";
      resetWebEnvCacheForTests();
      expect(webEnv().publicOrigin).toBe("https://vault.example.com");
      process.env.APP_URL = "vault.example.com";
      resetWebEnvCacheForTests();
      expect(() => webEnv()).toThrow(/APP_URL/);
    } finally {
      if (saved === undefined) delete process.env.APP_URL;
      else process.env.APP_URL = saved;
      resetWebEnvCacheForTests();
    }
  });

  it("reads MAX_REQUEST_BODY_BYTES, 64 KB when unset, and names it when it is not 1 KB-100 MB", () => {
    process.env.SESSION_SECRET = SECRET;
    delete process.env.MAX_REQUEST_BODY_BYTES;
    resetWebEnvCacheForTests();
    expect(webEnv().maxRequestBodyBytes).toBe(65536);
    process.env.MAX_REQUEST_BODY_BYTES = "1048576";
    resetWebEnvCacheForTests();
    expect(webEnv().maxRequestBodyBytes).toBe(1048576);
    for (const bad of ["100", "64kb", "999999999999"]) {
      process.env.MAX_REQUEST_BODY_BYTES = bad;
      resetWebEnvCacheForTests();
      expect(() => webEnv()).toThrow(/MAX_REQUEST_BODY_BYTES/);
    }
  });

  // REDIS_URL is the token store's setting (packages/store env.ts and its tests), not read here.
  it("takes the per-user limits, and names a bad one", () => {
    process.env.SESSION_SECRET = SECRET;
    process.env.RATE_LIMIT_CHECKS_PER_MINUTE = "5";
    process.env.RATE_LIMIT_CONNECTS_PER_MINUTE = "2";
    resetWebEnvCacheForTests();
    expect(webEnv().requestLimits).toEqual({ checksPerMinute: 5, connectsPerMinute: 2, webhookChangesPerMinute: 20, apiKeyChangesPerMinute: 20, apiCallsPerMinute: 600 });
    for (const [name, bad, good] of [["RATE_LIMIT_CHECKS_PER_MINUTE", "0", "5"], ["RATE_LIMIT_CONNECTS_PER_MINUTE", "ten", "2"]] as const) {
      process.env[name] = bad;
      resetWebEnvCacheForTests();
      expect(() => webEnv()).toThrow(new RegExp(name));
      process.env[name] = good;
    }
  });

  it("takes a HEALTH_TOKEN of 24 characters or more, and names it when it is shorter", () => {
    process.env.SESSION_SECRET = SECRET;
    process.env.HEALTH_TOKEN = "t".repeat(24);
    resetWebEnvCacheForTests();
    expect(webEnv().healthToken).toBe("t".repeat(24));
    process.env.HEALTH_TOKEN = "short";
    resetWebEnvCacheForTests();
    expect(() => webEnv()).toThrow(/HEALTH_TOKEN: must be at least 24 characters/);
  });

  it("takes a METRICS_TOKEN of 24 characters or more (none: null), and names it when it is shorter", () => {
    process.env.SESSION_SECRET = SECRET;
    delete process.env.METRICS_TOKEN;
    resetWebEnvCacheForTests();
    expect(webEnv().metricsToken).toBeNull();
    process.env.METRICS_TOKEN = "m".repeat(24);
    resetWebEnvCacheForTests();
    expect(webEnv().metricsToken).toBe("m".repeat(24));
    process.env.METRICS_TOKEN = "short";
    resetWebEnvCacheForTests();
    expect(() => webEnv()).toThrow(/METRICS_TOKEN: must be at least 24 characters/);
  });

  it("reads SESSION_CACHE_SECONDS, 30 s when unset, and names it when it is not 0-3600", () => {
    process.env.SESSION_SECRET = SECRET;
    delete process.env.SESSION_CACHE_SECONDS;
    resetWebEnvCacheForTests();
    expect(webEnv().sessionCacheMs).toBe(30_000);
    process.env.SESSION_CACHE_SECONDS = "5";
    resetWebEnvCacheForTests();
    expect(webEnv().sessionCacheMs).toBe(5_000);
    process.env.SESSION_CACHE_SECONDS = "3601";
    resetWebEnvCacheForTests();
    expect(() => webEnv()).toThrow(/SESSION_CACHE_SECONDS/);
  });
});
