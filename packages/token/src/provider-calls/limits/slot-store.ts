// The shared state behind the limits: who holds a slot, who waits, what each budget has spent.
// One implementation per backend (Redis, PostgreSQL, process memory), one algorithm for all,
// run atomically per tenant:
//   1. drop expired holders (their process died: the lease ends the slot) and waiters that
//      stopped asking; join the tenant's queue (ordered by arrival) if not in it;
//   2. free = tenantConcurrency - holders, lowered to what each sliding-window budget has left;
//   3. admitted when this asker's place in the queue is < free: it leaves the queue, and up to
//      min(count, free - place, ceil(free / askers)) of its process's calls become holders until
//      they release or their leases end, each counted once in every budget (at its release, the
//      entry moves to the release time: see release). Several at once, so a process's rate does
//      not hang on one round trip per call; at most a fair share, so processes stay even;
//      otherwise it learns when a budget frees a point (or polls soon, for a slot or its turn).
// Only each process's first waiter of a tenant asks (queued-limiter.ts): the shared queue then
// serves processes in turn, and a process's callers in their order.
import type { CallLimitSettings, CallScope } from "./call-limiter";

export interface SlotRequest {
  scope: CallScope;
  settings: CallLimitSettings;
  /** Unique per asker: its place in the queue. The calls it is admitted for are `${id}:1` … `${id}:k`. */
  id: string;
  /** How many calls of this process wait behind the asker (itself included): up to this many may be admitted at once. */
  count: number;
  /** How long the queue keeps a waiter that stopped asking. */
  waiterTtlMs: number;
}

/** `admitted` calls (named `${id}:1` … `${id}:${admitted}`) with what each tenant budget has left; 0: ask again in `retryInMs`. */
export interface SlotAnswer {
  admitted: number;
  remaining: Record<string, number>;
  retryInMs: number;
}

export type ReleaseRequest = Omit<SlotRequest, "waiterTtlMs" | "count"> & { unused?: boolean };

export interface SlotStore {
  tryTake(request: SlotRequest): Promise<SlotAnswer>;
  /**
   * The call is over: its slot is free, and its entries in the budgets are moved to now. The
   * provider counted the call when the request arrived, which was before its answer came back:
   * counted from now, our window always ends after the provider's, however late the request
   * left (a busy event loop, a slow network), so a call we admit never lands in the provider's
   * window of the calls before it. `unused`: the call was never sent (its caller gave up, or
   * reserved more than it spent): its entries leave the budgets instead.
   */
  release(request: ReleaseRequest): Promise<void>;
  /**
   * Tells `listener` (tenant key `${provider}\u0000${tenant}`) when a slot of a tenant may have
   * come free in any process, so a waiter asks at once instead of at its next poll. Optional: a
   * store without it leaves waiters to poll.
   */
  watch?(listener: (tenantKey: string) => void): void;
  /**
   * What each tenant budget has counted in its window now (budget name → calls), without taking
   * anything: what the dashboard shows as "calls used today".
   */
  usage(scope: CallScope, settings: CallLimitSettings): Promise<Record<string, number>>;
  /**
   * The holder `id` still runs: its lease ends `leaseMs` from now instead (a no-op once it has
   * ended). Lets a long holder keep a short lease, so a crashed process's slots come back soon.
   */
  renew(request: { scope: CallScope; id: string; leaseMs: number }): Promise<void>;
  /** A waiter gave up: its place goes now rather than when it lapses. */
  leave(scope: CallScope, id: string): Promise<void>;
  close(): Promise<void>;
}

/** How often a caller that is not yet first, or waits for a slot rather than a budget, asks again. */
export const POLL_MS = 5;

/**
 * Budgets are counted over a window a little longer than the provider's: a call admitted at the
 * end of our window must not arrive inside the provider's (clocks and the network differ by ms).
 */
export const paddedWindow = (windowMs: number) => windowMs + Math.max(20, Math.round(windowMs * 0.005));

/** The keys of a tenant's state; the provider in braces keeps them on one Redis Cluster slot. */
export function slotKeys(scope: CallScope, settings: Pick<CallLimitSettings, "tenantRates" | "appRates">, prefix = "tokenvault") {
  const base = `${prefix}:calls:{${scope.provider}}`;
  const tenant = `${base}:t:${scope.tenant}`;
  return {
    holders: `${tenant}:holders`,
    waiters: `${tenant}:waiters`,
    alive: `${tenant}:alive`,
    rates: [...settings.tenantRates.map((r) => ({ key: `${tenant}:rate:${r.name}`, name: r.name, points: r.points, windowMs: paddedWindow(r.windowMs), tenant: true })),
      ...settings.appRates.map((r) => ({ key: `${base}:app:rate:${r.name}`, name: r.name, points: r.points, windowMs: paddedWindow(r.windowMs), tenant: false }))],
  };
}
