import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connectSimulator, INTUIT_CLIENT_ID, INTUIT_CLIENT_SECRET, intuitEndpoints, SimulatorControlError, startSimulator, XERO_CLIENT_ID, XERO_CLIENT_SECRET, xeroEndpoints, type Simulator } from "../src/index";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ strict: true });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;

async function refresh(tokenEndpoint: string, auth: string, refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(tokenEndpoint, {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("POST /__sim/grants/mint", () => {
  it("mints Xero grants whose access tokens list their organisations and whose refresh tokens refresh", async () => {
    // Over HTTP, as a forked process or a bench would.
    const minted = await connectSimulator(sim.url).mintGrants({ provider: "xero", count: 3, tenantsPerGrant: 2 });
    expect(minted).toHaveLength(3);
    expect(new Set(minted.map((g) => g.refreshToken)).size).toBe(3);
    const e = xeroEndpoints(sim.url);
    const first = minted[0]!;
    expect(first.tenants).toHaveLength(2);
    const connections = await fetch(e.connections, { headers: { authorization: `Bearer ${first.accessToken!}` } });
    expect(connections.status).toBe(200);
    expect(((await connections.json()) as { tenantId: string }[]).map((c) => c.tenantId).sort()).toEqual(first.tenants.map((t) => t.tenantId).sort());
    const refreshed = await refresh(e.tokenEndpoint, basic(XERO_CLIENT_ID, XERO_CLIENT_SECRET), minted[1]!.refreshToken);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(minted[1]!.refreshToken);
    expect((await sim.getGrant(minted[2]!.grantId))?.status).toBe("active");
  });

  it("mints Intuit grants for a realm, with the refresh token only when asked", async () => {
    const [grant] = await sim.mintGrants({ provider: "intuit", count: 1, accessToken: false });
    expect(grant!.accessToken).toBeUndefined();
    expect(grant!.realmId).toMatch(/^\d+$/);
    expect(grant!.refreshToken).toMatch(/^AB11/);
    const refreshed = await refresh(intuitEndpoints(sim.url).tokenEndpoint, basic(INTUIT_CLIENT_ID, INTUIT_CLIENT_SECRET), grant!.refreshToken);
    expect(refreshed.status).toBe(200);
    const realm = grant!.realmId!;
    const info = await fetch(`${sim.url}/intuit/v3/company/${realm}/companyinfo/${realm}`, { headers: { authorization: `Bearer ${refreshed.body.access_token as string}` } });
    expect(info.status).toBe(200);
  });

  it("holds 10,000 grants minted in one request", async () => {
    const minted = await sim.mintGrants({ provider: "intuit", count: 10_000 });
    expect(minted).toHaveLength(10_000);
    expect((await sim.listGrants({ provider: "intuit" })).length).toBe(10_000);
  });

  it("refuses a count out of range and an unknown client", async () => {
    const control = connectSimulator(sim.url);
    await expect(control.mintGrants({ provider: "xero", count: 0 })).rejects.toThrow(SimulatorControlError);
    await expect(control.mintGrants({ provider: "xero", count: 1, clientId: "nobody" })).rejects.toMatchObject({ status: 400 });
    expect(await sim.listGrants()).toEqual([]);
  });
});
