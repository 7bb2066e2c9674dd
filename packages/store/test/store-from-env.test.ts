import { randomBytes } from "node:crypto";
import { startSimulator, type Simulator } from "@tokenvault/simulator";
import { createScratchRepository, type ScratchRepository } from "@tokenvault/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REDIS_URL, RedisTestKeys } from "./redis-keys";

const indexModule = new URL("../src/index.ts", import.meta.url).href;
const KEY = randomBytes(32).toString("hex");

/** In a fresh process with exactly `env`: the default store stores a token and reads it back. */
const roundTrip = [
  `import { getTokenStore } from "${indexModule}";`,
  `const store = getTokenStore();`,
  `report(await attempt(async () => {`,
  `  await store.store("env-token", { id: "env-id", subject: "env-subject", expiresAt: new Date(Date.now() + 60_000) });`,
  `  const found = await store.get("env-token");`,
  `  await store.close();`,
  `  return found?.subject ?? null;`,
  `}));`,
].join("\n");

describe("the default token store, chosen by TOKEN_STORE", () => {
  let repo: ScratchRepository;
  let sim: Simulator;
  const keys = new RedisTestKeys();
  const upstashToken = `env-test-${randomBytes(8).toString("hex")}`;
  beforeAll(async () => {
    repo = await createScratchRepository();
    sim = await startSimulator({ upstash: { redisUrl: REDIS_URL, token: upstashToken } });
    await keys.connect();
  });
  afterAll(async () => {
    await keys.close();
    await sim.close();
    await repo.remove();
  });

  const run = async (env: Record<string, string>) => (await repo.run(roundTrip, env)).report as { value?: unknown; error?: { name: string; message: string; variable?: string } };

  it("unset: the app's own database (PostgreSQL here)", async () => {
    expect(await run({ TOKEN_ENCRYPTION_KEY: KEY, DATABASE_URL: inject("databaseUrl") })).toEqual({ value: "env-subject" });
  });

  it("redis and upstash, each with its settings", async () => {
    expect(await run({ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "redis", REDIS_URL })).toEqual({ value: "env-subject" });
    const upstash = { TOKEN_STORE: "upstash", UPSTASH_REDIS_REST_URL: sim.upstash!.url, UPSTASH_REDIS_REST_TOKEN: upstashToken };
    expect(await run({ TOKEN_ENCRYPTION_KEY: KEY, ...upstash })).toEqual({ value: "env-subject" });
    // The token-store design's key variable is honoured as an alias of the vault key.
    expect(await run({ TOKEN_STORE_ENCRYPTION_KEY: KEY, TOKEN_STORE: "memory" })).toEqual({ value: "env-subject" });
  });

  it("refuses a backend without its settings, or without a key, naming the variable and never a value", async () => {
    const secret = `postgres://user:${randomBytes(6).toString("hex")}@nowhere/db`;
    const cases: [Record<string, string>, string][] = [
      [{ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "redis" }, "REDIS_URL"],
      [{ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "upstash", UPSTASH_REDIS_REST_URL: "https://example.invalid" }, "UPSTASH_REDIS_REST_TOKEN"],
      [{ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: secret }, "TOKEN_STORE"],
      [{ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "redis", REDIS_URL: secret }, "REDIS_URL"],
      [{ TOKEN_STORE: "memory" }, "TOKEN_ENCRYPTION_KEY"],
    ];
    for (const [env, variable] of cases) {
      const outcome = await run(env);
      expect(outcome.error, JSON.stringify(env)).toMatchObject({ name: "KeyConfigError", variable });
      expect(outcome.error?.message).not.toContain(secret);
    }
  });
});
