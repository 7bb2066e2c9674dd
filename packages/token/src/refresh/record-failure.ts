import type { HealthStatus } from "@tokenvault/db";
import type { TokenError } from "@tokenvault/vault";
import type { ConnectionWithSecrets } from "../connections/connection";
import { toTokenError, type ProviderCallError } from "../oauth/token-client";
import type { ProviderAdapter } from "../providers/types";
import type { ServiceParts } from "../service-parts";
import type { RequestContext } from "../types";

/** Thrown when the fence refuses a stale lease holder's write (inside a transaction: it rolls back). */
export class StaleLeaseError extends Error {
  override readonly name = "StaleLeaseError";
}

export interface RefreshFailure {
  adapter: ProviderAdapter;
  /** The connection as read by the claim. */
  connection: ConnectionWithSecrets;
  owner: string;
  leaseVersion: number;
  error: ProviderCallError;
  responseTime: number;
  force: boolean;
  context: RequestContext;
}

/** Records a failed refresh (health, audit, state or cooldown) under the fence and returns the error to raise. */
export async function recordFailure(deps: Pick<ServiceParts, "connections" | "clock" | "logger" | "options">, failure: RefreshFailure): Promise<TokenError> {
  const { adapter, connection, error, force, context } = failure;
  const tokenError = toTokenError(error, adapter.displayName);
  const now = deps.clock.now();
  const ended = error.kind === "invalid_grant";
  const health: HealthStatus = ended ? "EXPIRED" : "UNHEALTHY";
  const cooldownMs = Math.max(deps.options.cooldownMs, error.retryAfterMs ?? 0);
  const { connections } = deps;
  await connections.transaction(async (tx) => {
    const fenced = await connections.fence(tx, connection.id, failure.owner, failure.leaseVersion, {
      cooldownUntil: ended ? null : new Date(now.getTime() + cooldownMs),
    });
    if (!fenced) throw new StaleLeaseError();
    if (ended) await connections.expireGrant(tx, connection.id, tokenError.message);
    else await connections.noteRefreshError(tx, connection.id, tokenError.message);
    await connections.recordOutcome(tx, {
      health: { status: health, errorMessage: tokenError.message },
      event: {
        companyId: connection.companyId,
        action: "REFRESH",
        outcome: "FAILURE",
        connectionType: connection.provider,
        apiEndpoint: adapter.endpoints.token,
        requestMethod: "POST",
        responseStatus: error.status ?? 0,
        responseTime: failure.responseTime,
        errorMessage: tokenError.message,
        details: { forced: force, reason: error.kind, oauthError: error.oauthError },
      },
      context,
      at: now,
    });
  });
  deps.logger.warn("refresh failed", { provider: adapter.id, companyId: connection.companyId, kind: error.kind, status: error.status });
  // A token that is still valid (inside the margin) stays usable while the provider is down.
  return tokenError;
}
