import { TokenError, type TokenErrorCode } from "@tokenvault/vault";
import { metadataOf, secretOf, type ConnectionWithSecrets } from "../connections/connection";
import type { ProviderAdapter, ProviderTokenSet } from "../providers/types";
import { Refresher, type RefreshRequest } from "../refresh/refresher";
import { SingleFlight } from "@tokenvault/kit";
import { TokenCache, type CacheTicket } from "./token-cache";
import type { ServiceParts } from "../service-parts";
import type { GetValidTokenOptions, RequestContext, ValidToken } from "../types";
import { requireName } from "../validation";

export type TokenReaderDeps = Pick<ServiceParts, "providers" | "connections" | "secrets" | "audit" | "clock" | "logger" | "options" | "events" | "cache">;

export interface ReadConnection {
  adapter: ProviderAdapter;
  connection: ConnectionWithSecrets;
  /** Taken before the database read (see TokenCache); null when the cache is off. */
  ticket: CacheTicket | null;
}

interface LoadedConnection {
  connection: ConnectionWithSecrets | null;
  ticket: CacheTicket | null;
}

/** The HTTP status a failed read's audit row records: the one the web app answers the code with (apps/web errors.ts). */
const READ_FAILURE_STATUS: Partial<Record<TokenErrorCode, number>> = {
  NO_TOKEN: 404,
  REAUTH_REQUIRED: 412,
  PROVIDER_UNAVAILABLE: 503,
  VAULT_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
};

/** The audit rows' who and from where: the caller's address and user agent when it passed them. */
const contextOf = (userId: string, options: GetValidTokenOptions): RequestContext => ({ userId, ipAddress: options.context?.ipAddress ?? null, userAgent: options.context?.userAgent ?? null });

const notConnected = () => new TokenError("NO_TOKEN", "This provider is not connected.");

/**
 * Every read of a token goes through here, and is audited here: the connection is read
 * (concurrent callers in this process share one read), refreshed first when it is stale (see
 * Refresher), and the access token opened only for the caller who asked.
 */
export class TokenReader {
  private readonly refresher: Refresher;
  /** Concurrent callers for one connection share one read of it: a burst costs one query per process. */
  private readonly reads = new SingleFlight<LoadedConnection>();

  constructor(private readonly deps: TokenReaderDeps) {
    this.refresher = new Refresher(deps);
  }

  /**
   * The connection with an access token valid for the margin, refreshing it first when needed.
   */
  async read(companyId: string, provider: string, userId: string, options: GetValidTokenOptions = {}): Promise<ReadConnection> {
    requireName("companyId", companyId);
    requireName("userId", userId);
    const { connections, cache } = this.deps;
    const adapter = this.deps.providers.get(provider);
    const margin = options.refreshMarginMs ?? this.deps.options.refreshMarginMs;
    const context = contextOf(userId, options);

    try {
      // The ticket is taken by the read itself: a caller joining it later shares its ticket too.
      const read = await this.reads.run(TokenCache.key(companyId, adapter.id), async () => {
        const ticket = cache?.ticket() ?? null;
        return { connection: await connections.load(companyId, adapter.id), ticket };
      });
      if (!read.connection) throw notConnected();
      const connection = await this.refresher.ensureFresh(adapter, read.connection, { marginMs: margin, force: !!options.forceRefresh, context, ...(options.rejectedAccessToken !== undefined && { rejectedAccessToken: options.rejectedAccessToken }) });
      this.audited(companyId, adapter.id, context);
      return { adapter, connection, ticket: read.ticket };
    } catch (error) {
      if (error instanceof TokenError) this.auditedFailure(companyId, adapter.id, context, error);
      throw error;
    }
  }

  /**
   * getValidToken: from the process's token cache when it holds the connection's token fresh
   * beyond the margin (no database query; still audited), else read (and refreshed) as `read`
   * does, and the result cached. A forced refresh never looks at the cache.
   */
  async validTokenFor(companyId: string, provider: string, userId: string, options: GetValidTokenOptions = {}): Promise<ValidToken> {
    const { cache } = this.deps;
    if (cache && !options.forceRefresh) {
      requireName("companyId", companyId);
      requireName("userId", userId);
      const adapter = this.deps.providers.get(provider);
      const margin = options.refreshMarginMs ?? this.deps.options.refreshMarginMs;
      const hit = cache.get(TokenCache.key(companyId, adapter.id), adapter.id, margin, this.deps.clock.now().getTime());
      if (hit) {
        this.audited(companyId, adapter.id, contextOf(userId, options));
        return hit;
      }
    }
    const read = await this.read(companyId, provider, userId, options);
    const token = this.validToken(read);
    const access = secretOf(read.connection, "ACCESS_TOKEN");
    if (cache && access?.state === "VALID") {
      const { connection, adapter, ticket } = read;
      cache.fill(TokenCache.key(companyId, adapter.id), ticket, { connectionId: connection.id, version: connection.version, token, lastRefreshedAt: access.lastRefreshedAt });
    }
    return token;
  }

  /** Every token read is audited (queued, written in batches off the request path). */
  private audited(companyId: string, provider: string, context: RequestContext): void {
    this.deps.audit.enqueue(
      { companyId, action: "TOKEN_READ", outcome: "SUCCESS", connectionType: provider, apiEndpoint: "tokenService.getValidToken", requestMethod: "READ", responseStatus: 200 },
      context,
      this.deps.clock.now(),
    );
  }

  /** The refresher's ensureFresh (single flight shared with this reader's callers), for the worker's refresh by id. */
  ensureFresh(adapter: ProviderAdapter, connection: ConnectionWithSecrets, request: RefreshRequest): Promise<ConnectionWithSecrets> {
    return this.refresher.ensureFresh(adapter, connection, request);
  }

  /**
   * A read answered with an error is audited like a successful one (queued, identical ones of a
   * batch one row with details.reads), with its code: an admin sees server code that keeps asking
   * for a connection that is dead. Only after the input was valid: bad input writes nothing.
   */
  private auditedFailure(companyId: string, provider: string, context: RequestContext, error: TokenError): void {
    this.deps.audit.enqueue(
      {
        companyId,
        action: "TOKEN_READ",
        outcome: "FAILURE",
        connectionType: provider,
        apiEndpoint: "tokenService.getValidToken",
        requestMethod: "READ",
        responseStatus: READ_FAILURE_STATUS[error.code] ?? 500,
        errorMessage: error.message,
        details: { errorCode: error.code },
      },
      context,
      this.deps.clock.now(),
    );
  }

  /** Resolves when the background refreshes started so far have settled. */
  idle(): Promise<void> {
    return this.refresher.idle();
  }

  /** Stops starting background refreshes; waits for running ones up to `timeoutMs`, then abandons them. */
  close(timeoutMs: number): Promise<void> {
    return this.refresher.close(timeoutMs);
  }

  /** What getValidToken returns. */
  validToken({ adapter, connection }: ReadConnection): ValidToken {
    const access = secretOf(connection, "ACCESS_TOKEN");
    if (!access?.expiresAt) throw notConnected();
    return {
      accessToken: this.deps.secrets.open(access),
      tokenType: "Bearer",
      expiresAt: access.expiresAt,
      provider: adapter.id,
      externalId: connection.externalId || null,
      tenants: metadataOf(connection).tenants ?? [],
    };
  }

  /** The token set an SDK client or a live check is built from. */
  tokenSet({ connection }: ReadConnection, options: { withRefreshToken?: boolean } = {}): ProviderTokenSet {
    const access = secretOf(connection, "ACCESS_TOKEN");
    const refresh = secretOf(connection, "REFRESH_TOKEN");
    if (!access) throw notConnected();
    return {
      accessToken: this.deps.secrets.open(access),
      // Opened only for getOAuthClient's SDK client, so a caller using it directly has the whole
      // token set. Refreshing through the SDK bypasses the lease and the fence (the stored token
      // goes stale, and a rotating provider revokes the grant on its reuse): callers must not.
      refreshToken: options.withRefreshToken && refresh ? this.deps.secrets.open(refresh) : null,
      accessTokenExpiresAt: access.expiresAt ?? this.deps.clock.now(),
      refreshTokenExpiresAt: refresh?.expiresAt ?? null,
      externalId: connection.externalId || null,
    };
  }
}
