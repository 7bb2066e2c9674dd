// The limits as one process sees them: per tenant, a local queue in arrival order whose first
// caller alone asks the shared SlotStore for a turn (so the store's queue holds one entry per
// process and serves processes in turn). A caller that cannot be served in time is refused at
// once with RATE_LIMITED and when to retry: when the local queue is full, when the store says
// its turn is further away than its deadline, or while a provider 429 pauses the tenant.
import { randomUUID } from "node:crypto";
import { TokenError } from "@tokenvault/vault";
import { ProviderCallError } from "../call-errors";
import type { CallLimiter, CallLimitSettings, CallPermit, CallScope } from "./call-limiter";
import type { SlotStore } from "./slot-store";

interface Waiter {
  id: string;
  deadline: number;
  enqueuedAt: number;
  resolve(permit: CallPermit): void;
  reject(error: Error): void;
}

interface TenantQueue {
  waiters: Waiter[];
  running: boolean;
  /** Wakes the pump early (a slot released here, a waiter gave up). */
  wake: (() => void) | null;
}

const limited = (scope: CallScope, retryAt: number, why: string) =>
  new ProviderCallError("RATE_LIMITED", `Too many calls to ${scope.provider} for this tenant (${why}): retry after ${new Date(retryAt).toISOString()}.`, new Date(retryAt));

/** The most calls one ask may be admitted for (a fair share of the free slots is the other bound). */
const MAX_BATCH = 16;

/** A waiter that stops asking (its process died) loses its place in the shared queue after this. */
const WAITER_TTL_MS = 2_000;

export class QueuedLimiter implements CallLimiter {
  private readonly queues = new Map<string, TenantQueue>();
  /** Per tenant key: no call before this time (a provider 429's Retry-After). */
  private readonly pauses = new Map<string, number>();

  constructor(private readonly store: SlotStore) {
    // A slot freed in another process: that tenant's first waiter here asks now.
    store.watch?.((key) => this.queues.get(key)?.wake?.());
  }

  acquire(scope: CallScope, settings: CallLimitSettings, callDeadline: number, signal?: AbortSignal): Promise<CallPermit> {
    const key = `${scope.provider}\u0000${scope.tenant}`;
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = { waiters: [], running: false, wake: null }));
    const now = Date.now();
    const deadline = Math.min(callDeadline, now + settings.maxWaitMs);
    const pausedUntil = this.pausedUntil(key, now);
    if (pausedUntil > deadline) return Promise.reject(limited(scope, pausedUntil, "the provider asked to wait"));
    if (queue.waiters.length >= settings.maxQueue) return Promise.reject(limited(scope, now + 1_000, "queue full"));
    const q = queue;
    return new Promise<CallPermit>((resolve, reject) => {
      // The listener goes when the waiter is settled: a long-lived signal (a server's shutdown
      // signal passed to every call) must not collect one per call.
      const onAbort = () => this.drop(q, scope, waiter, signal!.reason as Error);
      const settled = () => signal?.removeEventListener("abort", onAbort);
      const waiter: Waiter = {
        id: randomUUID(),
        deadline,
        enqueuedAt: now,
        resolve: (permit) => (settled(), resolve(permit)),
        reject: (error) => (settled(), reject(error)),
      };
      q.waiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (!q.running) void this.pump(key, q, scope, settings);
    });
  }

  usage(scope: CallScope, settings: CallLimitSettings): Promise<Record<string, number>> {
    return this.store.usage(scope, settings);
  }

  pause(scope: CallScope, untilMs: number): void {
    const key = `${scope.provider}\u0000${scope.tenant}`;
    this.pauses.set(key, Math.max(this.pauses.get(key) ?? 0, untilMs));
    this.queues.get(key)?.wake?.();
  }

  private pausedUntil(key: string, now: number): number {
    const until = this.pauses.get(key) ?? 0;
    if (until && until <= now) this.pauses.delete(key);
    return until;
  }

  async close(): Promise<void> {
    for (const queue of this.queues.values()) for (const w of queue.waiters.splice(0)) w.reject(new TokenError("PROVIDER_UNAVAILABLE", "The service is shutting down."));
    await this.store.close();
  }

  private drop(queue: TenantQueue, scope: CallScope, waiter: Waiter, error: Error): void {
    const at = queue.waiters.indexOf(waiter);
    if (at < 0) return;
    queue.waiters.splice(at, 1);
    if (at === 0) void this.store.leave(scope, waiter.id).catch(() => undefined);
    waiter.reject(error);
    queue.wake?.();
  }

  /** Serves the tenant's queue from its head until it is empty. */
  private async pump(key: string, queue: TenantQueue, scope: CallScope, settings: CallLimitSettings): Promise<void> {
    queue.running = true;
    try {
      while (queue.waiters.length > 0) {
        const head = queue.waiters[0]!;
        const now = Date.now();
        const pausedUntil = this.pausedUntil(key, now);
        if (now >= head.deadline || pausedUntil > head.deadline) {
          this.drop(queue, scope, head, limited(scope, Math.max(pausedUntil, now + 1_000), pausedUntil > now ? "the provider asked to wait" : "waited too long"));
          continue;
        }
        if (pausedUntil > now) {
          await this.sleep(queue, pausedUntil - now);
          continue;
        }
        let answer;
        try {
          answer = await this.store.tryTake({ scope, settings, id: head.id, count: Math.min(queue.waiters.length, MAX_BATCH), waiterTtlMs: WAITER_TTL_MS });
        } catch {
          // The shared state is unreachable: refuse rather than call the provider unpaced.
          this.drop(queue, scope, head, new TokenError("VAULT_UNAVAILABLE", "The call limits cannot be checked right now. Try again shortly."));
          continue;
        }
        if (answer.admitted > 0) {
          // The first `admitted` waiters go, in order; a slot whose waiter gave up meanwhile is handed back.
          for (let j = 1; j <= answer.admitted; j++) {
            const id = `${head.id}:${j}`;
            const waiter = queue.waiters[0];
            if (waiter && (j > 1 || waiter === head)) {
              queue.waiters.shift();
              waiter.resolve(this.permit(queue, scope, settings, id, waiter.enqueuedAt, answer.remaining));
            } else {
              await this.store.release({ scope, settings, id, unused: true }).catch(() => undefined);
            }
          }
          continue;
        }
        const retryAt = Date.now() + answer.retryInMs;
        if (retryAt > head.deadline) {
          this.drop(queue, scope, head, limited(scope, retryAt, "its turn comes too late"));
          continue;
        }
        // Ask again at least every second: the shared queue forgets a waiter that stops asking.
        await this.sleep(queue, Math.min(answer.retryInMs, WAITER_TTL_MS / 2));
      }
    } finally {
      queue.running = false;
      if (queue.waiters.length === 0) this.queues.delete(key);
    }
  }

  private async sleep(queue: TenantQueue, ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      queue.wake = () => (clearTimeout(timer), resolve());
    });
    queue.wake = null;
  }

  private permit(queue: TenantQueue, scope: CallScope, settings: CallLimitSettings, id: string, enqueuedAt: number, remaining: Record<string, number>): CallPermit {
    let released = false;
    return {
      waitedMs: Date.now() - enqueuedAt,
      remaining,
      renew: async (leaseMs) => {
        if (!released) await this.store.renew({ scope, id, leaseMs });
      },
      release: async (options) => {
        if (released) return;
        released = true;
        await this.store.release({ scope, settings, id, unused: options?.unused }).catch(() => undefined); // unreachable: the lease ends it
        queue.wake?.();
      },
    };
  }
}
