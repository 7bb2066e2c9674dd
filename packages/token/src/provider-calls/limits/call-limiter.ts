// What a provider call asks of the limits before it is sent, and the limits themselves: declared
// per provider in definitions.ts (ProviderLimits), overridable per deployment (options.callLimits).
import type { ProviderLimits } from "../../providers/types";

/** One budget: at most `points` calls in any `windowMs` (a sliding window, as the providers count). */
export interface RateWindow {
  /** "minute", "day", ...: the metrics' label. */
  name: string;
  points: number;
  windowMs: number;
}

export interface CallLimitSettings {
  /** Calls in flight at once per tenant (Xero organisation, QuickBooks realm), across every process. */
  tenantConcurrency: number;
  /** Budgets per tenant. */
  tenantRates: RateWindow[];
  /** Budgets of the whole app across tenants (Xero: 10,000 a minute). */
  appRates: RateWindow[];
  /** Callers of one tenant waiting in one process; the next one fails fast with RATE_LIMITED. */
  maxQueue: number;
  /** The longest a call waits for its turn; when its turn cannot come sooner, RATE_LIMITED at once. */
  maxWaitMs: number;
  /** How long a slot is held at most when its holder dies (a crashed process's calls release by this lease). */
  leaseMs: number;
}

export const MINUTE_MS = 60_000;
export const DAY_MS = 24 * 3_600_000;

/** The defaults of the queue, whatever the provider. */
export const DEFAULT_QUEUE = { maxQueue: 1_000, maxWaitMs: 30_000, leaseMs: 60_000 } as const;

/** A provider's limits as settings: its definition's, then the deployment's overrides. */
export function limitSettingsOf(limits: ProviderLimits, overrides: Partial<CallLimitSettings> = {}): CallLimitSettings {
  const tenantRates: RateWindow[] = [];
  if (limits.requestsPerMinute) tenantRates.push({ name: "minute", points: limits.requestsPerMinute, windowMs: MINUTE_MS });
  if (limits.requestsPerDay) tenantRates.push({ name: "day", points: limits.requestsPerDay, windowMs: DAY_MS });
  const appRates: RateWindow[] = limits.appRequestsPerMinute ? [{ name: "appminute", points: limits.appRequestsPerMinute, windowMs: MINUTE_MS }] : [];
  return { tenantConcurrency: limits.tenantConcurrency, tenantRates, appRates, ...DEFAULT_QUEUE, ...overrides };
}

/** Whose budget a call spends: the provider's, and one tenant's of it. */
export interface CallScope {
  provider: string;
  tenant: string;
}

/** A call's turn: held while the call is in flight. */
export interface CallPermit {
  /** How long the call waited for its turn. */
  waitedMs: number;
  /** What is left of each tenant budget after this call (budget name → fraction 0..1), for the metrics. */
  remaining: Record<string, number>;
  /** The call still runs: its slot's lease ends `leaseMs` from now (a crashed holder's slot comes back by its lease). */
  renew(leaseMs: number): Promise<void>;
  /** `unused`: the call was never sent, so it leaves the budgets (it counts otherwise, from now). */
  release(options?: { unused?: boolean }): Promise<void>;
}

export interface CallLimiter {
  /**
   * Waits for the call's turn (in order, behind this process's earlier callers of the tenant),
   * or throws RATE_LIMITED when the queue is full or the turn cannot come before `deadline`.
   */
  acquire(scope: CallScope, settings: CallLimitSettings, deadline: number, signal?: AbortSignal): Promise<CallPermit>;
  /** What each tenant budget has counted now (budget name → calls), taking nothing. */
  usage(scope: CallScope, settings: CallLimitSettings): Promise<Record<string, number>>;
  /** The provider answered 429: nobody of this tenant is let through before `untilMs` (this process). */
  pause(scope: CallScope, untilMs: number): void;
  close(): Promise<void>;
}
