// `pnpm bench` (web): a load test of the web API on the production build with autocannon.
// 200 concurrent connections for 30 s (`--duration N` to change it) against connection.list (one
// indexed read of the company's connections) and connection.check (getValidToken, then a live
// call to the simulator, then the health row and audit rows). The floor of a signed-in request is
// the same server answering an anonymous one in the same run: connection.list without a cookie
// (401 once the session step finds none); goal: signed-in ≥ 0.8× its requests/s, p99 ≤ 1.5× its
// p99 (met or MISSED). Goals: 0 errors and 0 non-2xx (the anonymous row: all 401),
// the server's memory stable across the run (errors print met or MISSED, like the other benches,
// without failing the run; memory prints its growth). The server, the simulator and autocannon share the
// machine's CPU: read the figures as one run on that machine, not as capacity.
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import autocannon from "autocannon";
import { startHttpApp, superjsonBody, type HttpApp } from "../test/http-app";

const CONNECTIONS = 200;
const durationArg = process.argv.indexOf("--duration");
const DURATION = durationArg >= 0 ? Number(process.argv[durationArg + 1]) : 30;
if (!Number.isFinite(DURATION) || DURATION <= 0) throw new Error("--duration takes a number of seconds");

/** Resident memory in MB of the process and its descendants (Linux /proc). */
function rssMb(pid: number): number {
  let kb = 0;
  const visit = (p: number) => {
    try {
      const line = readFileSync(`/proc/${p}/status`, "utf8").match(/^VmRSS:\s+(\d+)/m);
      kb += Number(line?.[1] ?? 0);
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, "utf8").trim();
        for (const child of children ? children.split(" ") : []) visit(Number(child));
      }
    } catch {
      // The process ended between reads: nothing more to count.
    }
  };
  visit(pid);
  return kb / 1024;
}

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

async function load(app: HttpApp, label: string, request: Request, afterWarmUp?: () => Promise<void>): Promise<Load> {
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
  const result = await autocannon({ url: `${app.url}${request.path}`, method: request.method, headers, body: request.body, connections: CONNECTIONS, duration: DURATION });
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
  stalled: number;
}

async function sessionReads(app: HttpApp): Promise<SessionReads> {
  const text = await (await fetch(`${app.url}/api/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const reads: SessionReads = { store: 0, hit: 0, miss: 0, down: 0, stalled: 0 };
  for (const line of text.split("\n")) {
    const value = Number(line.split(" ").pop());
    if (line.startsWith("tokenvault_store_operations_total{") && line.includes('operation="get"')) reads.store += value;
    const outcome = /^tokenvault_session_cache_reads_total\{outcome="(\w+)"\}/.exec(line)?.[1] as keyof SessionReads | undefined;
    if (outcome && outcome in reads) reads[outcome] += value;
  }
  return reads;
}

const app = await startHttpApp("web-bench", {
  METRICS_TOKEN,
  // The bench measures the path, not the per-user limit (30 checks a minute by default), and every
  // check should reach getValidToken rather than answer with the health recorded moments ago.
  RATE_LIMIT_CHECKS_PER_MINUTE: "100000",
  CHECK_COALESCE_SECONDS: "0",
});
try {
  await connectQuickBooks(app);
  const before = rssMb(app.server.pid);
  console.log(`Web API under load (production build, ${CONNECTIONS} connections, ${DURATION} s each; server, simulator and load generator share the CPU)`);
  const anonymous = await load(app, "connection.list without a cookie (GET, anonymous: 401; the floor)", { method: "GET", path: "/api/trpc/connection.list", anonymous: true });
  report(anonymous);
  let readsBefore: SessionReads | undefined;
  const list = await load(app, "connection.list (GET, signed in)", { method: "GET", path: "/api/trpc/connection.list" }, async () => void (readsBefore = await sessionReads(app)));
  report(list);
  // The per-process session cache at work: one store read per request without it.
  const readsAfter = await sessionReads(app);
  const delta = (key: keyof SessionReads) => readsAfter[key] - readsBefore![key];
  const resolved = delta("hit") + delta("miss") + delta("down") + delta("stalled");
  console.log(`    sessions resolved ${resolved}: from memory ${delta("hit")}, cache miss ${delta("miss")}, bypassed: feed down ${delta("down")}, event loop stalled ${delta("stalled")}; session store reads ${delta("store")} (${(delta("store") / Math.max(1, resolved)).toFixed(2)} per session resolved)`);
  const [a, b] = [anonymous.result, list.result];
  const throughput = b.requests.average / a.requests.average;
  const tail = b.latency.p99 / a.latency.p99;
  console.log(`  signed in vs anonymous: ${throughput.toFixed(2)}× the requests/s  goal ≥ 0.8×  ${throughput >= 0.8 ? "met" : "MISSED"}`);
  console.log(`                          ${tail.toFixed(2)}× the p99 (${b.latency.p99} vs ${a.latency.p99} ms), p50 ${b.latency.p50} vs ${a.latency.p50} ms  goal ≤ 1.5×  ${tail <= 1.5 ? "met" : "MISSED"}`);
  const liveChecks = () => app.db.prisma.auditLog.count({ where: { companyId: "acme", action: "CHECK" } });
  let checksBefore = 0;
  const check = await load(app, "connection.check (POST, getValidToken + live provider call)", {
    method: "POST",
    path: "/api/trpc/connection.check",
    body: superjsonBody({ provider: "quickbooks" }),
  }, async () => void (checksBefore = await liveChecks()));
  report(check);
  // Concurrent checks in one process share the call in flight (ConnectionCheck): count the live
  // ones (a CHECK audit row each; the warm-up's are counted before the run starts).
  const live = (await liveChecks()) - checksBefore;
  console.log(`    ${live} live checks during the run (each a getValidToken and a provider call); the other answers shared one in flight`);
  const after = rssMb(app.server.pid);
  console.log(`  server RSS over both runs: ${before.toFixed(0)} MB -> ${after.toFixed(0)} MB (growth ${(after - before).toFixed(0)} MB)`);
} finally {
  await app.close();
}
