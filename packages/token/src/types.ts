import type { AuditLog, HealthStatus } from "@tokenvault/db";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** An admin's own facts about a connection. Never a secret: it is shown to every member and sent over /api/v1. */
export type ConnectionUserMetadata = Record<string, JsonValue>;

/** "quickbooks", "xero", or the id of a configured generic OAuth 2.0 / OpenID Connect provider. */
export type ProviderId = string;

/** Who asked, for the audit log. Never holds a secret. */
export interface RequestContext {
  userId: string;
  ipAddress?: string | null;
  userAgent?: string | null;
}

export interface ValidToken {
  accessToken: string;
  tokenType: "Bearer";
  expiresAt: Date;
  provider: ProviderId;
  /** QuickBooks realmId, Xero tenantId (the organisation this connection reaches), or null. */
  externalId: string | null;
  /** Xero: every tenant the connection's grant (one consent) covers. */
  tenants: ProviderTenant[];
  /** The connection read. */
  connectionId: string;
  companyId: string;
}

export interface ProviderTenant {
  id: string;
  name: string;
}

export interface GetValidTokenOptions {
  /** Refresh even if the token looks valid, e.g. after the provider answered 401. */
  forceRefresh?: boolean;
  /**
   * With forceRefresh: the access token the provider refused. The refresh happens only while the
   * stored token is still this one (checked under the lease); when someone already replaced it,
   * the newer token is returned without another provider call (a herd of 401s: one refresh).
   */
  rejectedAccessToken?: string;
  /** Refresh when the token expires within this many ms. Default: the service's margin (5 minutes). */
  refreshMarginMs?: number;
  /** Where the call came from: the client address and user agent its audit rows (TOKEN_READ, REFRESH) record. */
  context?: Pick<RequestContext, "ipAddress" | "userAgent">;
}

export type TokenStatusCode = "VALID" | "EXPIRED" | "NO_TOKEN" | "ERROR";

export interface TokenStatus {
  status: TokenStatusCode;
  /** Safe to show a person. */
  message: string;
  accessTokenExpiresAt: Date | null;
  refreshTokenExpiresAt: Date | null;
  lastRefreshedAt: Date | null;
}

export interface ConnectionHealthView {
  status: HealthStatus;
  lastChecked: Date;
  errorMessage: string | null;
}

export interface ProviderInfo {
  id: ProviderId;
  displayName: string;
  /** Asked for on every connect. */
  scopes: string[];
  /** What a connect may add (getAuthorizationUrl's `scopes`); empty: nothing. */
  optionalScopes: string[];
}

/** Everything the dashboard shows for one provider of one company. No secret in it. */
export interface ConnectionView extends TokenStatus {
  provider: ProviderId;
  displayName: string;
  connected: boolean;
  /** The connection's id; null in the one view of a provider the company has no connection of. */
  connectionId: string | null;
  /** The organisation's or company's name as the provider gave it, when it gave one. */
  name: string | null;
  externalId: string | null;
  tenants: ProviderTenant[];
  connectedBy: string | null;
  connectedAt: Date | null;
  health: ConnectionHealthView | null;
  /** When the grant ends however often it is refreshed (Intuit's 5-year cap), when the provider said. */
  refreshTokenHardExpiresAt: Date | null;
  /** The hard expiry once it is within 30 days: the dashboard's "Reconnect before DATE". */
  reconnectBefore: Date | null;
  /** Calendar days on which the background worker's refreshes failed, in a row; 0 when healthy. */
  failureStreakDays: number;
  /** Too many failing days: no automatic refresh until a person reconnects or refreshes. */
  exhausted: boolean;
  /** When the background worker refreshes it next (refresh-ahead or keep-alive; may be past: the next scan); null: it will not. */
  nextRefreshAt: Date | null;
  /** The name an admin gave it (then also `name`); null: none. */
  customName: string | null;
  /** An admin's labels: lowercase, sorted. */
  tags: string[];
  /** An admin's own facts about it (a JSON object, at most 8 KiB). */
  metadata: ConnectionUserMetadata;
  /** The scopes the consent asked for, and those the provider granted. */
  requestedScopes: string[];
  grantedScopes: string[];
  /** Paused by an admin: no token is served, the worker neither refreshes nor keeps it alive. */
  disabled: boolean;
  disabledAt: Date | null;
  disabledBy: string | null;
  /**
   * When the provider ends the grant if nothing refreshes it (its idle lifetime: Xero 60 days,
   * QuickBooks 100), should this connection be paused (or while it is): null when pausing does not
   * risk it (another enabled connection of the same grant keeps it alive, or no usable grant).
   */
  idleExpiryIfPaused: Date | null;
}

export interface AuthorizationRequest {
  url: string;
  expiresAt: Date;
}

export interface CallbackResult {
  provider: ProviderId;
  companyId: string;
  /** The first connection's external id (the realm; the first organisation chosen), or null. */
  externalId: string | null;
  /** Every connection the consent created or re-pointed, in the provider's order. */
  connections: { id: string; externalId: string | null; displayName: string }[];
}

/** One audit log row as stored: the Prisma model is the single declaration of its shape. */
export type AuditEntry = AuditLog;

/** What a page of a company's connections asks for (listConnectionPage). */
export interface ConnectionPageQuery {
  /** Only these providers' groups (default: every provider of the deployment). */
  providers?: readonly string[];
  /** Only these connections (at most 100 ids; ids of another company match nothing). */
  connectionIds?: readonly string[];
  /** Matches a connection's name (an admin's or the provider's) or external id (realm, tenant) case-insensitively as plain text (% and _ are not wildcards), or one of its tags whole. */
  search?: string;
  /** Each provider's first row (default 0). */
  offsets?: Readonly<Record<string, number>>;
  /** Rows per provider, 1 to 100 (default 20). */
  limit?: number;
}

/** One provider's page of a company's connections, oldest first. */
export interface ConnectionGroup {
  provider: ProviderId;
  displayName: string;
  /** Every connection the company has of the provider. */
  count: number;
  /** Those the search matches (all of them without one). */
  total: number;
  offset: number;
  limit: number;
  /** The page; with no connection of the provider at all, its one not-connected view. */
  connections: ConnectionView[];
}

/** The organisation picker's choice: of the connections one consent made, the ones to keep (the rest are disconnected). */
export interface KeepConnectionsInput {
  companyId: string;
  offered: readonly string[];
  keep: readonly string[];
}

/** What keepConnections left: the offered connections still there, and those it disconnected. */
export interface KeptConnections {
  kept: string[];
  removed: string[];
}
