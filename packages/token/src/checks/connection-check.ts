import type { Connection, HealthStatus } from "@tokenvault/db";
import { connectionDisabled } from "../connections/connection-settings";
import type { ConnectionSelector } from "../connections/connection-store";
import { SingleFlight } from "@tokenvault/kit";
import { TokenError } from "@tokenvault/vault";
import { ProviderCallError, providerFetch, toTokenError } from "../oauth/token-client";
import type { ProviderAdapter } from "../providers/types";
import type { ServiceParts } from "../service-parts";
import type { TokenReader } from "../tokens/token-reader";
import type { ConnectionHealthView, RequestContext } from "../types";

export type ConnectionCheckDeps = Pick<ServiceParts, "providers" | "connections" | "grants" | "clock" | "options">;

interface CheckResult {
  status: HealthStatus;
  errorMessage: string | null;
  responseStatus: number;
  url: string;
}

/**
 * A live, cheap API call (QuickBooks CompanyInfo, Xero connections) with a valid token. A 401
 * or 403 gets one forced refresh and a second try; the outcome becomes the connection's health.
 *
 * Coalesced: at most one provider call per connection per `checkCoalesceMs`. Callers in this
 * process while a check is in flight share its promise; after that, a conditional UPDATE of
 * ConnectionHealth.liveCheckAt (PostgreSQL's clock) lets one process in every process through
 * per window, and the others answer with the health row as recorded (no provider call, no
 * audit row: nothing happened at the provider).
 */
export class ConnectionCheck {
  private readonly inFlight = new SingleFlight<ConnectionHealthView>();

  constructor(
    private readonly deps: ConnectionCheckDeps,
    private readonly tokens: TokenReader,
  ) {}

  /** The check of the connection the selector names (resolved first: an unknown or ambiguous one is an error, and nothing is recorded). */
  async run(selector: ConnectionSelector, context: RequestContext): Promise<ConnectionHealthView> {
    const { connection } = await this.deps.connections.resolve(selector);
    // Paused: no provider call and no health recorded (a pause is not a failure of the connection's).
    if (connection.disabledAt) throw connectionDisabled(connection);
    const adapter = this.deps.providers.get(connection.provider);
    return this.inFlight.run(connection.id, () => this.gated(adapter, connection, context));
  }

  private async gated(adapter: ProviderAdapter, connection: Connection, context: RequestContext): Promise<ConnectionHealthView> {
    const { connections } = this.deps;
    if ((await connections.claimLiveCheck(connection.id, this.deps.options.checkCoalesceMs)) === "recent") {
      const health = await connections.health(connection.id);
      if (health) return health;
    }
    return this.live(adapter, connection, context);
  }

  private async live(adapter: ProviderAdapter, connection: Connection, context: RequestContext): Promise<ConnectionHealthView> {
    const { companyId } = connection;
    const started = Date.now();
    let result: CheckResult;
    try {
      result = await this.call(adapter, connection.id, context);
    } catch (error) {
      // Nothing is connected: there is no health to record.
      if (error instanceof TokenError && error.code === "NO_TOKEN") throw error;
      result = failureOf(adapter, error);
    }
    const { status, errorMessage, responseStatus, url } = result;
    const now = this.deps.clock.now();
    const { grants } = this.deps;
    await grants.transaction((tx) =>
      grants.recordOutcome(tx, {
        health: { status, errorMessage, of: { connectionId: connection.id } },
        event: {
          companyId,
          action: "CHECK",
          outcome: status === "HEALTHY" ? "SUCCESS" : "FAILURE",
          connectionType: adapter.id,
          connectionId: connection.id,
          apiEndpoint: url,
          requestMethod: "GET",
          responseStatus,
          responseTime: Date.now() - started,
          errorMessage,
        },
        context,
        at: now,
      }),
    );
    return { status, lastChecked: now, errorMessage };
  }

  private async call(adapter: ProviderAdapter, connectionId: string, context: RequestContext): Promise<CheckResult> {
    let answer = await this.request(connectionId, context, false);
    if (answer.status === 401 || answer.status === 403) answer = await this.request(connectionId, context, true);
    const base = { responseStatus: answer.status, url: answer.url };
    if (answer.status === 401 || answer.status === 403) {
      return { ...base, status: "EXPIRED", errorMessage: `${adapter.displayName} no longer accepts this connection. Reconnect ${adapter.displayName}.` };
    }
    if (answer.status >= 400) return { ...base, status: "UNHEALTHY", errorMessage: `${adapter.displayName} answered the check with HTTP ${answer.status}.` };
    return { ...base, status: "HEALTHY", errorMessage: null };
  }

  private async request(connectionId: string, context: RequestContext, force: boolean): Promise<{ status: number; url: string }> {
    const read = await this.tokens.read({ connectionId }, context.userId, { forceRefresh: force, context });
    const request = read.adapter.checkRequest(this.tokens.tokenSet(read));
    const response = await providerFetch(request.url, { headers: request.headers }, this.deps.options.providerTimeoutMs);
    await response.body?.cancel();
    return { status: response.status, url: request.url.split("?")[0]! };
  }
}

/** A check that could not get an answer: an expired grant, or a provider that failed. Anything else is a bug and propagates. */
function failureOf(adapter: ProviderAdapter, error: unknown): CheckResult {
  const url = adapter.endpoints.api;
  if (error instanceof TokenError && error.code === "REAUTH_REQUIRED") return { status: "EXPIRED", errorMessage: error.message, responseStatus: 400, url };
  if (error instanceof TokenError) return { status: "UNHEALTHY", errorMessage: error.message, responseStatus: 0, url };
  if (error instanceof ProviderCallError) return { status: "UNHEALTHY", errorMessage: toTokenError(error, adapter.displayName).message, responseStatus: error.status ?? 0, url };
  throw error;
}
