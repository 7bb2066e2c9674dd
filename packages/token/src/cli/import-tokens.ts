// `pnpm token:import FILE.jsonl [--user NAME] [--progress FILE | --no-progress] [--concurrency provider=N] [--per-minute provider=N]`:
// imports one record per line (docs/importing.md). stdout: one JSON report per line, in the
// order lines finish; stderr: the pacing and a summary. Never prints a token. Exit 0: every
// line imported or already present; 2: some line refused (rerun after fixing it: done lines
// cost nothing); 1: the run itself failed. Safe to interrupt and rerun (the progress file).
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { TokenError } from "@tokenvault/vault";
import { closeDatabase, getDatabase } from "@tokenvault/db";
import pino from "pino";
import { buildFromEnvironment } from "../default-service";
import { invocationDirectory, providerCallLimitsFromEnv } from "../env";
import { bulkImport } from "../import/bulk-import";
import type { Pace } from "../import/pacer";
import { BUILT_IN_PROVIDERS } from "../providers/definitions";
import { PROVIDER_ALIASES } from "../providers/registry";
import { pinoLogger } from "../pino-logger";
import { slotStoreFor } from "../provider-calls";
import { QueuedLimiter } from "../provider-calls/limits/queued-limiter";
import { connectLimitsRedis } from "../provider-calls/limits/redis-connection";
import { closeOnShutdown } from "../shutdown";

/** Where a provider documents no app-wide budget: provider calls a minute the import allows itself. */
const DEFAULT_PER_MINUTE = 1_000;

interface Args {
  file: string;
  user: string;
  progress: string | null;
  concurrency: Record<string, number>;
  perMinute: Record<string, number>;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { file: "", user: "import", progress: null, concurrency: {}, perMinute: {} };
  let progress: string | null | undefined;
  const perProvider = (value: string | undefined, flag: string): [string, number] => {
    const match = /^([a-z][a-z0-9-]*)=(\d+)$/.exec(value ?? "");
    if (!match || Number(match[2]) < 1) throw new TokenError("INVALID_INPUT", `${flag} takes provider=N (N at least 1).`);
    return [PROVIDER_ALIASES.get(match[1]!) ?? match[1]!, Number(match[2])];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--user") args.user = argv[++i] ?? "";
    else if (arg === "--progress") progress = argv[++i] ?? "";
    else if (arg === "--no-progress") progress = null;
    else if (arg === "--concurrency") Object.assign(args.concurrency, Object.fromEntries([perProvider(argv[++i], arg)]));
    else if (arg === "--per-minute") Object.assign(args.perMinute, Object.fromEntries([perProvider(argv[++i], arg)]));
    else if (arg.startsWith("--")) throw new TokenError("INVALID_INPUT", `Unknown option ${arg}.`);
    else if (args.file === "") args.file = arg;
    else throw new TokenError("INVALID_INPUT", "Give one file.");
  }
  if (args.file === "") throw new TokenError("INVALID_INPUT", "Usage: pnpm token:import FILE.jsonl [--user NAME] [--progress FILE | --no-progress] [--concurrency provider=N] [--per-minute provider=N]");
  args.progress = progress === undefined ? `${args.file}.progress` : progress;
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  // `pnpm token:import FILE` runs in packages/token: FILE is where the user typed it.
  args.file = resolve(invocationDirectory(), args.file);
  if (args.progress !== null) args.progress = resolve(invocationDirectory(), args.progress);
  const size = await stat(args.file).then(
    (s) => s.size,
    () => {
      throw new TokenError("INVALID_INPUT", `Cannot read ${args.file}.`);
    },
  );
  // stdout carries the reports: the service logs to stderr.
  const service = await buildFromEnvironment({ logger: pinoLogger({ destination: pino.destination({ dest: 2, sync: true }), level: "warn" }) });
  // The pace is kept where tokenService.fetch keeps its limits (Redis, else the database), so
  // every import process of the deployment shares it (docs/importing.md).
  const callLimits = providerCallLimitsFromEnv();
  const backend = callLimits.backend.kind === "redis" ? { kind: "redis" as const, client: await connectLimitsRedis(callLimits.backend.url, (m) => console.error(`token:import: ${m}`)), owned: true, prefix: callLimits.backend.prefix } : { kind: "database" as const };
  const limiter = new QueuedLimiter(slotStoreFor(backend, (await getDatabase()).prisma));
  // Interrupted: no new line starts and progress stops moving (a line cut short is not "done");
  // each record is its own transaction, so a rerun resumes safely.
  const stop = new AbortController();
  closeOnShutdown(async () => {
    stop.abort();
    await service.close();
    await limiter.close().catch(() => undefined); // closed once already (shutdown, then the end of the run)
    await closeDatabase();
  });
  const known = new Set((await service.listProviders()).map((p) => p.id));
  const facts = service.providerUpkeepFacts();
  const paceOf = (id: string): Pace => {
    const appBudget = BUILT_IN_PROVIDERS.find((p) => p.id === id)?.limits.appRequestsPerMinute;
    // Half the app's budget: the running service calls the same provider meanwhile.
    const pace = { concurrency: args.concurrency[id] ?? facts.providerConcurrency[id] ?? 5, perMinute: args.perMinute[id] ?? (appBudget ? Math.floor(appBudget / 2) : DEFAULT_PER_MINUTE) };
    console.error(`token:import: ${id}: ${pace.concurrency} at once, at most ${pace.perMinute} provider calls a minute (shared by every import process: ${backend.kind === "redis" ? "Redis" : "the database"})`);
    return pace;
  };
  // Written synchronously: a report is out before its line counts as done in the progress file.
  const out = pino.destination({ dest: 1, sync: true });
  const lines = createInterface({ input: createReadStream(args.file, "utf8"), crlfDelay: Infinity });
  try {
    const summary = await bulkImport(lines, {
      importOne: (record) => service.importConnection(record as never, { userId: args.user }),
      providerId: (name) => {
        const id = PROVIDER_ALIASES.get(name) ?? name;
        return known.has(id) ? id : null;
      },
      paceOf,
      limiter,
      report: (report) => out.write(`${JSON.stringify(report)}\n`),
      progressPath: args.progress,
      inputSize: size,
      signal: stop.signal,
    });
    const seconds = summary.elapsedMs / 1000;
    const processed = summary.imported + summary.alreadyPresent + summary.refused;
    console.error(
      `token:import: ${summary.lines} lines: ${summary.imported} imported, ${summary.alreadyPresent} already present, ${summary.refused} refused` +
        `${summary.skipped ? `, ${summary.skipped} done by an earlier run` : ""}; ${summary.providerCalls} provider calls; ${(processed / Math.max(seconds, 0.001)).toFixed(1)} records/s`,
    );
    return summary.refused > 0 ? 2 : 0;
  } finally {
    await service.close();
    await limiter.close().catch(() => undefined);
    await closeDatabase();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // TokenErrors are written to be shown; anything else gets its kind only, never a value.
    console.error(error instanceof TokenError ? error.message : `token:import failed: ${error instanceof Error ? error.name : "unknown error"}`);
    process.exit(1);
  },
);
