import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  connectSimulator,
  INTUIT_CLIENT_ID,
  INTUIT_CLIENT_SECRET,
  intuitEndpoints,
  SimulatorControlError,
  startSimulator,
  XERO_CLIENT_ID,
  XERO_CLIENT_SECRET,
  xeroEndpoints,
  type HttpSimulatorControl,
  type Simulator,
} from "../src/index";
import { companyInfo, connectIntuit, connectXero, organisation, refresh } from "./grants";

// A token revoked while callers are using it: the next API call answers 401 the way the provider does.

let sim: Simulator;
let control: HttpSimulatorControl;

beforeAll(async () => {
  sim = await startSimulator();
  control = connectSimulator(sim.url);
});
afterAll(() => sim.close());
beforeEach(async () => {
  await control.reset();
  await control.updateSettings({ autoApprove: true });
});

interface Outcome {
  startedAt: number;
  status: number;
}

/** `callers` loops calling until their first 401; returns every call with when it started. */
async function callUntil401(callers: number, call: () => Promise<Response>): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = 0; i < 200; i++) {
        const startedAt = performance.now();
        const response = await call();
        await response.body?.cancel();
        outcomes.push({ startedAt, status: response.status });
        if (response.status === 401) return;
      }
      throw new Error("the revocation never reached this caller");
    }),
  );
  return outcomes;
}

describe("revoking an access token mid-stream", () => {
  it("Xero: calls after the revocation answer 401 with WWW-Authenticate and a problem document; the refresh token still works", async () => {
    const xero = await connectXero(sim);
    const tenant = xero.tenantIds[0]!;
    await control.addFault({ kind: "latency", provider: "xero", endpoint: "api", latencyMs: 20 });
    let revokedAt = Infinity;
    const revoking = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const view = await control.revokeAccessTokens(xero.grantId);
      revokedAt = performance.now();
      return view;
    })();
    const outcomes = await callUntil401(3, () => organisation(sim, xero.access_token, tenant));
    const view = await revoking;
    expect(view.status).toBe("active");
    expect(view.activeAccessTokenIds).toEqual([]);
    expect(outcomes.filter((o) => o.status === 200).length).toBeGreaterThan(3);
    expect(outcomes.filter((o) => o.status === 401)).toHaveLength(3);
    expect(outcomes.every((o) => o.status === 200 || o.status === 401)).toBe(true);
    expect(outcomes.filter((o) => o.startedAt > revokedAt).every((o) => o.status === 401)).toBe(true);

    const answer = await organisation(sim, xero.access_token, tenant);
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token"/);
    expect(await answer.json()).toMatchObject({ Title: "Unauthorized", Status: 401, Detail: "access token has been revoked" });

    const renewed = await refresh(xeroEndpoints(sim.url).tokenEndpoint, XERO_CLIENT_ID, XERO_CLIENT_SECRET, xero.refresh_token);
    expect(renewed.status).toBe(200);
    expect((await organisation(sim, renewed.body.access_token as string, tenant)).status).toBe(200);
    expect((await control.getGrant(xero.grantId))!.activeAccessTokenIds).toHaveLength(1);
  });

  it("Intuit: 401 with the AuthenticationFailed fault; revoking the whole grant also ends the refresh token", async () => {
    const intuit = await connectIntuit(sim);
    expect((await companyInfo(sim, intuit.access_token, intuit.realmId)).status).toBe(200);
    await control.revokeAccessTokens(intuit.grantId);
    const answer = await companyInfo(sim, intuit.access_token, intuit.realmId);
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({
      fault: { type: "AUTHENTICATION", error: [{ code: "3200", message: "message=AuthenticationFailed; errorCode=003200; statusCode=401" }] },
    });

    const renewed = await refresh(intuitEndpoints(sim.url).tokenEndpoint, INTUIT_CLIENT_ID, INTUIT_CLIENT_SECRET, intuit.refresh_token);
    expect(renewed.status).toBe(200);
    const token = renewed.body.access_token as string;
    expect((await companyInfo(sim, token, intuit.realmId)).status).toBe(200);

    await control.revokeGrant(intuit.grantId);
    expect((await companyInfo(sim, token, intuit.realmId)).status).toBe(401);
    const refused = await refresh(intuitEndpoints(sim.url).tokenEndpoint, INTUIT_CLIENT_ID, INTUIT_CLIENT_SECRET, renewed.body.refresh_token as string);
    expect(refused).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  it("answers 404 for a grant it does not know", async () => {
    const error = await control.revokeAccessTokens("grant_missing").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimulatorControlError);
    expect((error as SimulatorControlError).status).toBe(404);
  });
});
