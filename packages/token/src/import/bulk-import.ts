// A JSON-lines file of records imported one by one (`pnpm token:import`): each line answered
// by one report (imported, already present, refused with the reason), paced per provider (the
// provider call limits' store: shared by every import process when it is), a record refused for
// a transient reason imported again after a backoff (import-retry.ts), and resumable: a progress
// file keeps the line through which every line is done, so a rerun after a crash starts after
// it, and what lies beyond is answered `already present` at no provider cost.
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { TokenError, type TokenErrorCode } from "@tokenvault/vault";
import type { RetryPolicy } from "../options";
import type { CallLimiter } from "../provider-calls/limits/call-limiter";
import { MemorySlotStore } from "../provider-calls/limits/memory-slots";
import { QueuedLimiter } from "../provider-calls/limits/queued-limiter";
import type { ImportResult } from "./import-connection";
import { IMPORT_RETRY, notRetriedWhy, pause, retryDelay, transientRefusal } from "./import-retry";
import { Pacer, type Pace } from "./pacer";

/** One line's answer. Names connections and reasons, never a token. */
export interface LineReport {
  line: number;
  outcome: "imported" | "already present" | "refused";
  companyId?: string;
  provider?: string;
  connections?: { id: string; externalId: string | null }[];
  providerCalls?: number;
  /** Times the record was tried (more than 1: it was refused for a transient reason before). */
  attempts?: number;
  code?: TokenErrorCode;
  reason?: string;
}

export interface BulkImportSummary {
  lines: number;
  imported: number;
  alreadyPresent: number;
  refused: number;
  /** Lines a previous run had done (the progress file), not read again. */
  skipped: number;
  providerCalls: number;
  elapsedMs: number;
}

export interface BulkImportOptions {
  importOne(record: unknown): Promise<ImportResult>;
  /** The provider id a record's `provider` names (aliases resolved), or null when unknown. */
  providerId(name: string): string | null;
  /** How to pace each provider id. */
  paceOf(providerId: string): Pace;
  /**
   * Where the pace is counted (under `import:<provider>`). A limiter over a shared store (Redis,
   * the database) paces every import process together; default: this process's memory, alone.
   */
  limiter?: CallLimiter;
  /** How a record refused for a transient reason is tried again (default IMPORT_RETRY: 5 attempts). */
  retry?: RetryPolicy;
  report(report: LineReport): void;
  /** Where progress is kept; null: none (a rerun starts at line 1, safely). */
  progressPath: string | null;
  /** Identifies the input (its size): a progress file written for other content is ignored. */
  inputSize: number;
  /** Aborted (the process is stopping): no new line starts and progress is no longer written. */
  signal?: AbortSignal;
}

/** Lines in flight at once across providers (each provider is paced below this). */
const MAX_PENDING = 1_000;
const PROGRESS_EVERY_MS = 200;

interface Progress {
  inputSize: number;
  through: number;
}

export async function bulkImport(lines: AsyncIterable<string>, options: BulkImportOptions): Promise<BulkImportSummary> {
  // Taken before the first await: a readline interface emits lines from the start, and lines
  // emitted before its iterator exists are lost.
  const reader = lines[Symbol.asyncIterator]();
  const started = Date.now();
  const summary: BulkImportSummary = { lines: 0, imported: 0, alreadyPresent: 0, refused: 0, skipped: 0, providerCalls: 0, elapsedMs: 0 };
  const resumeAfter = await readProgress(options.progressPath, options.inputSize);
  const tracker = new ProgressTracker(resumeAfter, options.progressPath, options.inputSize, options.signal);
  const pacers = new Map<string, Pacer>();
  const pending = new Set<Promise<void>>();
  const ownLimiter = options.limiter ? null : new QueuedLimiter(new MemorySlotStore());
  const limiter = options.limiter ?? ownLimiter!;
  const policy = options.retry ?? IMPORT_RETRY;

  const finish = (report: LineReport) => {
    options.report(report);
    if (report.outcome === "imported") summary.imported++;
    else if (report.outcome === "already present") summary.alreadyPresent++;
    else summary.refused++;
    summary.providerCalls += report.providerCalls ?? 0;
    tracker.done(report.line);
  };

  let number = 0;
  for await (const text of { [Symbol.asyncIterator]: () => reader }) {
    if (options.signal?.aborted) break;
    number++;
    summary.lines++;
    if (number <= resumeAfter) {
      summary.skipped++;
      continue;
    }
    if (text.trim() === "") {
      tracker.done(number); // blank lines are no records
      continue;
    }
    const line = number;
    const parsed = parseLine(text);
    if ("refused" in parsed) {
      finish({ line, outcome: "refused", code: "INVALID_INPUT", reason: parsed.refused });
      continue;
    }
    const providerId = options.providerId(parsed.provider);
    if (providerId === null) {
      finish({ line, outcome: "refused", code: "UNKNOWN_PROVIDER", reason: `Unknown provider "${parsed.provider.slice(0, 64)}".` });
      continue;
    }
    let pacer = pacers.get(providerId);
    if (!pacer) pacers.set(providerId, (pacer = new Pacer(limiter, providerId, options.paceOf(providerId))));
    const task = importLine(line, parsed, providerId, pacer, policy, options).then(finish);
    pending.add(task);
    // Its failure (a report that could not be written) surfaces through Promise.all below, once.
    void task.finally(() => pending.delete(task)).catch(() => undefined);
    if (pending.size >= MAX_PENDING) await Promise.race(pending);
  }
  await Promise.all(pending);
  await ownLimiter?.close();
  await tracker.complete();
  summary.elapsedMs = Date.now() - started;
  return summary;
}

/** One attempt's report, and the error that refused it (when one did). */
interface Attempt {
  report: LineReport;
  error?: unknown;
}

/**
 * One record, tried until it is imported, found, or refused for good: a transient refusal
 * (import-retry.ts) is tried again after a backoff, each attempt paced anew, up to the policy's
 * attempts. Its report counts the provider calls of every attempt.
 */
async function importLine(line: number, parsed: ParsedLine, providerId: string, pacer: Pacer, policy: RetryPolicy, options: BulkImportOptions): Promise<LineReport> {
  let calls = 0;
  for (let attempt = 1; ; attempt++) {
    let outcome: Attempt;
    try {
      outcome = await pacer.run(async (): Promise<{ value: Attempt; calls: number }> => {
        try {
          const result = await options.importOne(parsed.record);
          return { value: { report: reportOf(line, result) }, calls: result.providerCalls };
        } catch (error) {
          // A refusal after a refresh spent calls too (the import's error says how many).
          const spent = error instanceof TokenError && typeof error.details?.providerCalls === "number" ? error.details.providerCalls : 0;
          return { value: { report: { ...refusalOf(line, parsed, providerId, error), providerCalls: spent }, error }, calls: spent };
        }
      });
    } catch (error) {
      // The pace could not be kept (its store did not answer): nothing was sent for this record.
      outcome = { report: { ...refusalOf(line, parsed, providerId, error), providerCalls: 0 }, error };
    }
    calls += outcome.report.providerCalls ?? 0;
    const transient = "error" in outcome ? transientRefusal(outcome.error) : null;
    if (transient === null || attempt >= policy.attempts || options.signal?.aborted) return { ...outcome.report, providerCalls: calls, attempts: attempt };
    await pause(retryDelay(policy, attempt, transient.retryAfterMs), options.signal);
    if (options.signal?.aborted) return { ...outcome.report, providerCalls: calls, attempts: attempt };
  }
}

/** Every failure of one record is that record's: reported (an untyped one by its kind only) and the import goes on. */
function refusalOf(line: number, parsed: ParsedLine, providerId: string, error: unknown): LineReport {
  const why = notRetriedWhy(error);
  return error instanceof TokenError
    ? { line, outcome: "refused", companyId: parsed.companyId, provider: providerId, code: error.code, reason: why ? `${error.message} ${why}` : error.message }
    : { line, outcome: "refused", companyId: parsed.companyId, provider: providerId, reason: `Import failed (${error instanceof Error ? error.name : "unknown error"}).` };
}

function reportOf(line: number, result: ImportResult): LineReport {
  return {
    line,
    outcome: result.outcome,
    companyId: result.companyId,
    provider: result.provider,
    connections: result.connections.map((c) => ({ id: c.id, externalId: c.externalId })),
    providerCalls: result.providerCalls,
  };
}

interface ParsedLine {
  record: unknown;
  provider: string;
  companyId: string | undefined;
}

/** A line as a record (its company and provider read for pacing and reports), or why it is none. */
function parseLine(text: string): ParsedLine | { refused: string } {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return { refused: "The line is not valid JSON." };
  }
  if (typeof record !== "object" || record === null || Array.isArray(record)) return { refused: "The line is not a JSON object." };
  const { provider, companyId } = record as Record<string, unknown>;
  if (typeof provider !== "string" || provider === "") return { refused: "The import record is not valid: provider is required." };
  return { record, provider, companyId: typeof companyId === "string" ? companyId.slice(0, 128) : undefined };
}

async function readProgress(path: string | null, inputSize: number): Promise<number> {
  if (path === null) return 0;
  try {
    const progress = JSON.parse(await readFile(path, "utf8")) as Partial<Progress>;
    return progress.inputSize === inputSize && Number.isInteger(progress.through) ? progress.through! : 0;
  } catch {
    return 0; // none yet, or unreadable: start at the top (safe: records already imported are found)
  }
}

/** The highest line through which every line is done, written (atomically, at most every 200 ms) for a rerun. */
class ProgressTracker {
  private readonly finished = new Set<number>();
  private writing: Promise<void> = Promise.resolve();
  private lastWrite = 0;

  constructor(
    private through: number,
    private readonly path: string | null,
    private readonly inputSize: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  done(line: number): void {
    this.finished.add(line);
    while (this.finished.delete(this.through + 1)) this.through++;
    if (this.path !== null && !this.signal?.aborted && Date.now() - this.lastWrite >= PROGRESS_EVERY_MS) {
      this.lastWrite = Date.now();
      // Progress only saves work on a rerun: a write that fails is skipped, not fatal.
      this.writing = this.writing.then(() => this.write()).catch(() => undefined);
    }
  }

  private async write(): Promise<void> {
    const path = this.path!;
    await writeFile(`${path}.tmp`, JSON.stringify({ inputSize: this.inputSize, through: this.through } satisfies Progress));
    await rename(`${path}.tmp`, path);
  }

  /** Every line done: the progress file goes, so the next run reads the whole file again (refused lines are retried). */
  async complete(): Promise<void> {
    await this.writing;
    if (this.path === null) return;
    // Stopped early: the file stays, a rerun resumes from it.
    if (this.signal?.aborted) return;
    await rm(this.path, { force: true });
  }
}
