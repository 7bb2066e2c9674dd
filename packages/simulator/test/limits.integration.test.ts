import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connectSimulator, realLimits, startSimulator, XERO_CLIENT_ID, XERO_CLIENT_SECRET, xeroEndpoints, type HttpSimulatorControl, type Simulator } from "../src/index";
import { companyInfo, connectIntuit, connectXero, organisation, refresh } from "./grants";

// The providers' API limits over real HTTP, driven through the HTTP control API as another process would.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
let sim: Simulator;
let control: HttpSimulatorControl;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

const limitHeaders = (r: Response) => ({
  day: r.headers.get("x-daylimit-remaining"),
  minute: r.headers.get("x-minlimit-remaining"),
  app: r.headers.get("x-appminlimit-remaining"),
});

/** Makes every API call of a provider last `ms`, inside its admitted slot, so calls overlap. */
const slowApi = (provider: "xero" | "intuit", ms: number) => control.addFault({ kind: "latency", provider, endpoint: "api", latencyMs: ms });

beforeAll(async () => {
  // A still base clock: windows and Retry-After values then depend only on advanceClock, not on how fast the machine is.
  const start = Date.now();
  sim = await startSimulator({ now: () => start });
  control = connectSimulator(sim.url);
});
afterAll(() => sim.close());
beforeEach(async () => {
  await control.reset();
  await control.updateSettings({ autoApprove: true });
});

describe("Xero's limits per organisation and per app", () => {
  it("enforces the real limits by default and reports what is left on every response", async () => {
    expect(await control.getLimits()).toEqual(realLimits());
    expect(realLimits().xero).toEqual({ perMinute: 60, perDay: 5000, concurrent: 5, appPerMinute: 10_000 });
    expect(realLimits().intuit).toEqual({ perMinute: 500, perDay: null, concurrent: 10, appPerMinute: null });
    const xero = await connectXero(sim);
    const first = await organisation(sim, xero.access_token, xero.tenantIds[0]!);
    expect(first.status).toBe(200);
    expect(limitHeaders(first)).toEqual({ day: "4999", minute: "59", app: "9999" });
    // The second organisation has its own budget; the app's is shared.
    const other = await organisation(sim, xero.access_token, xero.tenantIds[1]!);
    expect(limitHeaders(other)).toEqual({ day: "4999", minute: "59", app: "9998" });
  });

  it("answers the 61st call in a minute with 429, Retry-After and X-Rate-Limit-Problem: minute, and serves again once the oldest call leaves the window", async () => {
    const xero = await connectXero(sim);
    const [tenant, otherTenant] = xero.tenantIds as [string, string];
    for (let i = 0; i < 60; i++) {
      const ok = await organisation(sim, xero.access_token, tenant);
      expect(ok.status).toBe(200);
      expect(ok.headers.get("x-minlimit-remaining")).toBe(String(59 - i));
    }
    await control.advanceClock(20 * SECOND);
    const refused = await organisation(sim, xero.access_token, tenant);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("x-rate-limit-problem")).toBe("minute");
    // The window is rolling: the first call leaves it 60 s after it was made, 40 s from now.
    expect(Number(refused.headers.get("retry-after"))).toBe(40);
    expect(refused.headers.get("x-minlimit-remaining")).toBe("0");
    expect(((await refused.json()) as { Status: number }).Status).toBe(429);
    // Another organisation of the same app is not held back.
    expect((await organisation(sim, xero.access_token, otherTenant)).status).toBe(200);
    await control.advanceClock(39 * SECOND);
    expect((await organisation(sim, xero.access_token, tenant)).status).toBe(429);
    await control.advanceClock(1 * SECOND);
    const again = await organisation(sim, xero.access_token, tenant);
    expect(again.status).toBe(200);
    // The 60 calls were made within the same instant, so they left the window together.
    expect(again.headers.get("x-minlimit-remaining")).toBe("59");
    const usage = await control.apiUsage({ provider: "xero", tenantId: tenant });
    expect(usage.tenants).toEqual([
      expect.objectContaining({ clientId: XERO_CLIENT_ID, tenantId: tenant, served: 61, rejected: { minute: 2, day: 0, concurrent: 0, appminute: 0 }, maxInFlight: 1, inFlight: 0 }),
    ]);
  });

  it("spends the daily budget and restores it when the simulator's clock passes a day", async () => {
    await control.updateLimits({ xero: { perDay: 5, perMinute: null } });
    const xero = await connectXero(sim);
    const tenant = xero.tenantIds[0]!;
    for (let i = 0; i < 5; i++) {
      const ok = await organisation(sim, xero.access_token, tenant);
      expect(ok.headers.get("x-daylimit-remaining")).toBe(String(4 - i));
      expect(ok.headers.get("x-minlimit-remaining")).toBeNull();
      await control.advanceClock(MINUTE);
    }
    const refused = await organisation(sim, xero.access_token, tenant);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("x-rate-limit-problem")).toBe("day");
    expect(Number(refused.headers.get("retry-after"))).toBe((DAY - 5 * MINUTE) / SECOND);
    // An hour later the day is not over (the 30-minute access token is renewed on the way); a day after the first call it is.
    await control.advanceClock(60 * MINUTE);
    const renewed = await refresh(xeroEndpoints(sim.url).tokenEndpoint, XERO_CLIENT_ID, XERO_CLIENT_SECRET, xero.refresh_token);
    const token = renewed.body.access_token as string;
    expect((await organisation(sim, token, tenant)).headers.get("x-rate-limit-problem")).toBe("day");
    await control.advanceClock(DAY - 65 * MINUTE - 1 - 20 * MINUTE);
    const lastToken = (await refresh(xeroEndpoints(sim.url).tokenEndpoint, XERO_CLIENT_ID, XERO_CLIENT_SECRET, renewed.body.refresh_token as string)).body.access_token as string;
    await control.advanceClock(20 * MINUTE);
    expect((await organisation(sim, lastToken, tenant)).status).toBe(429);
    await control.advanceClock(1);
    const ok = await organisation(sim, lastToken, tenant);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-daylimit-remaining")).toBe("0");
    expect((await control.apiUsage({ tenantId: tenant })).tenants[0]).toMatchObject({ served: 6, dayUsed: 5, rejected: { day: 3 } });
  });

  it("refuses a sixth call in progress with X-Rate-Limit-Problem: concurrent and never runs more than five at once", async () => {
    const xero = await connectXero(sim);
    const tenant = xero.tenantIds[0]!;
    await slowApi("xero", 400);
    const responses = await Promise.all(Array.from({ length: 8 }, () => organisation(sim, xero.access_token, tenant)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    for (const refused of responses.filter((r) => r.status === 429)) {
      expect(refused.headers.get("x-rate-limit-problem")).toBe("concurrent");
      expect(refused.headers.get("retry-after")).toBe("1");
    }
    const [usage] = (await control.apiUsage({ tenantId: tenant })).tenants;
    expect(usage).toMatchObject({ served: 5, maxInFlight: 5, inFlight: 0, rejected: { concurrent: 3 } });
  });

  it("limits the app across organisations (appminute) but not another app", async () => {
    await control.updateLimits({ xero: { appPerMinute: 4, perMinute: null } });
    const a = await connectXero(sim);
    const b = await connectXero(sim);
    const tenants: Array<[string, string]> = [
      [a.access_token, a.tenantIds[0]!],
      [a.access_token, a.tenantIds[1]!],
      [b.access_token, b.tenantIds[0]!],
      [b.access_token, b.tenantIds[1]!],
    ];
    const remaining: Array<string | null> = [];
    for (const [token, tenant] of tenants) remaining.push((await organisation(sim, token, tenant)).headers.get("x-appminlimit-remaining"));
    expect(remaining).toEqual(["3", "2", "1", "0"]);
    const refused = await organisation(sim, b.access_token, b.tenantIds[1]!);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("x-rate-limit-problem")).toBe("appminute");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
    // A second app has its own app-wide budget.
    const other = await control.registerClient({ provider: "xero", clientId: "second-app", clientSecret: "second-secret" });
    const c = await connectXero(sim, { id: other.clientId, secret: "second-secret" });
    expect((await organisation(sim, c.access_token, c.tenantIds[0]!)).status).toBe(200);
    const usage = await control.apiUsage({ provider: "xero" });
    expect(usage.apps).toEqual(
      expect.arrayContaining([
        { provider: "xero", clientId: XERO_CLIENT_ID, served: 4, rejected: { appminute: 1 }, minuteUsed: 4 },
        { provider: "xero", clientId: "second-app", served: 1, rejected: { appminute: 0 }, minuteUsed: 1 },
      ]),
    );
  });

  it("does not limit the token endpoint, /connections, or a call that fails authentication", async () => {
    await control.updateLimits({ xero: { perMinute: 1 } });
    const xero = await connectXero(sim);
    for (let i = 0; i < 3; i++) expect((await fetch(xeroEndpoints(sim.url).connections, { headers: { authorization: `Bearer ${xero.access_token}` } })).status).toBe(200);
    expect((await organisation(sim, "not-a-token", xero.tenantIds[0]!)).status).toBe(401);
    expect((await organisation(sim, xero.access_token, "not-my-tenant")).status).toBe(403);
    expect((await organisation(sim, xero.access_token, xero.tenantIds[0]!)).status).toBe(200);
    expect((await organisation(sim, xero.access_token, xero.tenantIds[0]!)).status).toBe(429);
    expect((await control.apiUsage({ tenantId: xero.tenantIds[0]! })).tenants[0]).toMatchObject({ served: 1, rejected: { minute: 1 } });
  });
});

describe("Intuit's limits per realm", () => {
  it("answers the 501st call in a minute with 429 and the ThrottleExceeded fault, per realm", async () => {
    const a = await connectIntuit(sim);
    const b = await connectIntuit(sim);
    for (let i = 0; i < 500; i++) expect((await companyInfo(sim, a.access_token, a.realmId)).status).toBe(200);
    const refused = await companyInfo(sim, a.access_token, a.realmId);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toBe("application/xml");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = await refused.text();
    expect(body).toContain('<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>');
    // Xero's headers are Xero's.
    expect(limitHeaders(refused)).toEqual({ day: null, minute: null, app: null });
    expect((await companyInfo(sim, b.access_token, b.realmId)).status).toBe(200);
    await control.advanceClock(MINUTE);
    expect((await companyInfo(sim, a.access_token, a.realmId)).status).toBe(200);
    expect((await control.apiUsage({ tenantId: a.realmId })).tenants[0]).toMatchObject({ provider: "intuit", served: 501, rejected: { minute: 1 } });
  });

  it("refuses an eleventh request in progress to one realm", async () => {
    const a = await connectIntuit(sim);
    await slowApi("intuit", 400);
    const responses = await Promise.all(Array.from({ length: 13 }, () => companyInfo(sim, a.access_token, a.realmId)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(3);
    expect((await control.apiUsage({ tenantId: a.realmId })).tenants[0]).toMatchObject({ served: 10, maxInFlight: 10, rejected: { concurrent: 3 } });
  });
});

describe("an injected rate_limit fault on the API", () => {
  it("answers in the provider's own 429 shape, so clients read injected and enforced limits alike", async () => {
    const xero = await connectXero(sim);
    const intuit = await connectIntuit(sim);
    await control.addFault({ kind: "rate_limit", provider: "xero", endpoint: "api", problem: "day", retryAfterSeconds: 3600, count: 1 });
    await control.addFault({ kind: "rate_limit", provider: "intuit", endpoint: "api", retryAfterSeconds: 5, count: 1 });
    const fromXero = await organisation(sim, xero.access_token, xero.tenantIds[0]!);
    expect(fromXero.status).toBe(429);
    expect(fromXero.headers.get("x-rate-limit-problem")).toBe("day");
    expect(fromXero.headers.get("retry-after")).toBe("3600");
    const fromIntuit = await companyInfo(sim, intuit.access_token, intuit.realmId);
    expect(fromIntuit.status).toBe(429);
    expect(fromIntuit.headers.get("retry-after")).toBe("5");
    expect(await fromIntuit.text()).toContain("message=ThrottleExceeded; errorCode=003001; statusCode=429");
    // Injected, not enforced: the usage report's refusals stay at 0 and the stats count the faults.
    const usage = await control.apiUsage();
    expect(usage.tenants.map((t) => t.rejected)).toEqual([
      { minute: 0, day: 0, concurrent: 0, appminute: 0 },
      { minute: 0, day: 0, concurrent: 0, appminute: 0 },
    ]);
    expect((await control.stats()).totals.faultsInjected).toBe(2);
    expect((await organisation(sim, xero.access_token, xero.tenantIds[0]!)).status).toBe(200);
  });
});

describe("configuring the limits", () => {
  it("takes small limits and short windows from the control API, refuses nonsense, and restores the real ones on reset", async () => {
    expect(await rejection(control.updateLimits({ xero: { perMinute: 0 } }))).toMatchObject({ status: 400 });
    expect(await rejection(control.updateLimits({ minuteMs: -1 }))).toMatchObject({ status: 400 });
    const limits = await control.updateLimits({ minuteMs: 300, xero: { perMinute: 2 } });
    expect(limits).toMatchObject({ minuteMs: 300, xero: { perMinute: 2, perDay: 5000 } });
    const xero = await connectXero(sim);
    const tenant = xero.tenantIds[0]!;
    expect((await organisation(sim, xero.access_token, tenant)).status).toBe(200);
    expect((await organisation(sim, xero.access_token, tenant)).status).toBe(200);
    expect((await organisation(sim, xero.access_token, tenant)).status).toBe(429);
    await control.advanceClock(300);
    expect((await organisation(sim, xero.access_token, tenant)).status).toBe(200);
    await control.reset();
    expect(await control.getLimits()).toEqual(realLimits());
    expect(await control.apiUsage()).toEqual({ tenants: [], apps: [] });
  });

  it("counts but never refuses when disabled, and takes its starting limits from startSimulator", async () => {
    const own = await startSimulator({ limits: { enabled: false, xero: { concurrent: 1 } } });
    try {
      await own.updateSettings({ autoApprove: true });
      await own.addFault({ kind: "latency", provider: "xero", endpoint: "api", latencyMs: 200 });
      const xero = await connectXero(own);
      const responses = await Promise.all(Array.from({ length: 4 }, () => organisation(own, xero.access_token, xero.tenantIds[0]!)));
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(limitHeaders(responses[0]!)).toEqual({ day: null, minute: null, app: null });
      expect((await own.apiUsage()).tenants[0]).toMatchObject({ served: 4, maxInFlight: 4 });
      await own.reset();
      expect(await own.getLimits()).toMatchObject({ enabled: false, xero: { concurrent: 1 } });
    } finally {
      await own.close();
    }
    await expect(startSimulator({ limits: { intuit: { concurrent: 0 } } })).rejects.toThrow(/intuit.concurrent/);
  });
});
