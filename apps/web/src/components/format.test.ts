import { describe, expect, it } from "vitest";
import { callBudgetLine, connectionBadge, credentialExpiry, nextRefresh, relative } from "./format";

const now = Date.parse("2026-11-23T12:00:00Z");
const at = (minutes: number) => new Date(now + minutes * 60_000);

describe("format", () => {
  it("says how far away a moment is, in the largest whole unit", () => {
    expect(relative(at(42), now)).toBe("in 42 minutes");
    expect(relative(at(-3 * 60), now)).toBe("3 hours ago");
    expect(relative(at(2 * 24 * 60), now)).toBe("in 2 days");
    expect(relative(at(0.5), now)).toBe("in under a minute");
    expect(relative(null, now)).toBe("—");
  });

  it("never shows an ended connection's nominal expiry, and says a lapsed access token renews itself", () => {
    expect(credentialExpiry(at(40), { ended: true, endedText: "no longer valid", renewable: true, now })).toBe("no longer valid");
    expect(credentialExpiry(at(40), { ended: false, endedText: "ended", renewable: true, now })).toBe("expires in 40 minutes");
    expect(credentialExpiry(at(-5), { ended: false, endedText: "ended", renewable: true, now })).toBe("expired 5 minutes ago, renewed on next use");
    expect(credentialExpiry(at(-5), { ended: false, endedText: "ended", renewable: false, now })).toBe("expired 5 minutes ago");
    expect(credentialExpiry(null, { ended: false, endedText: "ended", renewable: false, now })).toBe("—");
  });

  it("badges a connection expired when the provider refused it or its authorization has simply run out", () => {
    const live = { connected: true, status: "ACTIVE", health: { status: "HEALTHY" }, refreshTokenExpiresAt: at(60 * 24) };
    expect(connectionBadge(live, now).label).toBe("Healthy");
    expect(connectionBadge({ ...live, refreshTokenExpiresAt: at(-1) }, now).label).toBe("Expired");
    expect(connectionBadge({ ...live, refreshTokenExpiresAt: null }, now).label).toBe("Healthy");
    expect(connectionBadge({ ...live, status: "EXPIRED" }, now).label).toBe("Expired");
    expect(connectionBadge({ ...live, health: { status: "UNHEALTHY" } }, now).label).toBe("Unhealthy");
    expect(connectionBadge({ ...live, connected: false }, now).label).toBe("Not connected");
  });

  it("says when the worker refreshes next: later, due now, or not at all", () => {
    const now = Date.parse("2026-12-02T12:00:00Z");
    expect(nextRefresh(new Date(now + 3 * 86_400_000), false, now)).toBe("in 3 days");
    expect(nextRefresh(new Date(now - 60_000), false, now)).toBe("due now (next scan)");
    expect(nextRefresh(null, false, now)).toMatch(/^none/);
    expect(nextRefresh(new Date(now + 60 * 60_000), true, now)).toMatch(/^none/);
  });

  it("says how much of a call budget is used, and warns from 90 %", () => {
    expect(callBudgetLine("Xero", { name: "day", limit: 5_000, used: 4_800 })).toEqual({ text: "Xero daily calls: 4,800 / 5,000 used", nearlySpent: true });
    expect(callBudgetLine("QuickBooks Online", { name: "minute", limit: 500, used: 12 })).toEqual({ text: "QuickBooks Online per-minute calls: 12 / 500 used", nearlySpent: false });
    expect(callBudgetLine("Xero", { name: "day", limit: 5_000, used: 4_499 }).nearlySpent).toBe(false);
  });
});
