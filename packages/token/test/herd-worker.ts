// One OS process of the herd test and benchmark: its own TokenService, Prisma client and
// connection pool. On each "go <cycle>" line from the parent it runs CALLERS concurrent
// getValidToken calls and answers with one JSON line.
import { createInterface } from "node:readline";
import pg from "pg";
import { openDatabase } from "@tokenvault/db";
import { Registry } from "prom-client";
import { silentLogger } from "../src/logger";
import { TokenMetrics } from "../src/metrics/token-metrics";
import { TokenService } from "../src/token-service";
import { CONNECTION_CHANNEL } from "../src/refresh/connection-events";
import { keyRingFromSettings, Vault } from "@tokenvault/vault";
import { ProviderRegistry } from "../src/providers/registry";
import { registryFor, simulatorOidcAdapter, TEST_OPTIONS } from "./harness";

const env = process.env;
const [databaseUrl, simulatorUrl, keyHex, companyId, provider] = [env.HERD_DATABASE_URL, env.HERD_SIMULATOR_URL, env.HERD_KEY, env.HERD_COMPANY, env.HERD_PROVIDER];
if (!databaseUrl || !simulatorUrl || !keyHex || !companyId || !provider) throw new Error("herd worker: missing HERD_* settings");
const callers = Number(env.HERD_CALLERS ?? 50);
// HERD_CONNECTIONS: the connection ids the callers name, in turn (the callers then read by id,
// several connections of one grant included); unset: by company and provider, the seed signature.
const connectionIds = env.HERD_CONNECTIONS ? env.HERD_CONNECTIONS.split(",") : [];
const read = (i: number, userId: string, options: { forceRefresh?: boolean } = {}) =>
  connectionIds.length > 0 ? service.getValidToken({ connectionId: connectionIds[i % connectionIds.length]! }, { ...options, userId }) : service.getValidToken(companyId, provider, userId, options);

const warnings: string[] = [];
const metrics = new TokenMetrics(new Registry());
const db = await openDatabase({ databaseUrl });
// The simulator's QuickBooks and Xero, or its strict-rotation OpenID Connect provider (found by discovery).
const registry = provider === "acme-idp" ? new ProviderRegistry([await simulatorOidcAdapter(simulatorUrl)]) : registryFor(simulatorUrl);
const vault = new Vault(keyRingFromSettings({ current: keyHex, previous: undefined }));
const service = new TokenService({
  prisma: db.prisma,
  vault: vault,
  providers: registry,
  // Warnings (a retried provider call, a fenced write) are reported with each cycle: a herd that
  // fails says why.
  logger: { ...silentLogger, warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields ?? {})}`) },
  listenDatabaseUrl: databaseUrl,
  metrics,
  // The production provider timeout, not the tests' quick one: on a loaded machine a 2 s timeout
  // fires while the simulator has already answered, and the retry is a second provider call.
  options: {
    ...TEST_OPTIONS,
    providerTimeoutMs: 5_000,
    ...(env.HERD_LEASE_MS ? { leaseMs: Number(env.HERD_LEASE_MS) } : {}),
    ...(env.HERD_TOKEN_CACHE ? { tokenCache: env.HERD_TOKEN_CACHE === "on" } : {}),
  },
});
// Answers once the write has committed, with the wall clock then (shared by every process).
const committed = (extra: Record<string, unknown> = {}) => process.stdout.write(JSON.stringify({ committedAt: Date.now(), ...extra }) + "\n");

// HERD_TRACE=1 (the token bench's --herd-trace): each cycle's report carries when things happened
// here on the wall clock the processes share, the grant's NOTIFY heard on a LISTEN connection of
// the worker's own (bench/herd-trace.ts).
const wallNow = () => performance.timeOrigin + performance.now();
let notifyAt: number | null = null;
const tracer = env.HERD_TRACE === "1" ? new pg.Client({ connectionString: databaseUrl }) : null;
if (tracer) {
  await tracer.connect();
  // A grant's new version ('<id>:<version>'): the refresh's write, not a lease given back.
  tracer.on("notification", (message) => void (/:\d+$/.test(message.payload ?? "") && (notifyAt ??= wallNow())));
  await tracer.query(`LISTEN ${CONNECTION_CHANNEL}`);
}
const refreshesHere = async () => (await metrics.refreshes.get()).values.reduce((sum, v) => sum + v.value, 0);

const lines = createInterface({ input: process.stdin });
process.stdout.write(JSON.stringify({ ready: process.pid }) + "\n");
for await (const line of lines) {
  const [command, arg] = line.split(" ");
  if (command === "quit") break;
  if (command === "go") {
    const goAt = wallNow();
    notifyAt = null;
    const refreshedBefore = tracer ? await refreshesHere() : 0;
    const started = performance.now();
    const settled = await Promise.allSettled(
      Array.from({ length: callers }, async (_, i) => {
        const token = await read(i, `herd-${process.pid}`);
        return { token: token.accessToken, at: performance.now() - started };
      }),
    );
    const trace = tracer && {
      goAt,
      notifyAt,
      firstAt: goAt + Math.min(...settled.map((s) => (s.status === "fulfilled" ? s.value.at : Infinity))),
      lastAt: goAt + Math.max(...settled.map((s) => (s.status === "fulfilled" ? s.value.at : 0))),
      refreshed: (await refreshesHere()) > refreshedBefore,
    };
    const ok = settled.filter((s) => s.status === "fulfilled").map((s) => s.value);
    const errors = settled.filter((s) => s.status === "rejected").map((s) => String((s.reason as Error).message));
    process.stdout.write(
      JSON.stringify({ cycle: Number(arg), tokens: [...new Set(ok.map((o) => o.token))], count: ok.length, errors, warnings: warnings.splice(0), lastMs: Math.max(0, ...ok.map((o) => o.at)), ...(trace && { trace: { ...trace, replyAt: wallNow() } }) }) + "\n",
    );
  }
  // The token cache test: writes made by this process, seen by another one's cache.
  if (command === "invalid") {
    await service.markTokenInvalid(arg!, "reported compromised (test)");
    committed();
  }
  if (command === "disconnect") {
    await (connectionIds.length > 0 ? service.disconnect({ connectionId: connectionIds[0]! }, { userId: "herd" }) : service.disconnect(companyId, provider, { userId: "herd" }));
    committed();
  }
  if (command === "refresh") {
    const token = await read(0, "herd", { forceRefresh: true });
    committed({ token: token.accessToken });
  }
  if (command === "warm") {
    // Benchmark of the warm path: N reads, the event loop turning between them as in a server
    // between requests (the token cache serves only while the loop reads its sockets).
    const n = Number(arg);
    const latencies: number[] = [];
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      const t = performance.now();
      await service.getValidToken(companyId, provider, "bench");
      latencies.push(performance.now() - t);
    }
    const misses: Record<string, number> = {};
    for (const v of (await metrics.tokenCacheMisses.get()).values) misses[String(v.labels.reason)] = v.value;
    metrics.tokenCacheMisses.reset();
    process.stdout.write(JSON.stringify({ latencies, totalMs: performance.now() - started, caching: service.cachingTokens, misses }) + "\n");
  }
  if (command === "read") {
    // Benchmark: N sequential reads of a valid token, reporting each latency.
    const n = Number(arg);
    const latencies: number[] = [];
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await service.getValidToken(companyId, provider, "bench");
      latencies.push(performance.now() - t);
    }
    process.stdout.write(JSON.stringify({ latencies, totalMs: performance.now() - started }) + "\n");
  }
}
await tracer?.end();
await service.close();
await db.close();
