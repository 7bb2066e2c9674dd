// `pnpm soak [--duration 600] [--load-processes 3] [--report file.json]`: the whole system under a
// steady load, on loopback only, with faults injected in turn (soak/faults.ts), and a report per
// fault of what every participant saw. It starts, on a database and a simulator of its own:
// token-service load processes (getValidToken), `pnpm worker`'s process, a production web server
// (`next start`; the build must exist) with its sessions on a redis-server of the soak's own, and
// signed-in clients of it (connection.list, connection.check). All database traffic goes through
// one TCP proxy, so a database fault reaches every process. Tokens are made to expire all along
// (one expiry at a time per connection), so refreshes run throughout, by whichever process comes
// first. It stops by itself; exit code 1 when a promise did not hold (report.ts).
import "../../../tooling/network-guard/guard.mjs";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createTestDatabase, TcpProxy } from "@tokenvault/db/testing";
import { RedisServer } from "../../../packages/store/test/redis-server";
import { signInOverHttp, superjsonBody } from "../test/http-app";
import { startProductionServer } from "../test/next-server";
import { FAULT_KINDS, scheduleFor, startFault, type FaultKind } from "./faults";
import { startLoad, startWorker, rssMb } from "./processes";
import { judge, print, type FaultRecord, type SoakReport } from "./report";
import { startDirect } from "./direct";
import { Expirer } from "./expirer";
import { startWebLoad } from "./web-load";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "600" },
    "load-processes": { type: "string", default: "3" },
    report: { type: "string" },
  },
});
const DURATION_MS = Number(values.duration) * 1000;
const LOAD_PROCESSES = Number(values["load-processes"]);
if (!Number.isFinite(DURATION_MS) || DURATION_MS < 30_000) throw new Error("--duration takes a number of seconds, at least 30");
if (!Number.isInteger(LOAD_PROCESSES) || LOAD_PROCESSES < 1 || LOAD_PROCESSES > 8) throw new Error("--load-processes takes 1 to 8");
const CONNECT_TIMEOUT_MS = 1_000;
const QUERY_TIMEOUT_MS = 2_000;
const COMPANIES = Array.from({ length: 6 }, (_, i) => `soak-${i}`);

let unhandled = 0;
process.on("unhandledRejection", () => unhandled++);
// Bounded: a soak that hangs says at which step, and ends (the processes it started end with it or by their own bounds).
let stage = "setting up";
const started: number[] = [];
setTimeout(() => {
  console.error(`soak: still running ${DURATION_MS / 1000 + 150} s after its start, at: ${stage}`);
  for (const pid of started) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  process.exit(1);
}, DURATION_MS + 150_000).unref();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const database = await createTestDatabase("soak");
const h = await startDirect(database.url);
const proxy = await TcpProxy.forUrl(database.url);
const proxied = proxy.urlFor(database.url);
const redis = await RedisServer.start({ persistent: true });
const cleanup: (() => Promise<unknown>)[] = [];

try {
  const loadAtStart = loadavg();
  for (const company of COMPANIES) await h.connect(company, "xero");

  stage = "starting the web server";
  const web = await startProductionServer((url) => ({
    DATABASE_URL: proxied,
    DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
    TOKEN_ENCRYPTION_KEY: h.keyHex,
    SESSION_SECRET: randomBytes(32).toString("base64url"),
    SESSION_COOKIE_SECURE: "0",
    TOKENVAULT_DEMO_USERS: "1",
    PROVIDER_SIMULATOR_URL: h.sim.url,
    APP_URL: url,
    TOKEN_STORE: "redis",
    REDIS_URL: redis.url,
    // The soak measures faults, not the per-user limit on checks (30 a minute by default).
    RATE_LIMIT_CHECKS_PER_MINUTE: "100000",
  }));
  started.push(web.pid);
  cleanup.push(() => web.stop());
  const cookies = [await signInOverHttp(web.url, "alice"), await signInOverHttp(web.url, "bob")];
  await connectQuickBooksThroughWeb(web.url, cookies[0]!);

  stage = "starting the worker";
  const worker = startWorker({ databaseUrl: proxied, keyHex: h.keyHex, simulatorUrl: h.sim.url, connectTimeoutMs: CONNECT_TIMEOUT_MS, queryTimeoutMs: QUERY_TIMEOUT_MS });
  started.push(worker.process.pid!);
  cleanup.push(() => worker.stop());
  for (let waited = 0; !worker.output().includes("worker started"); waited += 200) {
    if (worker.process.exitCode !== null || waited > 60_000) throw new Error(`the worker did not start:\n${worker.output()}`);
    await sleep(200);
  }

  stage = "starting the load processes";
  const loads = Array.from({ length: LOAD_PROCESSES }, (_, i) =>
    startLoad({ databaseUrl: proxied, connectTimeoutMs: CONNECT_TIMEOUT_MS, queryTimeoutMs: QUERY_TIMEOUT_MS, keyHex: h.keyHex, simulatorUrl: h.sim.url, companies: COMPANIES, userId: `soak-load-${i + 1}`, concurrency: 4 }),
  );
  cleanup.push(() => Promise.resolve(loads.forEach((load) => load.process.exitCode === null && load.process.kill("SIGKILL"))));
  started.push(...loads.map((load) => load.process.pid!));
  await Promise.all(loads.map((load) => load.ready));
  const webLoad = startWebLoad(web.url, cookies, { list: 4, check: 2 }, superjsonBody({ provider: "quickbooks" }));
  const expirer = new Expirer(h, [...COMPANIES.map((companyId) => ({ companyId, provider: "xero" })), { companyId: "acme", provider: "quickbooks" }]);
  const expiring = expirer.run();

  const processes = { web: web.pid, worker: worker.process.pid!, ...Object.fromEntries(loads.map((load, i) => [`load-${i + 1}`, load.process.pid!])) };
  /** Each process with its descendants (next start's server); the soak's own (the simulator's) without its children, the others. */
  const memory = (): Record<string, number> => {
    (globalThis as { gc?: () => void }).gc?.();
    return { ...Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, rssMb(pid)])), "soak (simulator)": Math.round(process.memoryUsage().rss / 1024 / 1024) };
  };
  const memoryAtStart = memory();
  const schedule = scheduleFor(DURATION_MS);
  console.info(`soak: ${DURATION_MS / 1000} s; ${LOAD_PROCESSES} load processes x 4 callers, the worker, a web server with 6 clients; ${schedule.count} faults every ${schedule.intervalMs / 1000} s lasting ${schedule.faultMs / 1000} s; load average ${loadAtStart.map((n) => n.toFixed(1)).join(" ")}`);

  stage = "under load";
  const began = Date.now();
  const faults: FaultRecord[] = [];
  const phase = (index: number, endedAt: number | null) => {
    for (const load of loads) load.send({ type: "phase", index, endedAt });
    webLoad.list.phase(index, endedAt);
    webLoad.check.phase(index, endedAt);
  };
  for (let n = 1; n <= schedule.count; n++) {
    await sleep(began + n * schedule.intervalMs - Date.now());
    const kind: FaultKind = FAULT_KINDS[(n - 1) % FAULT_KINDS.length]!;
    const startedAt = Date.now();
    phase(n, null);
    const end = await startFault(kind, { proxy, databaseName: database.name, sim: h.sim, redis });
    if (kind !== "backends terminated") await sleep(schedule.faultMs);
    await end();
    const endedAt = Date.now();
    phase(n, endedAt);
    faults.push({ index: n, kind, startedAt, endedAt });
    console.info(`  ${new Date(startedAt).toISOString()} ${kind} for ${endedAt - startedAt} ms`);
  }
  await sleep(began + DURATION_MS - Date.now());

  const memoryAtEnd = memory();
  stage = "stopping the load";
  expirer.stop();
  await expiring;
  await webLoad.stop();
  for (const load of loads) load.send({ type: "stop" });
  const loadReports = await Promise.all(loads.map((load) => load.done));
  // The worker and the web server stop as a process manager stops them; what they queued is written on the way out.
  stage = "stopping the worker";
  const workerExit = await worker.stop();
  const webAliveAtEnd = await fetch(web.url).then(() => true, () => false);
  stage = "stopping the web server";
  await web.stop();
  stage = "refreshing what is still due";
  await expirer.consumePending(h.service);

  stage = "counting";
  const report: SoakReport = {
    durationS: DURATION_MS / 1000,
    schedule,
    loadAverage: { start: loadAtStart, end: loadavg() },
    faults,
    participants: {
      ...Object.fromEntries(loadReports.map((r, i) => [`load-${i + 1}`, r.phases])),
      "web list": webLoad.list.report(),
      "web check": webLoad.check.report(),
    },
    worker: { lines: worker.lines(), exitCode: workerExit },
    refreshes: await expirer.tally(),
    audit: await auditTally(loadReports.map((r, i) => ({ userId: `soak-load-${i + 1}`, queued: r.answered, leftQueued: r.pendingAfterClose, unreachableNotQueued: r.unreachable }))),
    memory: Object.fromEntries(Object.keys(memoryAtStart).map((name) => [name, { start: memoryAtStart[name]!, end: memoryAtEnd[name]! }])),
    unhandled: { soak: unhandled, ...Object.fromEntries(loadReports.map((r, i) => [`load-${i + 1}`, r.unhandled])), web: countUnhandled(web.output()), worker: countUnhandled(worker.output()) },
    webAliveAtEnd,
    broken: [],
  };
  report.broken = judge(report);
  print(report);
  if (values.report) writeFileSync(values.report, JSON.stringify(report, null, 2));
  process.exitCode = report.broken.length === 0 ? 0 : 1;
} finally {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  await proxy.close();
  await redis.dispose();
  await h.close();
  await database.drop();
}

/** Unhandled rejections a Node process reported in its output (Node prints them before it exits). */
function countUnhandled(output: string): number {
  return output.match(/unhandled ?rejection/gi)?.length ?? 0;
}

/** Token reads written per load process: rows of a batch count `details.reads` reads each. */
async function auditTally(processes: { userId: string; queued: number; leftQueued: number; unreachableNotQueued: number }[]) {
  const rows = await h.db.prisma.$queryRaw<{ userId: string; reads: bigint }[]>`
    SELECT "userId", SUM(COALESCE(("details"->>'reads')::int, 1)) AS reads FROM "AuditLog" WHERE "action" = 'TOKEN_READ' GROUP BY "userId"`;
  const written = new Map(rows.map((row) => [row.userId, Number(row.reads)]));
  return processes.map((p) => ({ ...p, written: written.get(p.userId) ?? 0 }));
}

/** Connects acme's QuickBooks as alice does in a browser: connect, the simulator's consent, the app's callback. */
async function connectQuickBooksThroughWeb(url: string, cookie: string): Promise<void> {
  const started = await fetch(`${url}/api/trpc/connection.connect`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: superjsonBody({ provider: "quickbooks" }) });
  if (started.status !== 200) throw new Error(`connection.connect answered ${started.status}`);
  const { url: consentUrl } = ((await started.json()) as { result: { data: { json: { url: string } } } }).result.data.json;
  const consent = await fetch(consentUrl, { redirect: "manual" });
  const callback = new URL(consent.headers.get("location")!);
  const back = await fetch(`${url}${callback.pathname}${callback.search}`, { headers: { cookie }, redirect: "manual" });
  if (back.headers.get("location") !== "/connections?connected=quickbooks") throw new Error(`the callback answered ${back.status} ${back.headers.get("location")}`);
}
