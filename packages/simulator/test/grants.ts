import { INTUIT_CLIENT_ID, INTUIT_CLIENT_SECRET, intuitEndpoints, XERO_CLIENT_ID, XERO_CLIENT_SECRET, xeroEndpoints, type SimulatorControl } from "../src/index";

// Connects over plain HTTP (the simulator must auto-approve), for tests about the APIs rather than the flows.

const REDIRECT = "http://127.0.0.1:3000/callback";

export interface Tokens {
  access_token: string;
  refresh_token: string;
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;

async function codeFlow(authorize: string, token: string, clientId: string, clientSecret: string, scope: string): Promise<{ tokens: Tokens; redirect: URL }> {
  const url = new URL(authorize);
  url.search = new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT, response_type: "code", scope, state: "s" }).toString();
  const answer = await fetch(url, { redirect: "manual" });
  if (answer.status !== 302) throw new Error(`authorize answered ${answer.status}; is autoApprove on?`);
  const redirect = new URL(answer.headers.get("location")!);
  const code = redirect.searchParams.get("code");
  if (!code) throw new Error(`no code in ${redirect.toString()}`);
  const response = await fetch(token, {
    method: "POST",
    headers: { authorization: basic(clientId, clientSecret), "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: REDIRECT }),
  });
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${await response.text()}`);
  return { tokens: (await response.json()) as Tokens, redirect };
}

export interface XeroGrant extends Tokens {
  grantId: string;
  tenantIds: string[];
}

export async function connectXero(sim: SimulatorControl & { url: string }, client: { id: string; secret: string } = { id: XERO_CLIENT_ID, secret: XERO_CLIENT_SECRET }): Promise<XeroGrant> {
  const e = xeroEndpoints(sim.url);
  const { tokens } = await codeFlow(e.authorizeEndpoint, e.tokenEndpoint, client.id, client.secret, "offline_access accounting.settings");
  const [grant] = await sim.listGrants({ token: tokens.access_token });
  return { ...tokens, grantId: grant!.id, tenantIds: grant!.tenants.map((t) => t.tenantId) };
}

export interface IntuitGrant extends Tokens {
  grantId: string;
  realmId: string;
}

export async function connectIntuit(sim: SimulatorControl & { url: string }): Promise<IntuitGrant> {
  const e = intuitEndpoints(sim.url);
  const { tokens, redirect } = await codeFlow(e.authorizeEndpoint, e.tokenEndpoint, INTUIT_CLIENT_ID, INTUIT_CLIENT_SECRET, "com.intuit.quickbooks.accounting");
  const [grant] = await sim.listGrants({ token: tokens.access_token });
  return { ...tokens, grantId: grant!.id, realmId: redirect.searchParams.get("realmId")! };
}

export function organisation(sim: { url: string }, accessToken: string, tenantId: string): Promise<Response> {
  return fetch(xeroEndpoints(sim.url).organisation, { headers: { authorization: `Bearer ${accessToken}`, "xero-tenant-id": tenantId, accept: "application/json" } });
}

export function companyInfo(sim: { url: string }, accessToken: string, realmId: string): Promise<Response> {
  return fetch(intuitEndpoints(sim.url).companyInfo(realmId), { headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" } });
}

/** Refreshes with HTTP Basic client authentication, as both providers accept. */
export async function refresh(tokenEndpoint: string, clientId: string, clientSecret: string, refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(tokenEndpoint, {
    method: "POST",
    headers: { authorization: basic(clientId, clientSecret), "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
