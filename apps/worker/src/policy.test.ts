import { describe, expect, it } from "vitest";
import { nextScheduledRefresh, type UpkeepConnection, type UpkeepSecret } from "@tokenvault/token";
import { DEFAULT_WORKER_CONFIG } from "./config";
import { decide, idleLifetimeMs, keepAliveDue, utcDay } from "./policy";

const DAY = 86_400_000;
const now = new Date("2026-12-02T12:00:00Z");
const at = (msFromNow: number) => new Date(now.getTime() + msFromNow);
const secret = (expiresIn: number | null, refreshedAgo: number): UpkeepSecret => ({
  state: "VALID",
  expiresAt: expiresIn === null ? null : at(expiresIn),
  lastRefreshedAt: at(-refreshedAgo),
});

function connection(overrides: Partial<UpkeepConnection> = {}): UpkeepConnection {
  return {
    id: "c1",
    grantId: "g1",
    companyId: "acme",
    provider: "xero",
    externalId: "t1",
    connections: [{ id: "c1", externalId: "t1" }],
    paused: false,
    refreshFailureDays: 0,
    lastFailureDay: null,
    exhaustedAt: null,
    incident: null,
    incidentAt: null,
    horizonWarning: null,
    hardExpiresAt: null,
    // An idle Xero grant: access token long expired, refresh token rolled 1 day ago for 60 days.
    access: secret(-DAY, DAY + 1_800_000),
    refresh: secret(59 * DAY, DAY),
    ...overrides,
  };
}

describe("decide", () => {
  it("refreshes ahead an access token expiring within the window, not one that is fresh or already expired", () => {
    expect(decide(connection({ access: secret(5 * 60_000, 25 * 60_000) }), DEFAULT_WORKER_CONFIG, now).refresh).toBe("refresh-ahead");
    expect(decide(connection({ access: secret(20 * 60_000, 10 * 60_000) }), DEFAULT_WORKER_CONFIG, now).refresh).toBeNull();
    expect(decide(connection(), DEFAULT_WORKER_CONFIG, now).refresh).toBeNull();
    expect(decide(connection({ access: secret(5 * 60_000, 25 * 60_000) }), { ...DEFAULT_WORKER_CONFIG, refreshAheadMs: 0 }, now).refresh).toBeNull();
  });

  it("caps the window at half the token's lifetime, as the service does, so a short-lived token is not sent before it is due", () => {
    // A 10-minute token with 9 minutes left: inside the 10-minute window, yet the service calls it
    // fresh (margin capped at 5 minutes) and would refresh nothing; the job would fail for nothing.
    expect(decide(connection({ access: secret(9 * 60_000, 60_000) }), DEFAULT_WORKER_CONFIG, now).refresh).toBeNull();
    expect(decide(connection({ access: secret(4 * 60_000, 6 * 60_000) }), DEFAULT_WORKER_CONFIG, now).refresh).toBe("refresh-ahead");
  });

  it("keeps a grant alive at half its idle lifetime: Xero 60 d, Intuit 100 d, generic as configured", () => {
    expect(decide(connection({ refresh: secret(31 * DAY, 29 * DAY) }), DEFAULT_WORKER_CONFIG, now).refresh).toBeNull();
    expect(decide(connection({ refresh: secret(30 * DAY, 30 * DAY) }), DEFAULT_WORKER_CONFIG, now).refresh).toBe("keep-alive");
    // No stored expiry: the provider's documented idle lifetime.
    expect(keepAliveDue(connection({ provider: "quickbooks", refresh: secret(null, 49 * DAY) }), DEFAULT_WORKER_CONFIG, now)).toBe(false);
    expect(keepAliveDue(connection({ provider: "quickbooks", refresh: secret(null, 50 * DAY) }), DEFAULT_WORKER_CONFIG, now)).toBe(true);
    expect(keepAliveDue(connection({ provider: "acme-idp", refresh: secret(null, 15 * DAY) }), DEFAULT_WORKER_CONFIG, now)).toBe(true);
    expect(keepAliveDue(connection({ provider: "acme-idp", refresh: secret(null, 14 * DAY) }), DEFAULT_WORKER_CONFIG, now)).toBe(false);
  });

  it("does nothing automatic for an exhausted connection until it was renewed since the incident", () => {
    const exhausted = connection({ exhaustedAt: at(-DAY), incident: "exhausted", incidentAt: at(-DAY), refresh: secret(1 * DAY, 59 * DAY) });
    expect(decide(exhausted, DEFAULT_WORKER_CONFIG, now)).toMatchObject({ refresh: null, recovered: false });
    const renewed = { ...exhausted, access: secret(30 * 60_000, 0) };
    expect(decide(renewed, DEFAULT_WORKER_CONFIG, now)).toMatchObject({ refresh: null, recovered: true });
  });

  it("neither refreshes ahead nor keeps alive a grant whose connections are all paused", () => {
    const ahead = connection({ access: secret(5 * 60_000, 25 * 60_000) });
    const idle = connection({ refresh: secret(30 * DAY, 30 * DAY) });
    expect([decide(ahead, DEFAULT_WORKER_CONFIG, now).refresh, decide(idle, DEFAULT_WORKER_CONFIG, now).refresh]).toEqual(["refresh-ahead", "keep-alive"]);
    expect(decide({ ...ahead, paused: true }, DEFAULT_WORKER_CONFIG, now).refresh).toBeNull();
    expect(decide({ ...idle, paused: true }, DEFAULT_WORKER_CONFIG, now).refresh).toBeNull();
  });

  it("reports an expired grant once", () => {
    const expired = connection({ refresh: { ...secret(DAY, DAY), state: "EXPIRED" } });
    expect(decide(expired, DEFAULT_WORKER_CONFIG, now).expired).toBe(true);
    expect(decide({ ...expired, incident: "expired" }, DEFAULT_WORKER_CONFIG, now).expired).toBe(false);
  });

  it("warns 30 and 7 days before the hard expiry, each once, never looser after tighter", () => {
    const hard = at(29 * DAY);
    const warn30 = decide(connection({ hardExpiresAt: hard }), DEFAULT_WORKER_CONFIG, now).horizonWarning;
    expect(warn30).toEqual({ marker: `${hard.toISOString()}:30`, daysLeft: 29, hardExpiresAt: hard });
    expect(decide(connection({ hardExpiresAt: hard, horizonWarning: warn30!.marker }), DEFAULT_WORKER_CONFIG, now).horizonWarning).toBeNull();
    const soon = at(6 * DAY);
    expect(decide(connection({ hardExpiresAt: soon, horizonWarning: `${soon.toISOString()}:30` }), DEFAULT_WORKER_CONFIG, now).horizonWarning?.marker).toBe(`${soon.toISOString()}:7`);
    expect(decide(connection({ hardExpiresAt: soon, horizonWarning: `${soon.toISOString()}:7` }), DEFAULT_WORKER_CONFIG, now).horizonWarning).toBeNull();
    expect(decide(connection({ hardExpiresAt: at(40 * DAY) }), DEFAULT_WORKER_CONFIG, now).horizonWarning).toBeNull();
  });

  it("counts days by the UTC calendar", () => {
    expect(utcDay(new Date("2026-12-02T23:59:59Z"))).toBe("2026-12-02");
    expect(utcDay(new Date("2026-12-03T00:00:00Z"))).toBe("2026-12-03");
  });

  it("refreshes exactly from the moment the dashboard's next scheduled refresh names (refresh-ahead and keep-alive)", () => {
    const cases = [connection(), connection({ access: secret(25 * 60_000, 5 * 60_000) }), connection({ refresh: secret(20 * DAY, 10 * DAY) })];
    for (const c of cases) {
      const next = nextScheduledRefresh({ access: c.access, refresh: c.refresh, exhausted: false, idleLifetimeMs: idleLifetimeMs(c, DEFAULT_WORKER_CONFIG) }, DEFAULT_WORKER_CONFIG, now)!;
      const shifted = (ms: number) => new Date(next.getTime() + ms);
      expect(decide(c, DEFAULT_WORKER_CONFIG, shifted(-1_000)).refresh).toBeNull();
      expect(decide(c, DEFAULT_WORKER_CONFIG, shifted(0)).refresh).not.toBeNull();
    }
    expect(nextScheduledRefresh({ access: null, refresh: secret(DAY, DAY), exhausted: true, idleLifetimeMs: 60 * DAY }, DEFAULT_WORKER_CONFIG, now)).toBeNull();
  });
});
