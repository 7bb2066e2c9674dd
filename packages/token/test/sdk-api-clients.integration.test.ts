// getApiClient: the providers' own SDKs (xero-node, intuit-oauth, openid-client) with their API
// calls sent through tokenService.fetch, against the simulator over HTTP with the limits in this
// test's PostgreSQL database. Each test makes the SDK's own token stale first (revoked at the
// provider): only the provider-call path (a 401, one refresh, the call again) can answer 200.
import * as oidc from "openid-client";
import { describe, expect, it } from "vitest";
import { type TokenMetrics } from "../src/metrics/token-metrics";
import { ProviderRegistry } from "../src/providers/registry";
import type { GenericOAuthClient } from "../src/providers/types";
import { type TokenService } from "../src/token-service";
import { simulatorOidcAdapter, type Harness } from "./harness";
import { useProviderCallServices } from "./provider-call-services";

let h: Harness;
let metrics: TokenMetrics;
let company: string;
const build = useProviderCallServices((context) => ({ h, metrics, company } = context));
const serviceWith = (providers?: ProviderRegistry) => build({ limits: { kind: "database" } }, providers);
const calls = async (provider: string) => {
  const sample = await metrics.registry.getSingleMetricAsString("tokenvault_provider_calls_total");
  return [...sample.matchAll(new RegExp(`provider="${provider}",outcome="success",status_class="2xx"} (\\d+)`, "g"))].reduce((n, m) => n + Number(m[1]), 0);
};
/** Revokes the connection's access tokens at the provider: the token the SDK client holds is refused from now on. */
async function revokeAccess(service: TokenService, provider: string) {
  const token = await service.getValidToken(company, provider, "alice");
  const grant = (await h.sim.listGrants({ token: token.accessToken }))[0]!;
  await h.sim.revokeAccessTokens(grant.id);
  return { grant, token };
}

describe("getApiClient", () => {
  it("xero-node: AccountingApi calls go through fetch (401 → one refresh, 503 retried); an error answer reaches the SDK as the provider's", async () => {
    const service = serviceWith();
    await h.connect(service, company, "xero");
    const { grant, token } = await revokeAccess(service, "xero");
    const xero = await service.getApiClient({ companyId: company, provider: "xero" });
    const refreshes = (await h.sim.getGrant(grant.id))!.counters.refreshSuccess;
    const before = await calls("xero");
    await h.sim.addFault({ kind: "error", provider: "xero", endpoint: "api", status: 503, count: 2 });
    const { response, body } = await xero.accountingApi.getOrganisations(token.externalId!);
    expect(response.status).toBe(200);
    expect(body.organisations![0]!.organisationID).toBe(token.externalId);
    expect((await h.sim.getGrant(grant.id))!.counters.refreshSuccess - refreshes).toBe(1);
    expect(await calls("xero")).toBe(before + 1);

    // The simulator has no Contacts: its 404 reaches the SDK as Xero's answer, without a token in it.
    const refused = await xero.accountingApi.getContacts(token.externalId!).then(() => null, (e: unknown) => e);
    expect(typeof refused).toBe("string"); // xero-node rejects with its ApiError as JSON
    expect(JSON.parse(refused as string)).toMatchObject({ response: { statusCode: 404 } });
    const fresh = await service.getValidToken(company, "xero", "alice");
    expect(refused as string).not.toContain(fresh.accessToken);
  });

  it("intuit-oauth: makeApiCall goes through fetch; a POST with requestid is retried through a 503", async () => {
    const service = serviceWith();
    await h.connect(service, company, "quickbooks");
    const { grant, token } = await revokeAccess(service, "quickbooks");
    const realm = token.externalId!;
    const qbo = await service.getApiClient({ companyId: company, provider: "quickbooks" });
    const base = `${h.sim.url}/intuit/v3/company/${realm}`;
    const info = await qbo.makeApiCall({ url: `${base}/companyinfo/${realm}` });
    expect(info.status).toBe(200);
    expect((info.json as { CompanyInfo: { Id: string } }).CompanyInfo.Id).toBe(realm);
    expect((await h.sim.getGrant(grant.id))!.counters.refreshSuccess).toBeGreaterThanOrEqual(1);

    const down = await h.sim.addFault({ kind: "error", provider: "intuit", endpoint: "api", status: 503, count: 2 });
    const created = await qbo.makeApiCall({ url: `${base}/invoice?requestid=inv-7`, method: "POST", body: { Line: [{ Amount: 5 }] } });
    expect(created.status).toBe(200);
    expect((await h.sim.listFaults()).some((f) => f.id === down.id)).toBe(false); // both 503s were answered: sent three times
    // Without requestid the same POST is sent once: the SDK gets the 503 as its own error.
    await h.sim.addFault({ kind: "error", provider: "intuit", endpoint: "api", status: 503, count: 1 });
    await expect(qbo.makeApiCall({ url: `${base}/invoice`, method: "POST", body: { Line: [] } })).rejects.toMatchObject({ code: "503" });
  });

  it("openid-client: fetchProtectedResource goes through fetch", async () => {
    const service = serviceWith(new ProviderRegistry([await simulatorOidcAdapter(h.sim.url)]));
    await h.connect(service, company, "acme-idp");
    await revokeAccess(service, "acme-idp");
    const client = (await service.getApiClient({ companyId: company, provider: "acme-idp" })) as GenericOAuthClient;
    const response = await oidc.fetchProtectedResource(client.configuration, client.tokenSet.access_token, new URL(`${h.sim.url}/oidc/userinfo`), "GET");
    expect(response.status).toBe(200);
  });
});
