// `pnpm bench` (worker): refresh-ahead over many connections (default 10,000; `--connections N`).
// Each connection is made through the real OAuth flow against the provider simulator (HTTP),
// then every access token is set to expire within the refresh-ahead window and one scan
// enqueues them all. Measured until every access token was replaced: refreshes per second,
// database queries per refresh (every query sent by the pg driver, Prisma's adapter and
// pg-boss included) and provider token-endpoint calls per refresh, which must be exactly 1.
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import pg from "pg";
import { createHarness } from "../test/harness";

const { values } = parseArgs({ options: { connections: { type: "string", default: "10000" }, concurrency: { type: "string", default: "10" } } });
const CONNECTIONS = Number(values.connections);
const CONCURRENCY = Number(values.concurrency);
if (!Number.isInteger(CONNECTIONS) || CONNECTIONS < 1 || !Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) throw new Error("--connections and --concurrency take positive integers");
const PROVIDER = "quickbooks";

// Every pg module instance in use (ours, Prisma's adapter's, pg-boss's): one prototype patched each.
const require = createRequire(import.meta.url);
const clients = new Set<{ query: (...args: unknown[]) => unknown }>([pg.Client.prototype]);
for (const from of ["pg-boss", "@tokenvault/db"]) {
  try {
    const path = require.resolve("pg", { paths: [require.resolve(from)] });
    clients.add((require(path) as typeof pg).Client.prototype);
  } catch {
    // Not resolvable from there: it uses one of the instances already patched.
  }
}
let queries = 0;
for (const prototype of clients) {
  const query = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    queries++;
    return query.apply(this, args);
  };
}

const h = await createHarness("bench");
try {
  let seedStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < CONNECTIONS) await h.connect(`bench-${next++}`, PROVIDER);
    }),
  );
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  // All access tokens expire in 5 minutes (inside the 10-minute window; lifetime 1 h): all due at once.
  await h.sql(`UPDATE "TokenSecret" SET "expiresAt" = now() + interval '5 minutes', "lastRefreshedAt" = now() - interval '55 minutes' WHERE "kind" = 'ACCESS_TOKEN'`);
  const worker = h.worker({ concurrency: CONCURRENCY, pollingIntervalSeconds: 0.5, providerConcurrency: { [PROVIDER]: CONCURRENCY }, tenantConcurrency: { [PROVIDER]: CONCURRENCY } });
  await worker.start({ schedule: false });

  const before = (await h.sim.stats()).totals.tokenEndpointCalls;
  queries = 0;
  seedStarted = performance.now();
  const { scanned, enqueued } = await worker.jobs.scan();
  const scanSeconds = (performance.now() - seedStarted) / 1000;
  if (enqueued !== CONNECTIONS) throw new Error(`the scan enqueued ${enqueued} of ${CONNECTIONS} due connections`);
  let refreshed = 0;
  while (refreshed < CONNECTIONS) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [row] = await h.sql<{ n: string }>(`SELECT count(*) AS n FROM "TokenSecret" WHERE "kind" = 'ACCESS_TOKEN' AND "expiresAt" > now() + interval '30 minutes'`);
    refreshed = Number(row!.n);
    if ((performance.now() - seedStarted) / 1000 > 3600) throw new Error(`only ${refreshed} of ${CONNECTIONS} refreshed after an hour`);
  }
  const seconds = (performance.now() - seedStarted) / 1000;
  const dbQueries = queries;
  // Jobs still finishing (completion writes) after the tokens were replaced are not counted above.
  await worker.stop();
  const providerCalls = (await h.sim.stats()).totals.tokenEndpointCalls - before;

  console.log(`\nWorker refresh-ahead (PostgreSQL, provider simulator over HTTP), ${CONNECTIONS} connections`);
  console.log(`seeding through the OAuth flow: ${seedSeconds.toFixed(1)} s; scan of ${scanned} due: ${scanSeconds.toFixed(2)} s`);
  console.log(`refreshes per second:         ${(CONNECTIONS / seconds).toFixed(1)} (${seconds.toFixed(1)} s, ${CONCURRENCY} refresh jobs at once)`);
  console.log(`database queries per refresh: ${(dbQueries / CONNECTIONS).toFixed(2)} (scan and pg-boss included)`);
  console.log(`provider calls per refresh:   ${(providerCalls / CONNECTIONS).toFixed(3)} (${providerCalls} calls for ${CONNECTIONS} refreshes)`);
  if (providerCalls !== CONNECTIONS) {
    console.error(`FAILED: provider calls per refresh must be exactly 1, measured ${providerCalls} calls for ${CONNECTIONS} refreshes`);
    process.exitCode = 1;
  }
} finally {
  await h.close();
}
