import type OAuthClient from "intuit-oauth";
import type { XeroClient } from "xero-node";
import type { AuditTrail, SessionsEnded } from "./audit/audit-trail";
import type { ConnectionCheck } from "./checks/connection-check";
import type { ConnectFlow } from "./connect/connect-flow";
import type { ConnectionImport, ImportResult } from "./import/import-connection";
import type { ImportRecordInput } from "./import/import-record";
import type { ConnectionEditor } from "./connect/connection-editor";
import { disconnect, keepConnections } from "./connect/disconnect";
import type { ConnectionFilterInput, ConnectionSettingsInput, ConnectionSettingsView } from "./connections/connection-settings";
import { purgeExpiredOAuthStates } from "./connect/oauth-state-purge";
import type { RevocationQueue, RevocationRetryReport } from "./connect/revocation-queue";
import type { ConnectionSelector } from "./connections/connection-store";
import { failClosedOnDatabase } from "./database-unavailable";
import type { TokenServiceOptions } from "./options";
import type { CallBudget, ConnectionRef, ProviderClient, ProviderFetchInit } from "./provider-calls";
import { routeSdkThrough } from "./provider-calls/sdk-transport";
import { upkeepFactsOf, type UpkeepFacts } from "./providers/definitions";
import type { SdkClient } from "./providers/types";
import { refreshConnection, type ConnectionRefresh, type ConnectionRefreshOptions, type ConnectionRefreshReason } from "./refresh/connection-refresh";
import type { StaticSecretKind, StaticSecrets } from "./secrets/static-secrets";
import type { ServiceParts } from "./service-parts";
import { wireService, type ServiceWiring, type TokenServiceDeps } from "./service-wiring";
import type { ExpiringToken, TokenLifecycle } from "./tokens/token-lifecycle";
import type { TokenReader } from "./tokens/token-reader";
import type {
  AuthorizationRequest,
  CallbackResult,
  ConnectionGroup,
  ConnectionHealthView,
  ConnectionPageQuery,
  ConnectionView,
  GetValidTokenOptions,
  KeepConnectionsInput,
  KeptConnections,
  ProviderInfo,
  RequestContext,
  TokenStatus,
  ValidToken,
} from "./types";
import type { ConnectionViews } from "./views/connection-views";
import type { ConnectionHistoryDay, HistoryRange } from "./views/connection-history";

export type { TokenServiceDeps } from "./service-wiring";

/**
 * The token service's front door: the documented API, each method handed to the module named
 * after what it does (tokens/, views/, checks/, connect/, connections/, secrets/). It receives
 * every dependency as a plain value and builds its modules in service-wiring.ts;
 * `getTokenService()` in index.ts is only wiring. Over 300 lines on purpose: it is the one page
 * listing the whole API, each method a line or two with its contract; the work lives in the modules.
 */
export class TokenService {
  readonly options: TokenServiceOptions;
  /** The background worker's columns of each connection (failing days, incidents, warnings); a database outage is VAULT_UNAVAILABLE. */
  readonly upkeep: ServiceWiring["upkeep"];
  /** Per-company webhook endpoints and their delivery log (the dashboard and the worker use them); a database outage is VAULT_UNAVAILABLE. */
  readonly webhooks: ServiceWiring["webhooks"];
  /** Company API keys for /api/v1 (docs/http-api.md): created, listed, revoked, presented keys authenticated, calls audited. */
  readonly apiKeys: ServiceWiring["apiKeys"];
  /** A company's connections by id (/api/v1): another company's id is NOT_FOUND. */
  readonly companyConnections: ServiceWiring["companyConnections"];
  private readonly audit: AuditTrail;
  private readonly tokens: TokenReader;
  private readonly views: ConnectionViews;
  private readonly checks: ConnectionCheck;
  private readonly connectFlow: ConnectFlow;
  private readonly connectionImport: ConnectionImport;
  private readonly revocations: RevocationQueue;
  private readonly lifecycle: TokenLifecycle;
  private readonly staticSecrets: StaticSecrets;
  private readonly parts: ServiceParts;
  private readonly calls: ProviderClient;
  private readonly editor: ConnectionEditor;

  constructor(deps: TokenServiceDeps) {
    const wired = wireService(deps, { getValidToken: (target, options) => this.getValidToken(target, options) });
    ({
      options: this.options,
      parts: this.parts,
      audit: this.audit,
      tokens: this.tokens,
      views: this.views,
      checks: this.checks,
      connectFlow: this.connectFlow,
      connectionImport: this.connectionImport,
      revocations: this.revocations,
      lifecycle: this.lifecycle,
      staticSecrets: this.staticSecrets,
      calls: this.calls,
      editor: this.editor,
      webhooks: this.webhooks,
      upkeep: this.upkeep,
      apiKeys: this.apiKeys,
      companyConnections: this.companyConnections,
    } = wired);
  }

  // --- Tokens ------------------------------------------------------------------------------

  /**
   * A token that is valid now, refreshed first when it expires within the margin (or when
   * `forceRefresh` says the provider refused it). Exactly one refresh happens per expiry,
   * however many callers in however many processes ask.
   */
  async getValidToken(target: ConnectionSelector, options?: GetValidTokenOptions & { userId?: string }): Promise<ValidToken>;
  async getValidToken(companyId: string, provider: string, userId: string, options?: GetValidTokenOptions): Promise<ValidToken>;
  async getValidToken(...args: [ConnectionSelector, (GetValidTokenOptions & { userId?: string })?] | [string, string, string, GetValidTokenOptions?]): Promise<ValidToken> {
    const [selector, userId, options] = seedArgs(args);
    return failClosedOnDatabase(() => this.tokens.validTokenFor(selector, userId, options));
  }

  /**
   * A ready SDK client holding the current token set (a valid access token and the refresh
   * token): intuit-oauth's OAuthClient for QuickBooks, xero-node's XeroClient for Xero, and for
   * generic providers an openid-client Configuration with the token set. A fresh instance per
   * call: the SDKs keep token state on the instance, and a shared one would leak a company's
   * token to another. Never refresh through it (client.refresh(), refreshWithRefreshToken(),
   * refreshTokenGrant()): that bypasses the lease and the fence, the stored token goes stale and
   * a rotating provider revokes the grant on its reuse. Call getValidToken or this again instead.
   */
  async getOAuthClient(companyId: string, provider: "quickbooks" | "qbo", userId?: string): Promise<OAuthClient>;
  async getOAuthClient(companyId: string, provider: "xero", userId?: string): Promise<XeroClient>;
  async getOAuthClient(companyId: string, provider: string, userId?: string): Promise<SdkClient>;
  async getOAuthClient(target: ConnectionSelector, userId?: string): Promise<SdkClient>;
  async getOAuthClient(first: string | ConnectionSelector, second?: string, third?: string): Promise<SdkClient> {
    const [selector, userId] = typeof first === "string" ? [bySeed(first, second!), third ?? "system"] : [first, second ?? "system"];
    const read = await failClosedOnDatabase(() => this.tokens.read(selector, userId));
    return read.adapter.createSdkClient(this.tokens.tokenSet(read, { withRefreshToken: true }), this.options.redirectUriFor(read.adapter.id));
  }

  /**
   * What the connection has used of its provider's call budgets (Xero: 5,000 a day and 60 a
   * minute per organisation; QuickBooks: 500 a minute per realm), counted by the shared limits
   * across every process: e.g. `[{ name: "day", windowMs: 86_400_000, limit: 5000, used: 4800 }]`.
   */
  async callBudgets(connection: ConnectionRef): Promise<CallBudget[]> {
    return failClosedOnDatabase(() => this.calls.budgets(connection));
  }

  /**
   * The provider's SDK client for one connection with its API calls sent through `fetch` below
   * (docs/provider-calls.md, "SDK clients"): the current token injected on each call, the shared
   * limits, one refresh on a 401, the retry rules. Unlike getOAuthClient it holds no refresh
   * token: refreshing is the service's. xero-node's XeroClient, intuit-oauth's OAuthClient
   * (makeApiCall), or a generic provider's openid-client Configuration (fetchProtectedResource).
   */
  async getApiClient(target: ConnectionRef & { provider: "quickbooks" | "qbo" }, userId?: string): Promise<OAuthClient>;
  async getApiClient(target: ConnectionRef & { provider: "xero" }, userId?: string): Promise<XeroClient>;
  async getApiClient(target: ConnectionRef, userId?: string): Promise<SdkClient>;
  async getApiClient(target: ConnectionRef, userId = "system"): Promise<SdkClient> {
    const selector: ConnectionSelector = typeof target === "string" ? { connectionId: target } : target;
    const read = await failClosedOnDatabase(() => this.tokens.read(selector, userId));
    const client = await read.adapter.createSdkClient(this.tokens.tokenSet(read), this.options.redirectUriFor(read.adapter.id));
    const connectionId = read.connection.id;
    return routeSdkThrough(client, (url, init) => this.fetch(connectionId, url, { userId, ...init }));
  }

  /**
   * A call to the provider's API as the connection (docs/provider-calls.md): `pathOrUrl` below the
   * connection's API base (QuickBooks /v3/company/{realmId}, Xero's api.xro/2.0 with
   * xero-tenant-id), the current token injected. Paced by the provider's limits shared across
   * processes; a 401 refreshes once (one refresh for a herd) and retries; 429 and 5xx handled as
   * documented. Answers the provider's response (body read), or throws ProviderCallError
   * (RATE_LIMITED, PROVIDER_UNAVAILABLE, REAUTH_REQUIRED, PROVIDER_ERROR).
   */
  async fetch(connection: ConnectionRef, pathOrUrl: string, init?: ProviderFetchInit): Promise<Response> {
    return failClosedOnDatabase(() => this.calls.fetch(connection, pathOrUrl, init));
  }

  /** Forces a refresh now (admin action) and reports the resulting status. */
  async refreshNow(companyId: string, provider: string, context: RequestContext): Promise<TokenStatus>;
  async refreshNow(target: ConnectionSelector, context: RequestContext): Promise<TokenStatus>;
  async refreshNow(...args: [string, string, RequestContext] | [ConnectionSelector, RequestContext]): Promise<TokenStatus> {
    const [selector, context] = args.length === 3 ? [bySeed(args[0], args[1]), args[2]] : args;
    return failClosedOnDatabase(async () => {
      const read = await this.tokens.read(selector, context.userId, { forceRefresh: true });
      return this.views.status({ connectionId: read.connection.id });
    });
  }

  /**
   * The background worker's refresh of the connection its job names, read once by id: refreshed
   * inside the margin (refresh-ahead) or forced (keep-alive), with the exactly-once guarantees of
   * getValidToken, and answered with what happened and the new expiry (see ConnectionRefresh), so
   * the caller reads nothing back. NO_TOKEN when the id names no connection; a database outage
   * is VAULT_UNAVAILABLE.
   */
  async refreshConnection(connectionId: string, reason: ConnectionRefreshReason, options: ConnectionRefreshOptions = {}): Promise<ConnectionRefresh> {
    return failClosedOnDatabase(() => refreshConnection(this.parts, (adapter, connection, request) => this.tokens.ensureFresh(adapter, connection, request), connectionId, reason, options));
  }

  /** Vault secrets whose expiry falls before now + `withinMinutes`. Metadata only, never values. */
  async findExpiringTokens(withinMinutes: number, provider?: string): Promise<ExpiringToken[]> {
    return failClosedOnDatabase(() => this.lifecycle.findExpiring(withinMinutes, provider));
  }

  /** Marks one vault secret unusable (e.g. the provider reported it compromised). */
  async markTokenInvalid(id: string, reason: string): Promise<void> {
    return failClosedOnDatabase(() => this.lifecycle.markInvalid(id, reason));
  }

  // --- Views (the database only; never a provider) -----------------------------------------

  /** The idle lifetimes and concurrency limits of this deployment's providers, which the worker schedules by. */
  providerUpkeepFacts(): UpkeepFacts {
    return upkeepFactsOf(this.parts.providers.list());
  }

  async listProviders(): Promise<ProviderInfo[]> {
    return Promise.resolve(this.views.listProviders());
  }

  /** NO_TOKEN status when the company has no connection of the provider; AMBIGUOUS_CONNECTION when it has several and none is named. */
  async getTokenStatus(companyId: string, provider: string): Promise<TokenStatus>;
  async getTokenStatus(target: ConnectionSelector): Promise<TokenStatus>;
  async getTokenStatus(first: string | ConnectionSelector, provider?: string): Promise<TokenStatus> {
    const selector = typeof first === "string" ? bySeed(first, provider!) : first;
    return failClosedOnDatabase(() => this.views.status(selector));
  }

  /**
   * Every connection of the company (with its id), and one not-connected view per provider it has
   * none of. `filter`: only connections with every tag named and each metadata key equal to its
   * value (no placeholders then); a malformed filter is INVALID_INPUT.
   */
  async listConnections(companyId: string, filter?: ConnectionFilterInput): Promise<ConnectionView[]> {
    return failClosedOnDatabase(() => this.views.list(companyId, filter));
  }

  /**
   * One page of each provider's connections of the company, searchable by name or external id,
   * with the counts a pager needs (see ConnectionPageQuery). For companies with many connections;
   * listConnections still answers every one.
   */
  async listConnectionPage(companyId: string, query: ConnectionPageQuery = {}): Promise<ConnectionGroup[]> {
    return failClosedOnDatabase(() => this.views.page(companyId, query));
  }

  /**
   * Refreshes and live checks per UTC day (counts by outcome, mean latency) over the last 7 or 30 days, from the audit log:
   * of one connection (its checks and its grant's refreshes; scoped by `companyId` when given: another company's id is NOT_FOUND),
   * or of a company's connections of a provider.
   */
  async connectionHistory(target: { connectionId: string; companyId?: string }, days: HistoryRange): Promise<ConnectionHistoryDay[]>;
  async connectionHistory(companyId: string, provider: string, days: HistoryRange): Promise<ConnectionHistoryDay[]>;
  async connectionHistory(...args: [{ connectionId: string; companyId?: string }, HistoryRange] | [string, string, HistoryRange]): Promise<ConnectionHistoryDay[]> {
    const [target, days] = args.length === 3 ? [{ companyId: args[0], provider: args[1] }, args[2]] : args;
    return failClosedOnDatabase(() => this.views.history(target, days));
  }

  async listConnectionHealth(companyId: string): Promise<(ConnectionHealthView & { connectionType: string; connectionId: string })[]> {
    return failClosedOnDatabase(() => this.views.health(companyId));
  }

  // --- Connect, check, disconnect ----------------------------------------------------------

  /**
   * A consent URL with a one-time state bound to this user, company and provider (and PKCE
   * where taken). The redirect URI defaults to this deployment's callback for the provider.
   * `scopes`: extras for this one connection, each among the provider's optional scopes
   * (listProviders); the configured scopes are always asked for too. The connection records the
   * requested set and what the provider granted. A bad or undeclared scope is INVALID_INPUT, nothing stored.
   */
  async getAuthorizationUrl(input: { companyId: string; provider: string; userId: string; redirectUri?: string; scopes?: readonly string[] }): Promise<AuthorizationRequest> {
    const adapter = this.parts.providers.get(input.provider);
    return failClosedOnDatabase(() => this.connectFlow.authorizationUrl(adapter, { ...input, redirectUri: input.redirectUri ?? this.options.redirectUriFor(adapter.id) }));
  }

  /** The provider's redirect back: see ConnectFlow.callback. */
  /** `tenantIds`: the organisations an admin chose to connect (Xero; default: every one the consent granted). */
  async handleCallback(input: { provider: string; callbackUrl: string; companyId: string; context: RequestContext; tenantIds?: readonly string[] }): Promise<CallbackResult> {
    return failClosedOnDatabase(() => this.connectFlow.callback(this.parts.providers.get(input.provider), input));
  }

  /**
   * Imports tokens issued elsewhere (docs/importing.md): verified at the provider (an identity
   * call with a live access token, else one refresh), then stored as a consent is (sealed, an
   * IMPORT audit row, `connection.created` webhooks). The same record again is `already present`
   * with no provider call; a refused one changes nothing and throws the provider's reason, typed.
   */
  async importConnection(input: ImportRecordInput, context: RequestContext): Promise<ImportResult> {
    return failClosedOnDatabase(() => this.connectionImport.run(input, context));
  }

  /** A live API call with a valid token; its outcome becomes the connection's health. */
  async checkConnection(companyId: string, provider: string, context: RequestContext): Promise<ConnectionHealthView>;
  async checkConnection(target: ConnectionSelector, context: RequestContext): Promise<ConnectionHealthView>;
  async checkConnection(...args: [string, string, RequestContext] | [ConnectionSelector, RequestContext]): Promise<ConnectionHealthView> {
    const [selector, context] = args.length === 3 ? [bySeed(args[0], args[1]), args[2]] : args;
    return failClosedOnDatabase(() => this.checks.run(selector, context));
  }

  /**
   * Removes the connection; when it was its grant's last, revokes the grant at the provider first and removes it with its secrets.
   * A Xero organisation whose grant still serves others leaves it at Xero (DELETE /connections/{id}) and the grant stays.
   */
  async disconnect(companyId: string, provider: string, context: RequestContext): Promise<void>;
  async disconnect(target: ConnectionSelector, context: RequestContext): Promise<void>;
  async disconnect(...args: [string, string, RequestContext] | [ConnectionSelector, RequestContext]): Promise<void> {
    const [selector, context] = args.length === 3 ? [bySeed(args[0], args[1]), args[2]] : args;
    const accessTokenOf = async (connectionId: string) => this.tokens.validToken(await this.tokens.read({ connectionId }, context.userId, { context })).accessToken;
    return failClosedOnDatabase(() => disconnect(this.parts, selector, context, accessTokenOf));
  }

  /**
   * The organisation picker's answer: the offered connections not kept are disconnected one by one
   * (as disconnect, scoped to `companyId`: another company's id is NOT_FOUND), stopping at the first
   * failure; a kept id that was not offered is INVALID_INPUT and changes nothing.
   */
  async keepConnections(input: KeepConnectionsInput, context: RequestContext): Promise<KeptConnections> {
    return keepConnections(input, (connectionId) => this.disconnect({ connectionId, companyId: input.companyId }, context));
  }

  /** An admin's name (null or "" clears it), tags and metadata of the connection; bad input is INVALID_INPUT and changes nothing. Audited (UPDATE). */
  async updateConnection(target: ConnectionSelector, settings: ConnectionSettingsInput, context: RequestContext): Promise<ConnectionSettingsView> {
    return failClosedOnDatabase(() => this.editor.update(target, settings, context));
  }

  /**
   * Pauses the connection without deleting or revoking anything: until enableConnection, reads
   * (getValidToken, fetch, getOAuthClient, checkConnection, refreshNow) fail with
   * CONNECTION_DISABLED and the worker neither refreshes nor keeps its grant alive (unless another
   * enabled connection shares the grant), so a long pause can let the provider end the grant.
   * Audited (DISABLE); webhook connection.disabled. Pausing a paused connection changes nothing.
   */
  async disableConnection(target: ConnectionSelector, context: RequestContext): Promise<ConnectionSettingsView> {
    return failClosedOnDatabase(() => this.editor.setDisabled(target, true, context));
  }

  /** Resumes a paused connection: its tokens are served and kept fresh again. Audited (ENABLE); webhook connection.enabled. */
  async enableConnection(target: ConnectionSelector, context: RequestContext): Promise<ConnectionSettingsView> {
    return failClosedOnDatabase(() => this.editor.setDisabled(target, false, context));
  }

  /**
   * Retries the revocations a reconnect could not complete (the provider refused or was
   * unreachable): every PendingRevocation row that is due, oldest first, at most `limit`. A row
   * is removed only once the provider confirms; a failure is audited and retried later with
   * back-off (1 min doubling to 6 h). Safe to run from several processes at once: rows are
   * claimed with SKIP LOCKED. Meant to be scheduled by the background worker (every few minutes).
   */
  async retryPendingRevocations(limit = 100): Promise<RevocationRetryReport> {
    return this.revocations.retryDue(limit);
  }

  /**
   * Deletes expired OAuthState rows (unused ones at once, used ones an hour after expiry, so a
   * replayed code is still recognised). Returns how many went. Each connect also purges one
   * small batch; the background worker should call this periodically (e.g. hourly).
   */
  async purgeExpiredOAuthStates(): Promise<number> {
    return purgeExpiredOAuthStates(this.parts.prisma, this.parts.clock.now());
  }

  // --- Static secrets ----------------------------------------------------------------------

  /** Stores a static secret (API key, webhook secret) through the vault, with an audit row in the same transaction. */
  async storeSecret(input: { companyId: string; provider: string; kind: StaticSecretKind; value: string; userId: string; externalId?: string }): Promise<void> {
    return failClosedOnDatabase(() => this.staticSecrets.store(input));
  }

  /** Reads a static secret. NO_TOKEN when absent; DecryptionError (DECRYPTION_FAILED) when it cannot be opened. */
  async getSecret(companyId: string, provider: string, kind: StaticSecretKind, externalId = ""): Promise<string> {
    return failClosedOnDatabase(() => this.staticSecrets.get(companyId, provider, kind, externalId));
  }

  /** Records that someone exported the company's audit log (who, when, with which filters). */
  async recordAuditExport(companyId: string, context: RequestContext, filters: Record<string, string | number | boolean | null>): Promise<void> {
    return failClosedOnDatabase(() => this.audit.recordExport(companyId, context, filters, this.parts.clock.now()));
  }

  /** Audit retention: removes audit rows older than `olderThan` (purge_audit_log). Returns how many. */
  async purgeAuditLog(olderThan: Date): Promise<number> {
    return this.audit.purgeOlderThan(olderThan);
  }

  /** Records that sign-in sessions were ended (the web app's sessions; see AuditTrail.recordSessionsEnded). */
  async recordSessionsEnded(companyId: string, context: RequestContext, ended: SessionsEnded): Promise<void> {
    return this.audit.recordSessionsEnded(companyId, context, ended, this.parts.clock.now());
  }

  // --- Lifecycle -----------------------------------------------------------------------------

  /**
   * At shutdown: waits for background refreshes (up to `backgroundWaitMs`, then abandons them:
   * their leases lapse and the fence keeps any late write out), then writes queued audit rows
   * (token reads). The process that owns the service calls it.
   */
  async close(backgroundWaitMs = 5_000): Promise<void> {
    await this.tokens.close(backgroundWaitMs);
    await this.calls.close();
    await this.parts.events?.close();
    await this.audit.flush();
  }

  /**
   * Resolves when the refreshes started in the background so far have settled (a caller inside
   * the refresh margin gets the still-valid token at once while one refresh runs behind it).
   */
  async idle(): Promise<void> {
    return this.tokens.idle();
  }

  /** True while the LISTEN connection is up: waiters are woken by NOTIFY rather than polling. */
  get listening(): boolean {
    return this.parts.events?.up ?? false;
  }

  /** True while warm getValidToken calls can be served from the token cache (enabled, and the listener is up). */
  get cachingTokens(): boolean {
    return this.parts.cache?.active ?? false;
  }

  /** Audit rows still queued (tests and shutdown). */
  get pendingAuditRows(): number {
    return this.audit.pending;
  }
}

/** The seed signatures' (companyId, provider): the company's one connection of the provider (AMBIGUOUS_CONNECTION when it has several). */
function bySeed(companyId: string, provider: string): ConnectionSelector {
  return { companyId, provider };
}

/** getValidToken's two forms, as (selector, userId, options): the object form's user is `options.userId` (default "system"). */
function seedArgs(args: [ConnectionSelector, (GetValidTokenOptions & { userId?: string })?] | [string, string, string, GetValidTokenOptions?]): [ConnectionSelector, string, GetValidTokenOptions] {
  if (typeof args[0] !== "string") {
    const [selector, options = {}] = args as [ConnectionSelector, (GetValidTokenOptions & { userId?: string })?];
    const { userId = "system", ...rest } = options;
    return [selector, userId, rest];
  }
  const [companyId, provider, userId, options = {}] = args as [string, string, string, GetValidTokenOptions?];
  return [bySeed(companyId, provider), userId, options];
}
