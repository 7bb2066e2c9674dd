import { randomBytes } from "node:crypto";
import { oidcEndpoints, startSimulator, type Simulator } from "@tokenvault/simulator";
import { createScratchRepository, type ScratchRepository } from "@tokenvault/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { clusterUnavailable, RedisCluster } from "./redis-cluster";
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

/** In a fresh process with exactly `env`: getServiceToken twice (the second from the cache). */
const serviceTokenTwice = [
  `import { getServiceToken } from "${indexModule}";`,
  `report(await attempt(async () => { const first = await getServiceToken(); const again = await getServiceToken(); return { same: first === again, length: first.length }; }));`,
  `process.exit(0);`,
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

  it.skipIf(clusterUnavailable)("redis with REDIS_CLUSTER_NODES: a Redis Cluster (3 masters started here)", async () => {
    const cluster = await RedisCluster.start(3);
    try {
      expect(await run({ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "redis", REDIS_CLUSTER_NODES: cluster.urls.slice(0, 2).join(",") })).toEqual({ value: "env-subject" });
      expect(await cluster.dump("{tokenvault:store}:t:*")).toMatch(/^redis:\S+ \{tokenvault:store\}:t:/);
    } finally {
      await cluster.stop();
    }
  }, 60_000);

  it("refuses a backend without its settings, or without a key, naming the variable and never a value", async () => {
    const secret = `postgres://user:${randomBytes(6).toString("hex")}@nowhere/db`;
    const cases: [Record<string, string>, string][] = [
      [{ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "redis" }, "REDIS_URL"],
      [{ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "upstash", UPSTASH_REDIS_REST_URL: "https://example.invalid" }, "UPSTASH_REDIS_REST_TOKEN"],
      [{ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: secret }, "TOKEN_STORE"],
      [{ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "redis", REDIS_URL: secret }, "REDIS_URL"],
      [{ TOKEN_STORE: "memory" }, "TOKEN_ENCRYPTION_KEY"],
      [{ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "redis", REDIS_CLUSTER_NODES: `${REDIS_URL},${secret}` }, "REDIS_CLUSTER_NODES"],
      [{ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "redis", REDIS_URL, REDIS_CLUSTER_NODES: REDIS_URL }, "REDIS_CLUSTER_NODES"],
    ];
    for (const [env, variable] of cases) {
      const outcome = await run(env);
      expect(outcome.error, JSON.stringify(env)).toMatchObject({ name: "KeyConfigError", variable });
      expect(outcome.error?.message).not.toContain(secret);
    }
  });

  it("getServiceToken() mints through the store TOKEN_STORE names, once, or uses TOKENVAULT_SERVICE_TOKEN", async () => {
    const client = await sim.registerClient({ provider: "oidc", accessTokenTtlSec: 600 });
    const mints = async () => (await sim.stats()).clients[`oidc/${client.clientId}`]?.clientCredentialsIssued ?? 0;
    const minter = { TOKENVAULT_SERVICE_TOKEN_ENDPOINT: oidcEndpoints(sim.url).tokenEndpoint, TOKENVAULT_SERVICE_CLIENT_ID: client.clientId, TOKENVAULT_SERVICE_CLIENT_SECRET: client.clientSecret! };
    const onRedis = (await repo.run(serviceTokenTwice, { TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "redis", REDIS_URL, ...minter })).report;
    expect(onRedis).toMatchObject({ value: { same: true } });
    expect(await mints()).toBe(1);
    const onPostgres = (await repo.run(serviceTokenTwice, { TOKEN_ENCRYPTION_KEY: KEY, DATABASE_URL: inject("databaseUrl"), ...minter })).report;
    expect(onPostgres).toMatchObject({ value: { same: true } });
    expect(await mints()).toBe(2);
    const provisioned = `provisioned-${randomBytes(12).toString("hex")}`;
    const overridden = await repo.run(serviceTokenTwice, { TOKEN_ENCRYPTION_KEY: KEY, TOKEN_STORE: "memory", TOKENVAULT_SERVICE_TOKEN: provisioned, ...minter });
    expect(overridden.report).toEqual({ value: { same: true, length: provisioned.length } });
    expect(overridden.stdout + overridden.stderr).not.toContain(provisioned);
    expect(await mints()).toBe(2);
  });
});
