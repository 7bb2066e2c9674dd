// The slot algorithm (slot-store.ts) in process memory: the limits of one process only. The
// default when the service is given no shared store; tests of the queue use it too.
import { paddedWindow, POLL_MS, type ReleaseRequest, type SlotAnswer, type SlotRequest, type SlotStore } from "./slot-store";
import type { CallLimitSettings, CallScope } from "./call-limiter";

interface TenantState {
  holders: Map<string, number>;
  /** id → [arrival, expiry]; Map keeps arrival order. */
  waiters: Map<string, [number, number]>;
}

export class MemorySlotStore implements SlotStore {
  private readonly tenants = new Map<string, TenantState>();
  /** Budget key → admission times, oldest first. */
  private readonly logs = new Map<string, number[]>();
  /** Call id → when it was admitted (its entry in the logs), until it releases. */
  private readonly admitted = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  tryTake({ scope, settings, id, count, waiterTtlMs }: SlotRequest): Promise<SlotAnswer> {
    const now = this.now();
    const state = this.state(scope);
    for (const [holder, expiry] of state.holders) if (expiry <= now) state.holders.delete(holder);
    for (const [waiter, [, expiry]] of state.waiters) if (expiry <= now) state.waiters.delete(waiter);
    const arrival = state.waiters.get(id)?.[0] ?? now;
    state.waiters.set(id, [arrival, now + waiterTtlMs]);
    const rank = [...state.waiters.keys()].indexOf(id);
    let free = settings.tenantConcurrency - state.holders.size;
    let wait = free <= 0 ? POLL_MS : 0;
    const rates = [...settings.tenantRates.map((r) => ({ ...r, key: `${scope.provider}:${scope.tenant}:${r.name}`, tenant: true })), ...settings.appRates.map((r) => ({ ...r, key: `${scope.provider}:app:${r.name}`, tenant: false }))];
    const left: number[] = [];
    for (const rate of rates) {
      const window = paddedWindow(rate.windowMs);
      const log = (this.logs.get(rate.key) ?? []).filter((at) => at > now - window);
      this.logs.set(rate.key, log);
      const l = rate.points - log.length;
      left.push(l);
      free = Math.min(free, l);
      if (l <= 0) wait = Math.max(wait, log[0]! + window - now + 1);
    }
    const k = Math.min(count, free - rank, Math.ceil(free / state.waiters.size));
    if (k < 1) return Promise.resolve({ admitted: 0, remaining: {}, retryInMs: wait || POLL_MS });
    state.waiters.delete(id);
    const remaining: Record<string, number> = {};
    for (let j = 1; j <= k; j++) {
      state.holders.set(`${id}:${j}`, now + settings.leaseMs);
      this.admitted.set(`${id}:${j}`, now);
    }
    rates.forEach((rate, i) => {
      for (let j = 0; j < k; j++) this.logs.get(rate.key)!.push(now);
      if (rate.tenant) remaining[rate.name] = Math.max(0, left[i]! - k) / rate.points;
    });
    return Promise.resolve({ admitted: k, remaining, retryInMs: 0 });
  }

  release({ scope, settings, id, unused }: ReleaseRequest): Promise<void> {
    this.state(scope).holders.delete(id);
    // Moved to now (see SlotStore.release): the log stays in time order.
    const now = this.now();
    for (const r of [...settings.tenantRates.map((r) => `${scope.provider}:${scope.tenant}:${r.name}`), ...settings.appRates.map((r) => `${scope.provider}:app:${r.name}`)]) {
      const log = this.logs.get(r);
      const at = log?.indexOf(this.admitted.get(id) ?? -1) ?? -1;
      if (log && at >= 0) {
        log.splice(at, 1);
        if (!unused) log.push(now);
      }
    }
    this.admitted.delete(id);
    return Promise.resolve();
  }

  usage(scope: CallScope, settings: CallLimitSettings): Promise<Record<string, number>> {
    const now = this.now();
    const used: Record<string, number> = {};
    for (const rate of settings.tenantRates) {
      used[rate.name] = (this.logs.get(`${scope.provider}:${scope.tenant}:${rate.name}`) ?? []).filter((at) => at > now - paddedWindow(rate.windowMs)).length;
    }
    return Promise.resolve(used);
  }

  renew({ scope, id, leaseMs }: { scope: CallScope; id: string; leaseMs: number }): Promise<void> {
    const holders = this.state(scope).holders;
    if (holders.has(id)) holders.set(id, this.now() + leaseMs);
    return Promise.resolve();
  }

  leave(scope: CallScope, id: string): Promise<void> {
    this.state(scope).waiters.delete(id);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private state(scope: CallScope): TenantState {
    const key = `${scope.provider}\u0000${scope.tenant}`;
    let state = this.tenants.get(key);
    if (!state) this.tenants.set(key, (state = { holders: new Map(), waiters: new Map() }));
    return state;
  }
}
