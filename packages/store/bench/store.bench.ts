// `pnpm bench` (store): each backend's get / store / list beside the bare client round trip of
// the same kind of command, and the in-memory get. Samples are taken in pairs, back to back in
// alternating order; a ratio is the median of the pairs' ratios (drifting load hits both sides).
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createClient } from "redis";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { redisUrlForTests } from "../src/env";
import { Redis } from "@upstash/redis";
import { openDatabase } from "@tokenvault/db";
import { createTestDatabase } from "@tokenvault/db/testing";
import { startSimulator } from "@tokenvault/simulator";
import { createPostgresTokenStore, createRedisTokenStore, createUpstashTokenStore, InMemoryTokenStore, type TokenStore } from "../src/index";

const REDIS_URL = redisUrlForTests();
const vault = new Vault(createKeyRing(randomBytes(32)));
const HOUR = 3600_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timed(fn: () => Promise<unknown>, batch: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < batch; i++) await fn();
  return ((performance.now() - start) * 1000) / batch;
}

/** Median µs of `ours` and of `bare`, and the median of paired ratios (the order alternates each round). */
async function paired(ours: () => Promise<unknown>, bare: () => Promise<unknown>, rounds = 30, batch = 100) {
  for (let i = 0; i < 200; i++) await Promise.all([ours(), bare()]);
  const a: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let x: number, y: number;
    if (round % 2 === 0) {
      x = await timed(ours, batch);
      y = await timed(bare, batch);
    } else {
      y = await timed(bare, batch);
      x = await timed(ours, batch);
    }
    a.push(x);
    b.push(y);
    ratios.push(x / y);
  }
  return { ours: median(a), bare: median(b), ratio: median(ratios) };
}

const fmt = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
const line = (label: string, r: { ours: number; bare: number; ratio: number }, goal: number) =>
  console.log(`  ${label.padEnd(34)} ${fmt(r.ours).padStart(9)}  bare ${fmt(r.bare).padStart(9)}  ${r.ratio.toFixed(2)}x  goal <= ${goal}x  ${r.ratio <= goal ? "met" : "MISSED"}`);

/** The noise of this run: a bare call paired with itself (1.00x on a quiet machine; a shared one moves it). */
const control = (label: string, r: { ratio: number }) => console.log(`  ${label.padEnd(34)} ${r.ratio.toFixed(2)}x  (control: the same call on both sides)`);

async function seed(store: TokenStore, subject: string): Promise<string> {
  const token = `bench-${randomBytes(16).toString("hex")}`;
  await store.store(token, { id: `id-${token}`, subject, expiresAt: new Date(Date.now() + HOUR), scopes: ["read"] });
  return token;
}

async function main(): Promise<void> {
  console.log("Token stores (median per call; ratio = median of paired rounds)");

  // Memory: no I/O, so the figure is the codec's cost (HMAC of the token + opening the envelope).
  const memory = new InMemoryTokenStore({ vault, sweepIntervalMs: 0 });
  const memoryToken = await seed(memory, "bench-memory");
  for (let i = 0; i < 5000; i++) await memory.get(memoryToken);
  const memorySamples: number[] = [];
  for (let round = 0; round < 30; round++) memorySamples.push(await timed(() => memory.get(memoryToken), 2000));
  const memoryGet = median(memorySamples);
  console.log(`  memory get                         ${fmt(memoryGet).padStart(9)}  goal <= 2 µs  ${memoryGet <= 2 ? "met" : "MISSED"}`);

  const client = createClient({ url: REDIS_URL });
  await client.connect();
  const prefix = `bench:${randomBytes(6).toString("hex")}`;
  try {
    const redis = createRedisTokenStore(client, { vault, prefix });
    const token = await seed(redis, "bench-subject");
    for (let i = 0; i < 4; i++) await seed(redis, "bench-subject");
    const bareKey = `${prefix}:bare`;
    await client.set(bareKey, "x".repeat(300));
    await client.zAdd(`${bareKey}:z`, Array.from({ length: 5 }, (_, i) => ({ score: Date.now() + HOUR + i, value: `m${i}` })));
    control("Redis GET / GET", await paired(() => client.get(bareKey), () => client.get(bareKey)));
    line("Redis get / GET", await paired(() => redis.get(token), () => client.get(bareKey)), 1.3);
    line("Redis store / SET", await paired(() => seed(redis, "bench-writes"), () => client.set(`${bareKey}:w`, "x".repeat(300))), 1.3);
    line("Redis list (5 tokens) / ZRANGEBYSCORE", await paired(() => redis.list("bench-subject"), () => client.zRangeByScore(`${bareKey}:z`, Date.now(), "+inf")), 1.3);

    // Upstash: the real @upstash/redis client over HTTP to the simulator's endpoint (Redis behind it).
    const sim = await startSimulator({ upstash: { redisUrl: REDIS_URL, token: "bench-token" } });
    try {
      const rest = new Redis({ url: sim.upstash!.url, token: sim.upstash!.token });
      const upstash = createUpstashTokenStore(rest, { vault, prefix });
      const upstashToken = await seed(upstash, "bench-upstash");
      line("Upstash get / GET", await paired(() => upstash.get(upstashToken), () => rest.get(bareKey), 20, 50), 1.3);
    } finally {
      await sim.close();
    }
  } finally {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) if (keys.length > 0) await client.del(keys);
    await client.close();
  }

  // PostgreSQL: the store's read beside the same indexed read through the bare Prisma client.
  const database = await createTestDatabase("store-bench");
  const db = await openDatabase({ databaseUrl: database.url });
  try {
    const postgres = createPostgresTokenStore(db.prisma, { vault, namespace: "bench" });
    const token = await seed(postgres, "bench-pg");
    for (let i = 0; i < 4; i++) await seed(postgres, "bench-pg");
    const row = await db.prisma.tokenStoreEntry.findFirstOrThrow({ where: { namespace: "bench" } });
    const bareGet = () => db.prisma.$queryRaw`SELECT "sealed", "expiresAt" FROM "TokenStoreEntry" WHERE "namespace" = ${"bench"} AND "tokenKey" = ${row.tokenKey}`;
    control("PostgreSQL SELECT / SELECT", await paired(bareGet, bareGet));
    line("PostgreSQL get / SELECT by key", await paired(() => postgres.get(token), bareGet), 1.3);
    line("PostgreSQL list (5) / SELECT by subject", await paired(() => postgres.list("bench-pg"), () => db.prisma.$queryRaw`SELECT "sealed" FROM "TokenStoreEntry" WHERE "namespace" = ${"bench"} AND "subjectKey" = ${row.subjectKey} AND "expiresAt" > now()`), 1.3);
  } finally {
    await db.close();
    await database.drop();
  }
}

await main();
