// `pnpm bench` (web): a load test of the web API on the production build with autocannon.
// A warm-up round, then three rounds (`--rounds N`), each of 200 concurrent connections for 10 s
// (`--duration N`) per row, against connection.list (one
// indexed read of the company's connections) and connection.check (getValidToken, then a live
// call to the simulator, then the health row and audit rows). The floor of a signed-in request is
// the same server answering an anonymous one in the same run: connection.list without a cookie
// (401 once the session step finds none); goal: signed-in ≥ 0.8× its requests/s, p99 ≤ 1.5× its
// p99 (met or MISSED). Goals: 0 errors and 0 non-2xx (the anonymous row: all 401),
// the server's memory stable: its RSS after the last round within 5 % of after the one before (errors
// and memory print met or MISSED, like the other benches, without failing the run).
// `--cpu-prof DIR`: the server writes a CPU profile there when it stops (bench/cpu-profiler.mjs;
// read it with bench/cpu-profile-summary.ts). `--rows list` runs only the rows named (anonymous,
// list, check; default all three). `--heap-snapshots DIR`: the server writes a heap snapshot there
// after the warm-up and after each round (compare them with bench/heap-snapshot-diff.ts).
// The server, the simulator and autocannon share the machine's CPU: read the figures as one run on
// that machine, not as capacity.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import autocannon from "autocannon";
import { startHttpApp, superjsonBody, type HttpApp } from "../test/http-app";
import { heapSnapshot, nodeProcess, rssMb } from "./server-memory";

const CONNECTIONS = 200;
const argument = (name: string) => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const DURATION = Number(argument("--duration") ?? 10);
if (!Number.isFinite(DURATION) || DURATION <= 0) throw new Error("--duration takes a number of seconds");
const ROUNDS = Number(argument("--rounds") ?? 3);
if (!Number.isInteger(ROUNDS) || ROUNDS < 2) throw new Error("--rounds takes a whole number of at least 2");
const directory = (name: string) => {
  const value = argument(name);
  if (value === undefined) return undefined;
  mkdirSync(value, { recursive: true });
  return resolve(value);
};
const CPU_PROFILE_DIR = directory("--cpu-prof");
const ROWS = (argument("--rows") ?? "anonymous,list,check").split(",");
for (const row of ROWS) if (!["anonymous", "list", "check"].includes(row)) throw new Error(`--rows: no row ${row} (anonymous, list, check)`);
const HEAP_SNAPSHOT_DIR = directory("--heap-snapshots");
// Both would take the server's SIGUSR2 (a heap snapshot; the profile started afresh).
if (CPU_PROFILE_DIR && HEAP_SNAPSHOT_DIR) throw new Error("--cpu-prof and --heap-snapshots: one at a time");

/** Connects acme's QuickBooks as alice does in a browser: connect, the simulator's consent, the app's callback. */
async function connectQuickBooks(app: HttpApp): Promise<void> {
  const started = await app.post("/api/trpc/connection.connect", superjsonBody({ provider: "quickbooks" }), { userId: "alice" });
  if (started.status !== 200) throw new Error(`connection.connect answered ${started.status}`);
  const { url } = ((await started.json()) as { result: { data: { json: { url: string } } } }).result.data.json;
  const consent = await fetch(url, { redirect: "manual" });
  const callback = new URL(consent.headers.get("location")!);
  const back = await app.get(`${callback.pathname}${callback.search}`, { userId: "alice" });
  if (back.headers.get("location") !== "/connections?connected=quickbooks") throw new Error(`the callback answered ${back.status} ${back.headers.get("location")}`);
}

interface Load {
  label: string;
  anonymous: boolean;
  result: autocannon.Result;
  rss: { start: number; middle: number; end: number; peak: number };
}

interface Request {
  method: "GET" | "POST";
  path: string;
  body?: string;
  /** Sent without the session cookie: expected to answer 401. */
  anonymous?: boolean;
}

async function load(app: HttpApp, label: string, request: Request, afterWarmUp?: () => Promise<void>, duration = DURATION): Promise<Load> {
  const headers = { ...(!request.anonymous && { cookie: await app.cookie("alice") }), "content-type": "application/json" };
  const expected = request.anonymous ? 401 : 200;
  // Warm-up: the first requests load the route's modules and open the database pool.
  for (let i = 0; i < 20; i++) {
    const response = await fetch(`${app.url}${request.path}`, { method: request.method, headers, body: request.body });
    if (response.status !== expected) throw new Error(`${label} answered ${response.status} before the run: ${await response.text()}`);
  }
  await afterWarmUp?.();
  const samples: number[] = [rssMb(app.server.pid)];
  const sampler = setInterval(() => samples.push(rssMb(app.server.pid)), 500);
  const result = await autocannon({ url: `${app.url}${request.path}`, method: request.method, headers, body: request.body, connections: CONNECTIONS, duration });
  clearInterval(sampler);
  samples.push(rssMb(app.server.pid));
  return { label, result, anonymous: request.anonymous ?? false, rss: { start: samples[0]!, middle: samples[samples.length >> 1]!, end: samples[samples.length - 1]!, peak: Math.max(...samples) } };
}

function report({ label, result: r, rss, anonymous }: Load): void {
  // Anonymous: every answer should be a 401 (autocannon counts those as non-2xx).
  const failures = anonymous ? r.errors + r.non2xx - r["4xx"] + r["2xx"] : r.errors + r.non2xx;
  console.log(`  ${label}`);
  console.log(`    latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms`);
  // autocannon stops at the deadline: requests still in flight then are neither answers nor errors.
  const unanswered = r.requests.sent - r["2xx"] - r.non2xx - r.errors;
  console.log(`    ${r.requests.average.toFixed(0)} requests/s (${r["2xx"]} answered 2xx in ${r.duration.toFixed(1)} s; ${unanswered} still in flight at the end)`);
  const goal = anonymous ? "goal 0 errors, every answer a 4xx" : "goal 0";
  console.log(`    errors ${r.errors} (timeouts ${r.timeouts}), non-2xx ${r.non2xx} (4xx ${r["4xx"]}, 5xx ${r["5xx"]})  ${goal}  ${failures === 0 ? "met" : "MISSED"}`);
  console.log(`    server RSS ${rss.start.toFixed(0)} MB at start, ${rss.middle.toFixed(0)} MB mid-run, ${rss.end.toFixed(0)} MB at the end (peak ${rss.peak.toFixed(0)} MB)`);
}

const METRICS_TOKEN = `bench-${randomBytes(16).toString("hex")}`;

interface SessionReads {
  /** Reads that reached the session store (its token store metrics: the only store a request reads). */
  store: number;
  /** The session read cache's outcomes (tokenvault_session_cache_reads_total). */
  hit: number;
  miss: number;
  down: number;
  /** Reads that waited for the event loop's next poll first (tokenvault_session_cache_poll_waits_total). */
  waited: number;
}

async function sessionReads(app: HttpApp): Promise<SessionReads> {
  const text = await (await fetch(`${app.url}/api/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const reads: SessionReads = { store: 0, hit: 0, miss: 0, down: 0, waited: 0 };
  for (const line of text.split("\n")) {
    const value = Number(line.split(" ").pop());
    if (line.startsWith("tokenvault_store_operations_total{") && line.includes('operation="get"')) reads.store += value;
    const outcome = /^tokenvault_session_cache_reads_total\{outcome="(\w+)"\}/.exec(line)?.[1] as keyof SessionReads | undefined;
    if (outcome && outcome in reads) reads[outcome] += value;
    if (line.startsWith("tokenvault_session_cache_poll_waits_total ")) reads.waited += value;
  }
  return reads;
}

const nodeOptions = [
  CPU_PROFILE_DIR && `--import=${resolve(import.meta.dirname, "cpu-profiler.mjs")}`,
  HEAP_SNAPSHOT_DIR && `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${HEAP_SNAPSHOT_DIR}`,
].filter(Boolean);
const app = await startHttpApp("web-bench", {
  METRICS_TOKEN,
  // The bench measures the path, not the per-user limit (30 checks a minute by default), and every
  // check should reach getValidToken rather than answer with the health recorded moments ago.
  RATE_LIMIT_CHECKS_PER_MINUTE: "100000",
  CHECK_COALESCE_SECONDS: "0",
  ...(nodeOptions.length > 0 && { NODE_OPTIONS: nodeOptions.join(" ") }),
  ...(CPU_PROFILE_DIR && { CPU_PROFILE_DIR }),
});

const ANONYMOUS: Request = { method: "GET", path: "/api/trpc/connection.list", anonymous: true };
const LIST: Request = { method: "GET", path: "/api/trpc/connection.list" };
const CHECK: Request = { method: "POST", path: "/api/trpc/connection.check", body: superjsonBody({ provider: "quickbooks" }) };
const liveChecks = () => app.db.prisma.auditLog.count({ where: { companyId: "acme", action: "CHECK" } });

/** One round: the anonymous floor, connection.list signed in (compared with it), connection.check (those of ROWS). */
async function round(): Promise<void> {
  const anonymous = ROWS.includes("anonymous") ? await load(app, "connection.list without a cookie (GET, anonymous: 401; the floor)", ANONYMOUS) : undefined;
  if (anonymous) report(anonymous);
  if (ROWS.includes("list")) {
    let readsBefore: SessionReads | undefined;
    const list = await load(app, "connection.list (GET, signed in)", LIST, async () => void (readsBefore = await sessionReads(app)));
    report(list);
    // The per-process session cache at work: one store read per request without it.
    const readsAfter = await sessionReads(app);
    const delta = (key: keyof SessionReads) => readsAfter[key] - readsBefore![key];
    const resolved = delta("hit") + delta("miss") + delta("down");
    console.log(`    sessions resolved ${resolved}: from memory ${delta("hit")}, cache miss ${delta("miss")}, bypassed: feed down ${delta("down")}; waited for the event loop's next poll first ${delta("waited")}; session store reads ${delta("store")} (${(delta("store") / Math.max(1, resolved)).toFixed(2)} per session resolved)`);
    if (anonymous) {
      const [a, b] = [anonymous.result, list.result];
      const throughput = b.requests.average / a.requests.average;
      const tail = b.latency.p99 / a.latency.p99;
      console.log(`  signed in vs anonymous: ${throughput.toFixed(2)}× the requests/s  goal ≥ 0.8×  ${throughput >= 0.8 ? "met" : "MISSED"}`);
      console.log(`                          ${tail.toFixed(2)}× the p99 (${b.latency.p99} vs ${a.latency.p99} ms), p50 ${b.latency.p50} vs ${a.latency.p50} ms  goal ≤ 1.5×  ${tail <= 1.5 ? "met" : "MISSED"}`);
    }
  }
  if (ROWS.includes("check")) {
    let checksBefore = 0;
    const check = await load(app, "connection.check (POST, getValidToken + live provider call)", CHECK, async () => void (checksBefore = await liveChecks()));
    report(check);
    // Concurrent checks in one process share the call in flight (ConnectionCheck): count the live
    // ones (a CHECK audit row each; the warm-up's are counted before the run starts).
    const live = (await liveChecks()) - checksBefore;
    console.log(`    ${live} live checks during the run (each a getValidToken and a provider call); the other answers shared one in flight`);
  }
}

try {
  await connectQuickBooks(app);
  const before = rssMb(app.server.pid);
  console.log(`Web API under load (production build, ${CONNECTIONS} connections, ${DURATION} s per row, a warm-up round then ${ROUNDS} rounds; server, simulator and load generator share the CPU)`);
  // Warm-up: each row for a few seconds, so that what a round adds is not the first requests' compiling and pools.
  for (const [row, request] of [["anonymous", ANONYMOUS], ["list", LIST], ["check", CHECK]] as const) if (ROWS.includes(row)) await load(app, "warm-up", request, undefined, Math.min(5, DURATION));
  const afterRounds = [rssMb(app.server.pid)];
  const snapshots: string[] = [];
  if (HEAP_SNAPSHOT_DIR) snapshots.push(await heapSnapshot(app.server.pid, HEAP_SNAPSHOT_DIR));
  if (CPU_PROFILE_DIR) process.kill(nodeProcess(app.server.pid), "SIGUSR2"); // the profile starts here
  console.log(`server RSS ${before.toFixed(0)} MB before the warm-up, ${afterRounds[0]!.toFixed(0)} MB after it`);
  for (let n = 1; n <= ROUNDS; n++) {
    console.log(`round ${n} of ${ROUNDS}`);
    await round();
    afterRounds.push(rssMb(app.server.pid));
    console.log(`  server RSS after round ${n}: ${afterRounds[n]!.toFixed(0)} MB`);
    if (HEAP_SNAPSHOT_DIR) snapshots.push(await heapSnapshot(app.server.pid, HEAP_SNAPSHOT_DIR));
  }
  const [previous, last] = [afterRounds[ROUNDS - 1]!, afterRounds[ROUNDS]!];
  const growth = (last - previous) / previous;
  console.log(`server RSS after each round: ${afterRounds.map((v) => v.toFixed(0)).join(" -> ")} MB (warm-up first); round ${ROUNDS} vs round ${ROUNDS - 1}: ${(growth * 100).toFixed(1)} %  goal within 5 %  ${Math.abs(growth) <= 0.05 ? "met" : "MISSED"}`);
  if (snapshots.length > 0) console.log(`heap snapshots (warm-up, then each round): ${snapshots.join(" ")}`);
} finally {
  await app.close();
}
