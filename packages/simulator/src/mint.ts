// Grants minted in bulk (POST /__sim/grants/mint): what an app that already holds tokens from
// elsewhere presents to Tokenvault's import. Each grant is what a consent would have made (its
// realm or organisations, a refresh token, optionally a live access token), without the consent
// page and the code exchange, so a test or a bench can hold 10,000 of them in a second or so.
import { DEFAULT_CLIENTS, type Provider } from "./clients";
import type { RequestContext, SimState } from "./context";
import { HttpError } from "./http";
import { realmId, uuid } from "./ids";
import { intuitPolicy } from "./intuit";
import { oidcPolicy } from "./oidc";
import type { AuthorizationCode } from "./state";
import type { ProviderPolicy } from "./tokens";
import { xeroPolicy } from "./xero";

const POLICIES: Record<Provider, ProviderPolicy> = { intuit: intuitPolicy, xero: xeroPolicy, oidc: oidcPolicy };

/** The most grants one request mints (a bench asks for 10,000 in one go). */
export const MAX_MINTED = 20_000;

export interface MintGrantsInput {
  provider: Provider;
  count: number;
  /** Default: the provider's default client (the one Tokenvault's simulated adapters use). */
  clientId?: string;
  /** Xero: organisations per grant (default 1). */
  tenantsPerGrant?: number;
  /** Default: what the provider's consent grants Tokenvault. */
  scope?: string[];
  /** Also issue a live access token (default true); false: the refresh token only. */
  accessToken?: boolean;
}

/** One minted grant with its token values: the only control answer that carries tokens (there is no consent to get them from). */
export interface MintedGrant {
  grantId: string;
  realmId: string | undefined;
  tenants: { tenantId: string; tenantName: string }[];
  refreshToken: string;
  refreshTokenExpiresAt: string;
  accessToken: string | undefined;
  accessTokenExpiresAt: string | undefined;
}

const DEFAULT_SCOPES: Record<Provider, string[]> = {
  intuit: ["com.intuit.quickbooks.accounting", "openid"],
  xero: ["offline_access", "accounting.settings.read"],
  oidc: ["openid", "offline_access"],
};

export async function mintGrants(state: SimState, input: MintGrantsInput): Promise<MintedGrant[]> {
  const policy = POLICIES[input.provider];
  const client = state.clients.get(input.provider, input.clientId ?? DEFAULT_CLIENTS[input.provider].clientId);
  if (!client) throw new HttpError(400, "invalid_request", `no ${input.provider} client "${input.clientId}"`);
  if (!Number.isInteger(input.count) || input.count < 1 || input.count > MAX_MINTED) throw new HttpError(400, "invalid_request", `count must be 1 to ${MAX_MINTED}`);
  // The policies build values from a request's state only (Xero signs its JWT access tokens with the simulator's keys).
  const ctx = { sim: state } as RequestContext;
  const minted: MintedGrant[] = [];
  for (let i = 0; i < input.count; i++) {
    const now = state.clock.now();
    const realm = input.provider === "intuit" ? realmId() : undefined;
    const tenants = input.provider === "xero" ? Array.from({ length: input.tenantsPerGrant ?? 1 }, (_, n) => ({ tenantId: uuid(), tenantName: `Minted organisation ${n + 1}` })) : [];
    const code: AuthorizationCode = {
      value: "",
      provider: input.provider,
      clientId: client.clientId,
      redirectUri: "",
      scope: input.scope ?? DEFAULT_SCOPES[input.provider],
      nonce: undefined,
      codeChallenge: undefined,
      subject: state.users[input.provider].sub,
      realmId: realm,
      tenants,
      authTime: now,
      createdAt: now,
      expiresAt: now,
      usedAt: now,
      grantId: undefined,
    };
    const grant = state.store.createGrant(code, now, policy.hardLifetimeMs);
    const refresh = state.store.issueRefreshToken(grant, policy.newRefreshValue(), now, Math.min(now + policy.refreshTtlMs, grant.hardExpiresAt ?? Number.POSITIVE_INFINITY));
    const ttlMs = client.accessTokenTtlSec !== undefined ? client.accessTokenTtlSec * 1000 : policy.accessTtlMs;
    const access = input.accessToken === false ? undefined : state.store.issueAccessToken(grant, await policy.newAccessValue(ctx, grant), now, ttlMs);
    minted.push({
      grantId: grant.id,
      realmId: realm,
      tenants: tenants.map((t) => ({ ...t })),
      refreshToken: refresh.value,
      refreshTokenExpiresAt: new Date(refresh.expiresAt).toISOString(),
      accessToken: access?.value,
      accessTokenExpiresAt: access ? new Date(access.expiresAt).toISOString() : undefined,
    });
  }
  return minted;
}

