import { TokenError } from "@tokenvault/vault";
import { metadataOf, secretOf, type ConnectionWithSecrets } from "../connections/connection";
import type { ProviderAdapter, ProviderTokenSet } from "../providers/types";
import { Refresher } from "../refresh/refresher";
import { SingleFlight } from "../refresh/single-flight";
import type { ServiceParts } from "../service-parts";
import type { GetValidTokenOptions, ValidToken } from "../types";
import { requireName } from "../validation";

export type TokenReaderDeps = Pick<ServiceParts, "providers" | "connections" | "secrets" | "audit" | "clock" | "logger" | "options" | "events">;

export interface ReadConnection {
  adapter: ProviderAdapter;
  connection: ConnectionWithSecrets;
}

const notConnected = () => new TokenError("NO_TOKEN", "This provider is not connected.");

/**
 * Every read of a token goes through here, and is audited here: the connection is read
 * (concurrent callers in this process share one read), refreshed first when it is stale (see
 * Refresher), and the access token opened only for the caller who asked.
 */
export class TokenReader {
  private readonly refresher: Refresher;
  /** Concurrent callers for one connection share one read of it: a burst costs one query per process. */
  private readonly reads = new SingleFlight<ConnectionWithSecrets | null>();

  constructor(private readonly deps: TokenReaderDeps) {
    this.refresher = new Refresher(deps);
  }

  /**
   * The connection with an access token valid for the margin, refreshing it first when needed.
   * `awaitRefresh`: inside the margin, wait for the refresh instead of starting it in the background.
   */
  async read(companyId: string, provider: string, userId: string, options: GetValidTokenOptions & { awaitRefresh?: boolean } = {}): Promise<ReadConnection> {
    requireName("companyId", companyId);
    requireName("userId", userId);
    const { connections, clock, audit } = this.deps;
    const adapter = this.deps.providers.get(provider);
    const margin = options.refreshMarginMs ?? this.deps.options.refreshMarginMs;

    const read = await this.reads.run(`${companyId}\u0000${adapter.id}`, () => connections.load(companyId, adapter.id));
    if (!read) throw notConnected();
    const connection = await this.refresher.ensureFresh(adapter, read, { marginMs: margin, force: !!options.forceRefresh, wait: !!options.awaitRefresh, userId });
    audit.enqueue(
      { companyId, action: "TOKEN_READ", outcome: "SUCCESS", connectionType: adapter.id, apiEndpoint: "tokenService.getValidToken", requestMethod: "READ", responseStatus: 200 },
      { userId },
      clock.now(),
    );
    return { adapter, connection };
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
  tokenSet({ connection }: ReadConnection): ProviderTokenSet {
    const access = secretOf(connection, "ACCESS_TOKEN");
    const refresh = secretOf(connection, "REFRESH_TOKEN");
    if (!access) throw notConnected();
    return {
      accessToken: this.deps.secrets.open(access),
      // Never handed to an SDK: its refresh() would rotate the grant outside the lease and the
      // fence, and the stored token would go stale (Xero revokes the grant on its reuse).
      refreshToken: null,
      accessTokenExpiresAt: access.expiresAt ?? this.deps.clock.now(),
      refreshTokenExpiresAt: refresh?.expiresAt ?? null,
      externalId: connection.externalId || null,
    };
  }
}
