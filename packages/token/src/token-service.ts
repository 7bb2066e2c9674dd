import type { HealthStatus, PrismaClient, TokenKind } from "@tokenvault/db";
import { AuditTrail } from "./audit-trail";
import { systemClock, type Clock } from "./clock";
import { ConnectFlow } from "./connect-flow";
import { ConnectionStore, metadataOf, secretOf, type ConnectionWithSecrets } from "./connection-store";
import { TokenError, type Vault } from "@tokenvault/vault";
import { recordHealth } from "./health";
import { consoleLogger, type Logger } from "./logger";
import { DEFAULT_RETRY } from "./oauth/retry";
import { ProviderCallError, providerFetch, revokeToken, toTokenError } from "./oauth/token-client";
import type { ProviderRegistry } from "./providers/registry";
import type { ProviderAdapter, ProviderTokenSet } from "./providers/types";
import { providerUnavailable, reauthorizationRequired, Refresher, type RefreshOptions } from "./refresh/refresher";
import { SingleFlight } from "./refresh/single-flight";
import type {
  AuthorizationRequest,
  CallbackResult,
  ConnectionHealthView,
  ConnectionView,
  GetValidTokenOptions,
  ProviderInfo,
  RequestContext,
  TokenStatus,
  ValidToken,
} from "./types";
import { requireName } from "./validation";
import { SecretStore } from "./secrets/secret-store";

export interface TokenServiceOptions extends RefreshOptions {
  /** Refresh when the access token expires within this margin. Default 5 minutes. */
  refreshMarginMs: number;
  /** Builds the redirect URI registered with providers (for SDK clients). */
  redirectUriFor: (provider: string) => string;
}

export const DEFAULT_OPTIONS: TokenServiceOptions = {
  refreshMarginMs: 5 * 60 * 1000,
  leaseMs: 20_000,
  providerTimeoutMs: 5_000,
  cooldownMs: 30_000,
  retry: DEFAULT_RETRY,
  waitPollMs: 5,
  redirectUriFor: (provider) => `http://localhost:3000/api/oauth/${provider}/callback`,
};

export interface TokenServiceDeps {
  /** Resolves the Prisma client; lazy so importing the service opens nothing. */
  prisma: () => Promise<PrismaClient>;
  /** Resolves the vault; throws (KeyConfigError) when no valid key is configured: fail closed. */
  vault: () => Vault;
  /** Resolves the provider adapters (generic ones may need discovery first). */
  providers: () => Promise<ProviderRegistry>;
  clock?: Clock;
  logger?: Logger;
  /** Overrides of DEFAULT_OPTIONS; a function is resolved on first use, so wiring reads no environment at import. */
  options?: Partial<TokenServiceOptions> | (() => Partial<TokenServiceOptions>);
}

export type StaticSecretKind = "API_KEY" | "WEBHOOK_SECRET";

export interface ExpiringToken {
  id: string;
  companyId: string;
  provider: string;
  kind: TokenKind;
  externalId: string;
  expiresAt: Date;
}

const SYSTEM: RequestContext = { userId: "system" };

/**
 * The token service. It receives every dependency; `tokenService` in index.ts is only wiring.
 * Refresh (single flight, lease, fence) lives in refresh/refresher.ts; connecting in connect-flow.ts.
 */
export class TokenService {
  readonly clock: Clock;
  readonly logger: Logger;
  private readonly optionsSource: TokenServiceDeps["options"];
  private resolvedOptions: TokenServiceOptions | undefined;
  private readonly prisma: () => Promise<PrismaClient>;
  private readonly secrets: SecretStore;
  private readonly connections: ConnectionStore;
  private readonly providers: () => Promise<ProviderRegistry>;
  private readonly audit: AuditTrail;
  private readonly connectFlow: ConnectFlow;
  private readonly refresher: Refresher;
  /** Concurrent callers for one connection share one read of it: a burst costs one query per process. */
  private readonly reads = new SingleFlight<ConnectionWithSecrets | null>();

  constructor(deps: TokenServiceDeps) {
    this.prisma = deps.prisma;
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? consoleLogger;
    this.optionsSource = deps.options;
    this.providers = deps.providers;
    this.secrets = new SecretStore(deps.vault, this.logger);
    this.connections = new ConnectionStore(deps.prisma);
    this.audit = new AuditTrail(deps.prisma, this.logger);
    this.connectFlow = new ConnectFlow({ prisma: deps.prisma, secrets: this.secrets, audit: this.audit, clock: this.clock, timeoutMs: () => this.options.providerTimeoutMs });
    this.refresher = new Refresher({
      prisma: deps.prisma,
      connections: this.connections,
      secrets: this.secrets,
      audit: this.audit,
      clock: this.clock,
      logger: this.logger,
      options: () => this.options,
    });
  }

  get options(): TokenServiceOptions {
    if (!this.resolvedOptions) {
      const source = this.optionsSource;
      this.resolvedOptions = { ...DEFAULT_OPTIONS, ...(typeof source === "function" ? source() : source) };
    }
    return this.resolvedOptions;
  }

  private async adapter(provider: string): Promise<ProviderAdapter> {
    return (await this.providers()).get(provider);
  }

  // ---------------------------------------------------------------------------------------
  // Reading tokens

  async listProviders(): Promise<ProviderInfo[]> {
    return (await this.providers()).list().map((p) => ({ id: p.id, displayName: p.displayName }));
  }

  /**
   * A token that is valid now, refreshed first when it expires within the margin (or when
   * `forceRefresh` says the provider refused it). Exactly one refresh happens per expiry,
   * however many callers in however many processes ask.
   */
  async getValidToken(companyId: string, provider: string, userId: string, options: GetValidTokenOptions = {}): Promise<ValidToken> {
    const { adapter, connection } = await this.validConnection(companyId, provider, userId, options);
    return this.toValidToken(adapter, connection);
  }

  /**
   * The connection with a valid access token, refreshing it first when needed (see
   * getValidToken). Every read of a token goes through here, and is audited here.
   */
  private async validConnection(
    companyId: string,
    provider: string,
    userId: string,
    options: GetValidTokenOptions = {},
  ): Promise<{ adapter: ProviderAdapter; connection: ConnectionWithSecrets }> {
    requireName("companyId", companyId);
    requireName("userId", userId);
    const adapter = await this.adapter(provider);
    const margin = options.refreshMarginMs ?? this.options.refreshMarginMs;

    const read = await this.reads.run(`${companyId}\u0000${provider}`, () => this.connections.load(companyId, provider));
    if (!read) throw new TokenError("NO_TOKEN", "This provider is not connected.");
    const connection = await this.refresher.ensureFresh(adapter, read, { marginMs: margin, force: !!options.forceRefresh, userId });
    this.audit.enqueue(
      { companyId, action: "TOKEN_READ", outcome: "SUCCESS", connectionType: provider, apiEndpoint: "tokenService.getValidToken", requestMethod: "READ", responseStatus: 200 },
      { userId },
      this.clock.now(),
    );
    return { adapter, connection };
  }

  /** Status from the vault alone; never calls the provider. */
  async getTokenStatus(companyId: string, provider: string): Promise<TokenStatus> {
    const adapter = await this.adapter(provider);
    const connection = await this.connections.load(companyId, provider);
    return this.statusOf(adapter, connection);
  }

  async listConnections(companyId: string): Promise<ConnectionView[]> {
    requireName("companyId", companyId);
    const prisma = await this.prisma();
    const [rows, health] = await Promise.all([
      this.connections.listForCompany(companyId),
      prisma.connectionHealth.findMany({ where: { companyId } }),
    ]);
    return (await this.providers()).list().map((adapter) => {
      const connection = rows.find((r) => r.provider === adapter.id) ?? null;
      const h = health.find((r) => r.connectionType === adapter.id);
      const metadata = connection ? metadataOf(connection) : {};
      return {
        provider: adapter.id,
        displayName: adapter.displayName,
        connected: connection !== null,
        externalId: connection?.externalId || null,
        tenants: metadata.tenants ?? [],
        connectedBy: connection?.connectedBy ?? null,
        connectedAt: connection?.createdAt ?? null,
        health: connection && h ? { status: h.status, lastChecked: h.lastChecked, errorMessage: h.errorMessage } : null,
        ...this.statusOf(adapter, connection),
      };
    });
  }

  /** Health of every connection a company has, as last recorded. Never calls a provider. */
  async listConnectionHealth(companyId: string): Promise<(ConnectionHealthView & { connectionType: string })[]> {
    const prisma = await this.prisma();
    return prisma.connectionHealth.findMany({
      where: { companyId },
      orderBy: { connectionType: "asc" },
      select: { connectionType: true, status: true, lastChecked: true, errorMessage: true },
    });
  }

  /**
   * A ready SDK client (intuit-oauth OAuthClient, xero-node XeroClient, or openid-client for
   * generic providers) holding a valid token set. A fresh instance per call: the SDKs keep
   * token state on the instance, and a shared one would leak a company's token to another.
   */
  async getOAuthClient(companyId: string, provider: string, userId = "system"): Promise<unknown> {
    const { adapter, connection } = await this.validConnection(companyId, provider, userId);
    return adapter.createSdkClient(this.tokenSetOf(connection), this.options.redirectUriFor(provider));
  }

  /** Vault secrets whose expiry falls before now + `withinMinutes`. Metadata only, never values. */
  async findExpiringTokens(withinMinutes: number, provider?: string): Promise<ExpiringToken[]> {
    if (!Number.isFinite(withinMinutes) || withinMinutes < 0) throw new TokenError("INVALID_INPUT", "withinMinutes must be a non-negative number.");
    const prisma = await this.prisma();
    const rows = await prisma.tokenSecret.findMany({
      where: {
        state: "VALID",
        expiresAt: { not: null, lte: new Date(this.clock.now().getTime() + withinMinutes * 60_000) },
        kind: { in: ["ACCESS_TOKEN", "REFRESH_TOKEN"] },
        ...(provider ? { provider } : {}),
      },
      orderBy: { expiresAt: "asc" },
      select: { id: true, companyId: true, provider: true, kind: true, externalId: true, expiresAt: true },
    });
    return rows.map((r) => ({ ...r, expiresAt: r.expiresAt! }));
  }

  /** Marks one vault secret unusable (e.g. the provider reported it compromised). */
  async markTokenInvalid(id: string, reason: string): Promise<void> {
    if (typeof reason !== "string" || reason.trim() === "" || reason.length > 500) throw new TokenError("INVALID_INPUT", "reason must be 1-500 characters.");
    const prisma = await this.prisma();
    const secret = await prisma.tokenSecret.findUnique({ where: { id } }).catch(() => null);
    if (!secret) throw new TokenError("NOT_FOUND", "No such token.");
    const now = this.clock.now();
    await prisma.$transaction(async (tx) => {
      await tx.tokenSecret.update({ where: { id }, data: { state: "INVALID", lastError: reason } });
      // A refresh in flight must not write a VALID token set over this: moving the version makes its fence refuse.
      if (secret.connectionId) await tx.connection.update({ where: { id: secret.connectionId }, data: { version: { increment: 1 } } });
      if (secret.kind === "REFRESH_TOKEN") await recordHealth(tx, secret.companyId, secret.provider, "EXPIRED", `Marked invalid: ${reason}`, now);
      await this.audit.write(
        tx,
        {
          companyId: secret.companyId,
          action: "REVOKE",
          outcome: "SUCCESS",
          connectionType: secret.provider,
          apiEndpoint: "tokenService.markTokenInvalid",
          requestMethod: "UPDATE",
          responseStatus: 200,
          details: { kind: secret.kind, reason },
        },
        SYSTEM,
        now,
      );
    });
  }

  // ---------------------------------------------------------------------------------------
  // Connect, check, disconnect

  /**
   * A consent URL with a one-time state bound to this user, company and provider (and PKCE
   * where taken). The redirect URI defaults to this deployment's callback for the provider.
   */
  async getAuthorizationUrl(input: { companyId: string; provider: string; userId: string; redirectUri?: string }): Promise<AuthorizationRequest> {
    const adapter = await this.adapter(input.provider);
    return this.connectFlow.authorizationUrl(adapter, { ...input, redirectUri: input.redirectUri ?? this.options.redirectUriFor(adapter.id) });
  }

  /** The provider's redirect back: see ConnectFlow.callback. */
  async handleCallback(input: { provider: string; callbackUrl: string; companyId: string; context: RequestContext }): Promise<CallbackResult> {
    return this.connectFlow.callback(await this.adapter(input.provider), input);
  }

  /** Forces a refresh now (admin action) and reports the resulting status. */
  async refreshNow(companyId: string, provider: string, context: RequestContext): Promise<TokenStatus> {
    await this.getValidToken(companyId, provider, context.userId, { forceRefresh: true });
    return this.getTokenStatus(companyId, provider);
  }

  /**
   * A live, cheap API call (QuickBooks CompanyInfo, Xero connections) with a valid token. A 401
   * gets one forced refresh and a second try; the outcome becomes the connection's health.
   */
  async checkConnection(companyId: string, provider: string, context: RequestContext): Promise<ConnectionHealthView> {
    const adapter = await this.adapter(provider);
    await this.connections.require(companyId, provider);
    const started = Date.now();
    let status: HealthStatus = "HEALTHY";
    let errorMessage: string | null = null;
    let responseStatus = 0;
    let url = adapter.endpoints.api;
    try {
      let result = await this.callCheck(adapter, companyId, context, false);
      if (result.status === 401 || result.status === 403) result = await this.callCheck(adapter, companyId, context, true);
      responseStatus = result.status;
      url = result.url;
      if (result.status === 401 || result.status === 403) {
        status = "EXPIRED";
        errorMessage = `${adapter.displayName} no longer accepts this connection. Reconnect ${adapter.displayName}.`;
      } else if (result.status >= 400) {
        status = "UNHEALTHY";
        errorMessage = `${adapter.displayName} answered the check with HTTP ${result.status}.`;
      }
    } catch (error) {
      if (error instanceof TokenError && error.code === "REAUTH_REQUIRED") {
        status = "EXPIRED";
        errorMessage = error.message;
        responseStatus = 400;
      } else if (error instanceof TokenError || error instanceof ProviderCallError) {
        status = "UNHEALTHY";
        errorMessage = error instanceof TokenError ? error.message : toTokenError(error, adapter.displayName).message;
        responseStatus = error instanceof ProviderCallError ? (error.status ?? 0) : 0;
      } else {
        throw error;
      }
    }
    const now = this.clock.now();
    const prisma = await this.prisma();
    await prisma.$transaction(async (tx) => {
      await recordHealth(tx, companyId, provider, status, errorMessage, now);
      await this.audit.write(
        tx,
        {
          companyId,
          action: "CHECK",
          outcome: status === "HEALTHY" ? "SUCCESS" : "FAILURE",
          connectionType: provider,
          apiEndpoint: url,
          requestMethod: "GET",
          responseStatus,
          responseTime: Date.now() - started,
          errorMessage,
        },
        context,
        now,
      );
    });
    return { status, lastChecked: now, errorMessage };
  }

  private async callCheck(adapter: ProviderAdapter, companyId: string, context: RequestContext, force: boolean): Promise<{ status: number; url: string }> {
    const { connection } = await this.validConnection(companyId, adapter.id, context.userId, { forceRefresh: force });
    const request = adapter.checkRequest(this.tokenSetOf(connection));
    const response = await providerFetch(request.url, { headers: request.headers }, this.options.providerTimeoutMs);
    await response.body?.cancel();
    return { status: response.status, url: request.url.split("?")[0]! };
  }

  /** Revokes the authorization at the provider, then removes the connection and its secrets. */
  async disconnect(companyId: string, provider: string, context: RequestContext): Promise<void> {
    const adapter = await this.adapter(provider);
    const connection = await this.connections.require(companyId, provider);
    const refresh = secretOf(connection, "REFRESH_TOKEN");
    const started = Date.now();
    let revokeStatus = 200;
    // A token marked INVALID (reported compromised) is exactly one to revoke; only one the
    // provider itself already refused (EXPIRED after invalid_grant) has nothing left to revoke.
    if (adapter.endpoints.revocation && refresh && refresh.state !== "EXPIRED") {
      try {
        await revokeToken(adapter.endpoints.revocation, adapter.client, this.secrets.open(refresh), adapter.revocationStyle, this.options.providerTimeoutMs);
      } catch (error) {
        if (!(error instanceof ProviderCallError)) throw error;
        const tokenError = toTokenError(error, adapter.displayName);
        await this.audit.writeNow({
          companyId,
          action: "REVOKE",
          outcome: "FAILURE",
          connectionType: provider,
          apiEndpoint: adapter.endpoints.revocation,
          requestMethod: "POST",
          responseStatus: error.status ?? 0,
          responseTime: Date.now() - started,
          errorMessage: tokenError.message,
        }, context, this.clock.now());
        // Kept: removing the secrets now would leave a live grant nobody can revoke.
        throw new TokenError(tokenError.code, `${adapter.displayName} could not revoke the connection, so it was kept. Try again shortly.`);
      }
    } else {
      revokeStatus = 204;
    }
    const now = this.clock.now();
    const prisma = await this.prisma();
    await prisma.$transaction(async (tx) => {
      await this.audit.write(
        tx,
        {
          companyId,
          action: "REVOKE",
          outcome: "SUCCESS",
          connectionType: provider,
          apiEndpoint: adapter.endpoints.revocation ?? "none",
          requestMethod: "POST",
          responseStatus: revokeStatus,
          responseTime: Date.now() - started,
        },
        context,
        now,
      );
      await tx.tokenSecret.deleteMany({ where: { connectionId: connection.id } });
      await tx.connection.delete({ where: { id: connection.id } });
      await tx.connectionHealth.deleteMany({ where: { companyId, connectionType: provider } });
      await this.audit.write(
        tx,
        { companyId, action: "DISCONNECT", outcome: "SUCCESS", connectionType: provider, apiEndpoint: "tokenService.disconnect", requestMethod: "DELETE", responseStatus: 200 },
        context,
        now,
      );
    });
  }

  // ---------------------------------------------------------------------------------------
  // Static secrets

  /** Stores a static secret (API key, webhook secret) through the vault, with an audit row in the same transaction. */
  async storeSecret(input: { companyId: string; provider: string; kind: StaticSecretKind; value: string; userId: string; externalId?: string }): Promise<void> {
    const location = {
      companyId: requireName("companyId", input.companyId),
      provider: requireName("provider", input.provider),
      kind: input.kind,
      externalId: input.externalId === undefined || input.externalId === "" ? "" : requireName("externalId", input.externalId),
    };
    if (input.kind !== "API_KEY" && input.kind !== "WEBHOOK_SECRET") throw new TokenError("INVALID_INPUT", "kind must be API_KEY or WEBHOOK_SECRET.");
    const userId = requireName("userId", input.userId);
    const prisma = await this.prisma();
    const now = this.clock.now();
    await prisma.$transaction(async (tx) => {
      await this.secrets.write(tx, [{ ...location, value: input.value, lastRefreshedAt: now }]);
      await this.audit.write(
        tx,
        {
          companyId: location.companyId,
          action: "SECRET_WRITE",
          outcome: "SUCCESS",
          connectionType: location.provider,
          apiEndpoint: "vault",
          requestMethod: "WRITE",
          responseStatus: 200,
          details: { kind: location.kind, externalId: location.externalId },
        },
        { userId },
        now,
      );
    });
  }

  /** Reads a static secret. NO_TOKEN when absent; DecryptionError (DECRYPTION_FAILED) when it cannot be opened. */
  async getSecret(companyId: string, provider: string, kind: StaticSecretKind, externalId = ""): Promise<string> {
    requireName("companyId", companyId);
    requireName("provider", provider);
    // Checked at run time too: this must never hand out an OAuth token to a JavaScript caller.
    if (kind !== "API_KEY" && kind !== "WEBHOOK_SECRET") throw new TokenError("INVALID_INPUT", "kind must be API_KEY or WEBHOOK_SECRET.");
    if (externalId !== "") requireName("externalId", externalId);
    const prisma = await this.prisma();
    const row = await prisma.tokenSecret.findUnique({ where: { companyId_provider_kind_externalId: { companyId, provider, kind, externalId } } });
    if (!row) throw new TokenError("NO_TOKEN", `No ${kind === "API_KEY" ? "API key" : "webhook secret"} is stored for ${provider}.`);
    const value = this.secrets.open(row);
    await prisma.tokenSecret.update({ where: { id: row.id }, data: { lastUsedAt: this.clock.now() } });
    return value;
  }

  /** Records that someone exported the company's audit log (who, when, with which filters). */
  async recordAuditExport(companyId: string, context: RequestContext, filters: Record<string, string | number | boolean | null>): Promise<void> {
    requireName("companyId", companyId);
    await this.audit.writeNow(
      {
        companyId,
        action: "EXPORT",
        outcome: "SUCCESS",
        connectionType: "audit-log",
        apiEndpoint: "/api/audit/export",
        requestMethod: "GET",
        responseStatus: 200,
        details: filters,
      },
      context,
      this.clock.now(),
    );
  }

  /** Writes queued audit rows (token reads). Call at shutdown. */
  async close(): Promise<void> {
    await this.audit.flush();
  }

  /** Test and shutdown hook: audit rows still queued. */
  get pendingAuditRows(): number {
    return this.audit.pending;
  }

  // ---------------------------------------------------------------------------------------
  // Helpers

  private tokenSetOf(connection: ConnectionWithSecrets): ProviderTokenSet {
    const access = secretOf(connection, "ACCESS_TOKEN");
    const refresh = secretOf(connection, "REFRESH_TOKEN");
    if (!access) throw new TokenError("NO_TOKEN", "This provider is not connected.");
    return {
      accessToken: this.secrets.open(access),
      // Never handed to an SDK: its refresh() would rotate the grant outside the lease and the
      // fence, and the stored token would go stale (Xero revokes the grant on its reuse).
      refreshToken: null,
      accessTokenExpiresAt: access.expiresAt ?? this.clock.now(),
      refreshTokenExpiresAt: refresh?.expiresAt ?? null,
      externalId: connection.externalId || null,
    };
  }

  private toValidToken(adapter: ProviderAdapter, connection: ConnectionWithSecrets): ValidToken {
    const access = secretOf(connection, "ACCESS_TOKEN");
    if (!access?.expiresAt) throw new TokenError("NO_TOKEN", "This provider is not connected.");
    return {
      accessToken: this.secrets.open(access),
      tokenType: "Bearer",
      expiresAt: access.expiresAt,
      provider: adapter.id,
      externalId: connection.externalId || null,
      tenants: metadataOf(connection).tenants ?? [],
    };
  }

  private statusOf(adapter: ProviderAdapter, connection: ConnectionWithSecrets | null): TokenStatus {
    if (!connection) {
      return { status: "NO_TOKEN", message: `${adapter.displayName} is not connected.`, accessTokenExpiresAt: null, refreshTokenExpiresAt: null, lastRefreshedAt: null };
    }
    const access = secretOf(connection, "ACCESS_TOKEN");
    const refresh = secretOf(connection, "REFRESH_TOKEN");
    const base = {
      accessTokenExpiresAt: access?.expiresAt ?? null,
      refreshTokenExpiresAt: refresh?.expiresAt ?? null,
      lastRefreshedAt: access?.lastRefreshedAt ?? null,
    };
    const now = this.clock.now();
    if (!refresh || refresh.state !== "VALID" || (refresh.expiresAt && refresh.expiresAt <= now)) {
      return { status: "EXPIRED", message: reauthorizationRequired(adapter).message, ...base };
    }
    if (connection.cooldownUntil && connection.cooldownUntil > now) {
      return { status: "ERROR", message: refresh.lastError ?? providerUnavailable(adapter).message, ...base };
    }
    if (access?.expiresAt && access.expiresAt > now) return { status: "VALID", message: `Connected to ${adapter.displayName}.`, ...base };
    return { status: "VALID", message: `Connected to ${adapter.displayName}; the access token will be refreshed on next use.`, ...base };
  }

}
