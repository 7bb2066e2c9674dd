import { DAY, MINUTE } from "./clock";

/**
 * The providers' API rate limits, enforced per app (client id) and tenant on the simulator's
 * clock, so a test can spend a day's budget and then advance the clock a day.
 *
 * Sources (read 2026-12):
 * - Xero, developer.xero.com/documentation/guides/oauth2/limits and /faq/limits: per tenant
 *   5 calls in progress at once, 60 per minute, 5,000 per day; 10,000 per minute per app across
 *   tenants. Every response carries X-DayLimit-Remaining, X-MinLimit-Remaining and
 *   X-AppMinLimit-Remaining; a 429 carries Retry-After (seconds) and X-Rate-Limit-Problem naming
 *   the limit (XeroAPI/xero-node#634, XeroAPI/xero-python#74 show "minute" and "day").
 *   Minute and day are rolling windows (older Xero docs: "rolling 60 second window", "rolling 24
 *   hour window"), which is what the windows below are.
 * - Intuit, blogs.intuit.com 2016-08-08 "QuickBooks Online API throttling changes": per app and
 *   realm 500 requests per minute and at most 10 at once, beyond which HTTP 429. No daily or
 *   app-wide limit is documented for the Accounting API, so none is set for Intuit.
 * Neither provider documents whether a refused call counts; here it does not (a client that
 * backs off recovers when the window says so). Token endpoints are not limited: the documents
 * above concern the APIs only.
 */
export type LimitProblem = "minute" | "day" | "concurrent" | "appminute";
export const LIMIT_PROBLEMS: readonly LimitProblem[] = ["minute", "day", "concurrent", "appminute"];
export type LimitedProvider = "intuit" | "xero";

/** null: no such limit. */
export interface ProviderLimits {
  perMinute: number | null;
  perDay: number | null;
  concurrent: number | null;
  appPerMinute: number | null;
}

export interface ApiLimits {
  /** false: calls are still counted (usage) but never refused. */
  enabled: boolean;
  /** Length of the "minute" and "day" windows; shorter in tests that want a minute to pass quickly. */
  minuteMs: number;
  dayMs: number;
  intuit: ProviderLimits;
  xero: ProviderLimits;
}

export interface LimitsPatch {
  enabled?: boolean;
  minuteMs?: number;
  dayMs?: number;
  intuit?: Partial<ProviderLimits>;
  xero?: Partial<ProviderLimits>;
}

export function realLimits(): ApiLimits {
  return {
    enabled: true,
    minuteMs: MINUTE,
    dayMs: DAY,
    intuit: { perMinute: 500, perDay: null, concurrent: 10, appPerMinute: null },
    xero: { perMinute: 60, perDay: 5000, concurrent: 5, appPerMinute: 10_000 },
  };
}

/** Applies a patch to a copy; throws on a value no limit can have. */
export function patchLimits(base: ApiLimits, patch: LimitsPatch): ApiLimits {
  const positive = (name: string, value: number | null | undefined, nullable: boolean) => {
    if (value === undefined || (value === null && nullable)) return;
    if (value === null || !Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer${nullable ? " or null" : ""}`);
  };
  positive("minuteMs", patch.minuteMs, false);
  positive("dayMs", patch.dayMs, false);
  const next = structuredClone(base);
  for (const provider of ["intuit", "xero"] as const) {
    for (const [key, value] of Object.entries(patch[provider] ?? {})) {
      if (!(key in next[provider])) throw new Error(`unknown limit ${provider}.${key}`);
      positive(`${provider}.${key}`, value, true);
      if (value !== undefined) next[provider][key as keyof ProviderLimits] = value;
    }
  }
  if (patch.enabled !== undefined) next.enabled = patch.enabled;
  if (patch.minuteMs !== undefined) next.minuteMs = patch.minuteMs;
  if (patch.dayMs !== undefined) next.dayMs = patch.dayMs;
  return next;
}

/** Call times in order, oldest first; counts those inside a window ending now. */
class CallLog {
  private times: number[] = [];

  private prune(now: number, spanMs: number): void {
    // The clock moved back: calls "after" now are forgotten rather than blocking for the jump.
    while (this.times.length > 0 && this.times[this.times.length - 1]! > now) this.times.pop();
    let drop = 0;
    while (drop < this.times.length && this.times[drop]! <= now - spanMs) drop += 1;
    if (drop > 0) this.times.splice(0, drop);
  }

  count(now: number, spanMs: number): number {
    this.prune(now, spanMs);
    return this.times.length;
  }

  /** Seconds until the oldest call leaves the window (at least 1). */
  retryAfter(now: number, spanMs: number): number {
    const oldest = this.times[0] ?? now;
    return Math.max(1, Math.ceil((oldest + spanMs - now) / 1000));
  }

  add(now: number): void {
    this.times.push(now);
  }
}

interface TenantState {
  provider: LimitedProvider;
  clientId: string;
  tenantId: string;
  minute: CallLog;
  day: CallLog;
  served: number;
  rejected: Record<LimitProblem, number>;
  inFlight: number;
  maxInFlight: number;
}

interface AppState {
  provider: LimitedProvider;
  clientId: string;
  minute: CallLog;
  served: number;
  rejectedAppMinute: number;
}

/** What the control API reports per app and tenant, so a test can assert "no 429" and "never more than N at once". */
export interface TenantUsage {
  provider: LimitedProvider;
  clientId: string;
  tenantId: string;
  /** Calls admitted (whatever the handler then answered). */
  served: number;
  /** 429s this simulator sent, by the limit that refused them. */
  rejected: Record<LimitProblem, number>;
  inFlight: number;
  maxInFlight: number;
  minuteUsed: number;
  dayUsed: number;
}

export interface AppUsage {
  provider: LimitedProvider;
  clientId: string;
  served: number;
  rejected: { appminute: number };
  minuteUsed: number;
}

export interface ApiUsage {
  tenants: TenantUsage[];
  apps: AppUsage[];
}

/** Remaining calls after this one, per limit that exists (for the X-*Limit-Remaining headers). */
export interface Remaining {
  minute?: number;
  day?: number;
  appMinute?: number;
}

export type Admission =
  | { ok: true; remaining: Remaining; release(): void }
  | { ok: false; problem: LimitProblem; retryAfterSeconds: number; remaining: Remaining };

const zeroRejected = (): Record<LimitProblem, number> => ({ minute: 0, day: 0, concurrent: 0, appminute: 0 });

export class ApiLimiter {
  private tenants = new Map<string, TenantState>();
  private apps = new Map<string, AppState>();

  constructor(
    private readonly now: () => number,
    public limits: ApiLimits,
  ) {}

  reset(limits: ApiLimits): void {
    this.limits = limits;
    this.tenants.clear();
    this.apps.clear();
  }

  private app(provider: LimitedProvider, clientId: string): AppState {
    const key = `${provider}/${clientId}`;
    let app = this.apps.get(key);
    if (!app) this.apps.set(key, (app = { provider, clientId, minute: new CallLog(), served: 0, rejectedAppMinute: 0 }));
    return app;
  }

  private tenant(provider: LimitedProvider, clientId: string, tenantId: string): TenantState {
    const key = `${provider}/${clientId}/${tenantId}`;
    let tenant = this.tenants.get(key);
    if (!tenant) {
      tenant = { provider, clientId, tenantId, minute: new CallLog(), day: new CallLog(), served: 0, rejected: zeroRejected(), inFlight: 0, maxInFlight: 0 };
      this.tenants.set(key, tenant);
    }
    return tenant;
  }

  /**
   * Admits one call or names the limit it breaks. The longest wait is reported first (day, then
   * the minute windows, then concurrency), so a client that honours Retry-After is not sent back
   * into a limit it cannot pass yet. Admitted calls hold a concurrency slot until release().
   */
  admit(provider: LimitedProvider, clientId: string, tenantId: string): Admission {
    const now = this.now();
    const { minuteMs, dayMs, enabled } = this.limits;
    const limits = this.limits[provider];
    const tenant = this.tenant(provider, clientId, tenantId);
    const app = this.app(provider, clientId);
    const used = { minute: tenant.minute.count(now, minuteMs), day: tenant.day.count(now, dayMs), app: app.minute.count(now, minuteMs) };
    const left = (limit: number | null, count: number, extra: number) => (limit === null ? undefined : Math.max(0, limit - count - extra));
    const remaining = (extra: number): Remaining => {
      if (!enabled) return {};
      const r: Remaining = { minute: left(limits.perMinute, used.minute, extra), day: left(limits.perDay, used.day, extra), appMinute: left(limits.appPerMinute, used.app, extra) };
      return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));
    };
    const refuse = (problem: LimitProblem, retryAfterSeconds: number): Admission => {
      if (problem === "appminute") app.rejectedAppMinute += 1;
      tenant.rejected[problem] += 1;
      return { ok: false, problem, retryAfterSeconds, remaining: remaining(0) };
    };
    if (enabled) {
      if (limits.perDay !== null && used.day >= limits.perDay) return refuse("day", tenant.day.retryAfter(now, dayMs));
      if (limits.appPerMinute !== null && used.app >= limits.appPerMinute) return refuse("appminute", app.minute.retryAfter(now, minuteMs));
      if (limits.perMinute !== null && used.minute >= limits.perMinute) return refuse("minute", tenant.minute.retryAfter(now, minuteMs));
      // Nothing says when a slot frees; one second is what a client should wait at least.
      if (limits.concurrent !== null && tenant.inFlight >= limits.concurrent) return refuse("concurrent", 1);
    }
    tenant.minute.add(now);
    tenant.day.add(now);
    app.minute.add(now);
    tenant.served += 1;
    app.served += 1;
    tenant.inFlight += 1;
    tenant.maxInFlight = Math.max(tenant.maxInFlight, tenant.inFlight);
    let released = false;
    return {
      ok: true,
      remaining: remaining(1),
      release: () => {
        if (released) return;
        released = true;
        tenant.inFlight -= 1;
      },
    };
  }

  usage(filter: { provider?: LimitedProvider; clientId?: string; tenantId?: string } = {}): ApiUsage {
    const now = this.now();
    const { minuteMs, dayMs } = this.limits;
    const keep = (u: { provider: LimitedProvider; clientId: string; tenantId?: string }) =>
      (!filter.provider || u.provider === filter.provider) && (!filter.clientId || u.clientId === filter.clientId) && (!filter.tenantId || u.tenantId === undefined || u.tenantId === filter.tenantId);
    return {
      tenants: [...this.tenants.values()].filter(keep).map((t) => ({
        provider: t.provider,
        clientId: t.clientId,
        tenantId: t.tenantId,
        served: t.served,
        rejected: { ...t.rejected },
        inFlight: t.inFlight,
        maxInFlight: t.maxInFlight,
        minuteUsed: t.minute.count(now, minuteMs),
        dayUsed: t.day.count(now, dayMs),
      })),
      apps: [...this.apps.values()].filter(keep).map((a) => ({
        provider: a.provider,
        clientId: a.clientId,
        served: a.served,
        rejected: { appminute: a.rejectedAppMinute },
        minuteUsed: a.minute.count(now, minuteMs),
      })),
    };
  }
}
