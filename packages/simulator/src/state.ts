import type { Provider } from "./clients";
import { recordId, uuid } from "./ids";

/** A Xero organisation connected to an authorization. */
export interface Tenant {
  connectionId: string;
  tenantId: string;
  tenantName: string;
  createdAt: number;
  updatedAt: number;
}

/** A QuickBooks company offered on the consent page. */
export interface Company {
  realmId: string;
  name: string;
}

/** What the consent page was opened with, kept until the user decides. */
export interface AuthorizationRequest {
  id: string;
  provider: Provider;
  clientId: string;
  redirectUri: string;
  scope: string[];
  state: string | undefined;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  companies: Company[];
  tenants: Array<{ tenantId: string; tenantName: string }>;
  createdAt: number;
  expiresAt: number;
  decided: boolean;
}

export interface AuthorizationCode {
  value: string;
  provider: Provider;
  clientId: string;
  redirectUri: string;
  scope: string[];
  nonce: string | undefined;
  codeChallenge: string | undefined;
  subject: string;
  realmId: string | undefined;
  tenants: Array<{ tenantId: string; tenantName: string }>;
  authTime: number;
  createdAt: number;
  expiresAt: number;
  usedAt: number | undefined;
  /** The grant the first exchange created, revoked if the code is replayed. */
  grantId: string | undefined;
}

export interface RefreshTokenRecord {
  id: string;
  value: string;
  grantId: string;
  issuedAt: number;
  expiresAt: number;
  /** When a newer value replaced this one. */
  supersededAt: number | undefined;
  /** Until when this superseded value is still accepted. */
  graceUntil: number | undefined;
  firstUsedAt: number | undefined;
}

export interface AccessTokenRecord {
  id: string;
  value: string;
  grantId: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt: number | undefined;
}

export interface GrantCounters {
  refreshSuccess: number;
  refreshFailed: number;
  invalidGrant: number;
}

export type RevokeReason = "client_revocation" | "provider_revocation" | "code_reuse" | "refresh_token_reuse" | "hard_expiry";

/** One authorization: what a code exchange creates and refreshes keep alive. */
export interface Grant {
  id: string;
  provider: Provider;
  clientId: string;
  subject: string;
  scope: string[];
  nonce: string | undefined;
  authTime: number;
  createdAt: number;
  hardExpiresAt: number | undefined;
  revokedAt: number | undefined;
  revokedReason: RevokeReason | undefined;
  realmId: string | undefined;
  authEventId: string;
  tenants: Tenant[];
  currentRefreshTokenId: string | undefined;
  refreshTokens: RefreshTokenRecord[];
  accessTokens: AccessTokenRecord[];
  counters: GrantCounters;
}

export interface ProviderStats {
  tokenEndpointCalls: number;
  refreshSuccess: number;
  refreshFailed: number;
  invalidGrant: number;
  reuseDetected: number;
  codeReuse: number;
  droppedResponses: number;
  faultsInjected: number;
  /** Tokens the client_credentials grant issued. */
  clientCredentialsIssued: number;
}

export interface ClientCounters {
  provider: Provider;
  clientId: string;
  clientCredentialsIssued: number;
}

export interface Stats {
  totals: ProviderStats;
  providers: Record<Provider, ProviderStats>;
  grants: Record<string, GrantCounters & { provider: Provider; clientId: string }>;
  /** Per client, keyed `<provider>/<clientId>`: lets tests sharing a simulator count their own client's mints. */
  clients: Record<string, ClientCounters>;
}

function zeroStats(): ProviderStats {
  return { tokenEndpointCalls: 0, refreshSuccess: 0, refreshFailed: 0, invalidGrant: 0, reuseDetected: 0, codeReuse: 0, droppedResponses: 0, faultsInjected: 0, clientCredentialsIssued: 0 };
}

export type StatName = keyof ProviderStats;

/** All mutable OAuth state, in memory. Lookups by token value go through maps so spent tokens stay recognisable. */
export class Store {
  readonly requests = new Map<string, AuthorizationRequest>();
  readonly codes = new Map<string, AuthorizationCode>();
  readonly grants = new Map<string, Grant>();
  private readonly refreshByValue = new Map<string, RefreshTokenRecord>();
  private readonly accessByValue = new Map<string, AccessTokenRecord>();
  private providerStats: Record<Provider, ProviderStats> = { intuit: zeroStats(), xero: zeroStats(), oidc: zeroStats() };
  private clientCounters = new Map<string, ClientCounters>();

  reset(): void {
    this.clientCounters.clear();
    this.requests.clear();
    this.codes.clear();
    this.grants.clear();
    this.refreshByValue.clear();
    this.accessByValue.clear();
    this.providerStats = { intuit: zeroStats(), xero: zeroStats(), oidc: zeroStats() };
  }

  count(provider: Provider, stat: StatName, grant?: Grant): void {
    this.providerStats[provider][stat] += 1;
    if (!grant) return;
    if (stat === "refreshSuccess" || stat === "refreshFailed" || stat === "invalidGrant") grant.counters[stat] += 1;
  }

  /** Counts a client_credentials token, for its provider and its client. */
  countClientCredentials(provider: Provider, clientId: string): void {
    this.count(provider, "clientCredentialsIssued");
    const key = `${provider}/${clientId}`;
    const counters = this.clientCounters.get(key) ?? { provider, clientId, clientCredentialsIssued: 0 };
    counters.clientCredentialsIssued += 1;
    this.clientCounters.set(key, counters);
  }

  createGrant(code: AuthorizationCode, now: number, hardLifetimeMs: number | undefined): Grant {
    const grant: Grant = {
      id: recordId("grant"),
      provider: code.provider,
      clientId: code.clientId,
      subject: code.subject,
      scope: code.scope,
      nonce: code.nonce,
      authTime: code.authTime,
      createdAt: now,
      hardExpiresAt: hardLifetimeMs === undefined ? undefined : now + hardLifetimeMs,
      revokedAt: undefined,
      revokedReason: undefined,
      realmId: code.realmId,
      authEventId: uuid(),
      tenants: code.tenants.map((t) => ({ ...t, connectionId: uuid(), createdAt: now, updatedAt: now })),
      currentRefreshTokenId: undefined,
      refreshTokens: [],
      accessTokens: [],
      counters: { refreshSuccess: 0, refreshFailed: 0, invalidGrant: 0 },
    };
    this.grants.set(grant.id, grant);
    return grant;
  }

  /** A client_credentials grant: the client acting for itself, no user, no refresh token. */
  createMachineGrant(provider: Provider, clientId: string, scope: string[], now: number): Grant {
    const code: AuthorizationCode = {
      value: "",
      provider,
      clientId,
      redirectUri: "",
      scope,
      nonce: undefined,
      codeChallenge: undefined,
      subject: clientId,
      realmId: undefined,
      tenants: [],
      authTime: now,
      createdAt: now,
      expiresAt: now,
      usedAt: now,
      grantId: undefined,
    };
    return this.createGrant(code, now, undefined);
  }

  issueAccessToken(grant: Grant, value: string, now: number, ttlMs: number): AccessTokenRecord {
    const record: AccessTokenRecord = { id: recordId("at"), value, grantId: grant.id, issuedAt: now, expiresAt: now + ttlMs, revokedAt: undefined };
    grant.accessTokens.push(record);
    this.accessByValue.set(value, record);
    return record;
  }

  issueRefreshToken(grant: Grant, value: string, now: number, expiresAt: number): RefreshTokenRecord {
    const record: RefreshTokenRecord = {
      id: recordId("rt"),
      value,
      grantId: grant.id,
      issuedAt: now,
      expiresAt,
      supersededAt: undefined,
      graceUntil: undefined,
      firstUsedAt: undefined,
    };
    grant.refreshTokens.push(record);
    grant.currentRefreshTokenId = record.id;
    this.refreshByValue.set(value, record);
    return record;
  }

  currentRefreshToken(grant: Grant): RefreshTokenRecord | undefined {
    return grant.refreshTokens.find((t) => t.id === grant.currentRefreshTokenId);
  }

  findRefreshToken(value: string | undefined): { grant: Grant; token: RefreshTokenRecord } | undefined {
    const token = value === undefined ? undefined : this.refreshByValue.get(value);
    const grant = token && this.grants.get(token.grantId);
    return grant && token ? { grant, token } : undefined;
  }

  findAccessToken(value: string | undefined): { grant: Grant; token: AccessTokenRecord } | undefined {
    const token = value === undefined ? undefined : this.accessByValue.get(value);
    const grant = token && this.grants.get(token.grantId);
    return grant && token ? { grant, token } : undefined;
  }

  revokeGrant(grant: Grant, reason: RevokeReason, now: number): void {
    if (grant.revokedAt !== undefined) return;
    grant.revokedAt = now;
    grant.revokedReason = reason;
    // Revoking an authorization disconnects its organisations (Xero removes the connections).
    grant.tenants = [];
  }

  stats(): Stats {
    const totals = zeroStats();
    for (const stats of Object.values(this.providerStats)) {
      for (const key of Object.keys(totals) as StatName[]) totals[key] += stats[key];
    }
    const grants: Stats["grants"] = {};
    for (const grant of this.grants.values()) grants[grant.id] = { ...grant.counters, provider: grant.provider, clientId: grant.clientId };
    return { totals, providers: structuredClone(this.providerStats), grants, clients: Object.fromEntries([...this.clientCounters].map(([key, c]) => [key, { ...c }])) };
  }
}
