import { TokenError, type TokenErrorCode } from "@tokenvault/vault";
import type { Connection } from "@tokenvault/db";
import { metadataOf, secretOf, type ConnectionWithGrant, type GrantWithSecrets } from "../connections/connection";
import { connectionDisabled } from "../connections/connection-settings";
import { selectedExternalId, type ConnectionSelector } from "../connections/connection-store";
import type { ProviderAdapter, ProviderTokenSet } from "../providers/types";
import { Refresher, type RefreshRequest } from "../refresh/refresher";
import { SingleFlight } from "@tokenvault/kit";
import { TokenCache, type CacheTicket } from "./token-cache";
import type { ServiceParts } from "../service-parts";
import type { GetValidTokenOptions, RequestContext, ValidToken } from "../types";
import { requireName } from "../validation";

export type TokenReaderDeps = Pick<ServiceParts, "providers" | "connections" | "grants" | "secrets" | "audit" | "clock" | "logger" | "options" | "events" | "cache">;

export interface ReadConnection {
  adapter: ProviderAdapter;
  connection: Connection;
  /** The grant serving it, with its secrets (fresh for the margin after `read`). */
  grant: GrantWithSecrets;
  /** Taken before the database read (see TokenCache); null when the cache is off. */
  ticket: CacheTicket | null;
}

interface LoadedConnection {
  target: ConnectionWithGrant;
  ticket: CacheTicket | null;
}

/** The HTTP status a failed read's audit row records: the one the web app answers the code with (apps/web errors.ts). */
const READ_FAILURE_STATUS: Partial<Record<TokenErrorCode, number>> = {
  NO_TOKEN: 404,
  NOT_FOUND: 404,
  AMBIGUOUS_CONNECTION: 409,
  CONNECTION_DISABLED: 409,
  REAUTH_REQUIRED: 412,
  PROVIDER_UNAVAILABLE: 503,
  VAULT_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
};

/** The audit rows' who and from where: the caller's address and user agent when it passed them. */
const contextOf = (userId: string, options: GetValidTokenOptions): RequestContext => ({ userId, ipAddress: options.context?.ipAddress ?? null, userAgent: options.context?.userAgent ?? null });

const notConnected = () => new TokenError("NO_TOKEN", "This provider is not connected.");

/** The selector's validated form, the key its reads share (and its cache entry), and the company / provider its audit rows name. */
interface Named {
  selector: ConnectionSelector;
  key: string;
  /** Known before the read for a company-and-provider selector; by id, from the connection read. */
  companyId: string | null;
  provider: string | null;
  /** Ids besides the grant whose notification drops the cached entry. */
  watch: (connectionId: string) => string[];
}

/** Checks a selector (bad input writes nothing, not even an audit row) and names what it reads. */
function named(selector: ConnectionSelector, providers: TokenReaderDeps["providers"]): Named {
  if (selector === null || typeof selector !== "object") throw new TokenError("INVALID_INPUT", "Name a connection: { connectionId } or { companyId, provider }.");
  if ("connectionId" in selector) {
    if (typeof selector.connectionId !== "string" || !UUID.test(selector.connectionId)) throw new TokenError("INVALID_INPUT", "connectionId must be a connection's id (a UUID).");
    if (selector.companyId !== undefined) requireName("companyId", selector.companyId);
    return { selector, key: TokenCache.key(selector.connectionId), companyId: selector.companyId ?? null, provider: null, watch: (id) => [id] };
  }
  const companyId = requireName("companyId", selector.companyId);
  const provider = providers.get(selector.provider).id;
  const externalId = selectedExternalId(selector);
  if (externalId !== undefined) requireName("identifier", externalId);
  const scope = TokenCache.scopeId(companyId, provider);
  return {
    selector: { companyId, provider, ...(externalId !== undefined ? { identifier: externalId } : {}) },
    key: TokenCache.selectorKey(companyId, provider, externalId),
    companyId,
    provider,
    watch: (id) => [id, scope],
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
   * The connection a selector names with an access token valid for the margin, its grant
   * refreshed first when needed (once for every connection the grant serves).
   */
  async read(selector: ConnectionSelector, userId: string, options: GetValidTokenOptions = {}): Promise<ReadConnection> {
    const name = named(selector, this.deps.providers);
    requireName("userId", userId);
    const { connections, cache } = this.deps;
    const margin = options.refreshMarginMs ?? this.deps.options.refreshMarginMs;
    const context = contextOf(userId, options);
    let about: { companyId: string | null; provider: string | null; connectionId: string | null } = { companyId: name.companyId, provider: name.provider, connectionId: null };
    try {
      // The ticket is taken by the read itself: a caller joining it later shares its ticket too.
      const read = await this.reads.run(name.key, async () => {
        const ticket = cache?.ticket() ?? null;
        return { target: await connections.resolve(name.selector), ticket };
      });
      const { connection } = read.target;
      about = { companyId: connection.companyId, provider: connection.provider, connectionId: connection.id };
      // Paused by an admin: no token and no refresh until resumed (audited below as a refused read).
      if (connection.disabledAt) throw connectionDisabled(connection);
      const adapter = this.deps.providers.get(connection.provider);
      const grant = await this.refresher.ensureFresh(adapter, read.target.grant, { marginMs: margin, force: !!options.forceRefresh, context, connectionId: connection.id, ...(options.rejectedAccessToken !== undefined && { rejectedAccessToken: options.rejectedAccessToken }) });
      this.audited(connection.companyId, adapter.id, connection.id, context);
      return { adapter, connection, grant, ticket: read.ticket };
    } catch (error) {
      // An id that names nothing (or another company's) has no company to write the row under.
      if (error instanceof TokenError && about.companyId !== null && about.provider !== null) this.auditedFailure(about.companyId, about.provider, about.connectionId, context, error);
      throw error;
    }
  }

  /**
   * getValidToken: from the process's token cache when it holds the connection's token fresh
   * beyond the margin (no database query; still audited), else read (and refreshed) as `read`
   * does, and the result cached. A forced refresh never looks at the cache.
   */
  async validTokenFor(selector: ConnectionSelector, userId: string, options: GetValidTokenOptions = {}): Promise<ValidToken> {
    const { cache } = this.deps;
    if (cache && !options.forceRefresh) {
      const name = named(selector, this.deps.providers);
      requireName("userId", userId);
      const margin = options.refreshMarginMs ?? this.deps.options.refreshMarginMs;
      const behind = cache.waitIfBehind();
      if (behind) await behind;
      const hit = cache.get(name.key, name.provider ?? "any", margin, this.deps.clock.now().getTime(), name.companyId ?? undefined);
      if (hit) {
        this.audited(hit.companyId, hit.provider, hit.connectionId, contextOf(userId, options));
        return hit;
      }
    }
    const read = await this.read(selector, userId, options);
    const token = this.validToken(read);
    const access = secretOf(read.grant, "ACCESS_TOKEN");
    if (cache && access?.state === "VALID") {
      const { connection, grant, ticket } = read;
      const name = named(selector, this.deps.providers);
      cache.fill(name.key, ticket, { grantId: grant.id, watch: name.watch(connection.id), companyId: connection.companyId, version: grant.version, token, lastRefreshedAt: access.lastRefreshedAt });
    }
    return token;
  }

  /** Every token read is audited (queued, written in batches off the request path). */
  private audited(companyId: string, provider: string, connectionId: string, context: RequestContext): void {
    this.deps.audit.enqueue(
      { companyId, action: "TOKEN_READ", outcome: "SUCCESS", connectionType: provider, connectionId, apiEndpoint: "tokenService.getValidToken", requestMethod: "READ", responseStatus: 200 },
      context,
      this.deps.clock.now(),
    );
  }

  /** The refresher's ensureFresh (single flight shared with this reader's callers), for the worker's refresh by id. */
  ensureFresh(adapter: ProviderAdapter, grant: GrantWithSecrets, request: RefreshRequest): Promise<GrantWithSecrets> {
    return this.refresher.ensureFresh(adapter, grant, request);
  }

  /**
   * A read answered with an error is audited like a successful one (queued, identical ones of a
   * batch one row with details.reads), with its code: an admin sees server code that keeps asking
   * for a connection that is dead. Only after the input was valid: bad input writes nothing.
   */
  private auditedFailure(companyId: string, provider: string, connectionId: string | null, context: RequestContext, error: TokenError): void {
    this.deps.audit.enqueue(
      {
        companyId,
        action: "TOKEN_READ",
        outcome: "FAILURE",
        connectionType: provider,
        connectionId,
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
  validToken({ adapter, connection, grant }: ReadConnection): ValidToken {
    const access = secretOf(grant, "ACCESS_TOKEN");
    if (!access?.expiresAt) throw notConnected();
    return {
      accessToken: this.deps.secrets.open(access),
      tokenType: "Bearer",
      expiresAt: access.expiresAt,
      provider: adapter.id,
      externalId: connection.externalId || null,
      tenants: metadataOf(grant).tenants ?? [],
      connectionId: connection.id,
      companyId: connection.companyId,
    };
  }

  /** The token set an SDK client or a live check is built from. */
  tokenSet({ connection, grant }: ReadConnection, options: { withRefreshToken?: boolean } = {}): ProviderTokenSet {
    const access = secretOf(grant, "ACCESS_TOKEN");
    const refresh = secretOf(grant, "REFRESH_TOKEN");
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
