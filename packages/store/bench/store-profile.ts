// `pnpm bench:profile` (store): where a store call's time goes, step by step, as CPU time rather than
// wall time (a shared machine's load moves wall time far more than it moves these): the codec's
// steps in this process, and per Redis operation this process's CPU and the server's (INFO
// commandstats: `usec` of the script, and which commands it ran per call).
import { hash, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createClient } from "redis";
import { blindIndexes, createKeyRing, Vault } from "@tokenvault/vault";
import { StoreCodec } from "../src/codec";
import { redisUrlForTests } from "../src/env";
import { createRedisTokenStore, InMemoryTokenStore } from "../src/index";

const vault = new Vault(createKeyRing(randomBytes(32)));
const HOUR = 3600_000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const meta = (subject: string) => ({ id: `id-${randomBytes(6).toString("hex")}`, subject, expiresAt: new Date(Date.now() + HOUR), scopes: ["read"] });

/** Median µs per synchronous call over 9 rounds. */
function step(label: string, fn: () => unknown, calls = 20_000): void {
  for (let i = 0; i < calls; i++) fn();
  const rounds: number[] = [];
  for (let round = 0; round < 9; round++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) fn();
    rounds.push(((performance.now() - start) * 1000) / calls);
  }
  console.log(`  ${label.padEnd(44)} ${median(rounds).toFixed(2).padStart(7)} µs`);
}

async function main(): Promise<void> {
  console.log("Codec steps (median µs per call, this process)");
  const codec = new StoreCodec(vault, "profile");
  const token = `profile-${randomBytes(16).toString("hex")}`;
  const entry = codec.encode(token, meta("profile"), new Date());
  const binding = { companyId: "token-store", provider: "profile", kind: "TOKEN_METADATA", externalId: entry.tokenKey };
  step("blind index (HMAC-SHA-256), uncached", () => blindIndexes(vault.keyRing, "profile/token", token));
  step("SHA-256 of the token (the cache's key)", () => hash("sha256", token, "base64url"));
  step("blind index through the codec (cached)", () => codec.tokenKeys("get", token));
  step("open the envelope + JSON.parse, uncached", () => JSON.parse(vault.open(entry.sealed, binding)));
  step("decode through the codec (cached)", () => codec.decode("get", entry.tokenKey, entry.sealed));
  step("encode (validate + seal) a new token", () => codec.encode(`profile-${randomBytes(16).toString("hex")}`, meta("profile"), new Date()), 5_000);
  const memory = new InMemoryTokenStore({ vault, sweepIntervalMs: 0 });
  await memory.store(token, meta("profile"));
  let pending: Promise<unknown> = Promise.resolve();
  step("memory get (promise created, not awaited)", () => (pending = memory.get(token)));
  await pending;

  const client = createClient({ url: redisUrlForTests() });
  const admin = createClient({ url: redisUrlForTests() });
  await Promise.all([client.connect(), admin.connect()]);
  const prefix = `profile:${randomBytes(6).toString("hex")}`;
  try {
    const redis = createRedisTokenStore(client, { vault, prefix, namespace: "profile" });
    await redis.store(token, meta("profile-subject"));
    for (let i = 0; i < 4; i++) await redis.store(`${token}-${i}`, meta("profile-subject"));
    await client.set(`${prefix}:bare`, "x".repeat(300));
    const stats = async () => {
      const found = new Map<string, { calls: number; usec: number }>();
      for (const line of (await admin.info("commandstats")).split("\n")) {
        const match = /^cmdstat_(\w+):calls=(\d+),usec=(\d+)/.exec(line);
        if (match) found.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
      }
      return found;
    };
    console.log("Redis, per call: this process's CPU, the server's CPU (the script's or the command's), commands run");
    const measure = async (label: string, fn: () => Promise<unknown>, calls = 3_000) => {
      for (let i = 0; i < 300; i++) await fn();
      const before = await stats();
      const cpu = process.cpuUsage();
      for (let i = 0; i < calls; i++) await fn();
      const used = process.cpuUsage(cpu);
      const after = await stats();
      const ran: string[] = [];
      const usec = new Map<string, number>();
      for (const [name, now] of after) {
        const ranNow = now.calls - (before.get(name)?.calls ?? 0);
        if (ranNow < calls) continue;
        ran.push(`${name} x${(ranNow / calls).toFixed(0)}`);
        usec.set(name, (now.usec - (before.get(name)?.usec ?? 0)) / calls);
      }
      // A script's usec includes the commands it runs: count the script alone when there is one.
      const server = usec.get("evalsha") ?? [...usec.values()].reduce((a, b) => a + b, 0);
      console.log(`  ${label.padEnd(20)} client ${((used.user + used.system) / calls).toFixed(1).padStart(6)} µs  server ${server.toFixed(1).padStart(5)} µs  ${ran.join(", ")}`);
    };
    await measure("bare GET", () => client.get(`${prefix}:bare`));
    await measure("bare SET", () => client.set(`${prefix}:bare:w`, "x".repeat(300)));
    await measure("store get", () => redis.get(token));
    await measure("store store", () => redis.store(`profile-${randomBytes(16).toString("hex")}`, meta("profile-writes")));
    await measure("store list (5)", () => redis.list("profile-subject"));
  } finally {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) if (keys.length > 0) await client.del(keys);
    await Promise.all([client.close(), admin.close()]);
  }
}

await main();
