import type { HealthStatus } from "@tokenvault/db";
import type { TokenError } from "@tokenvault/vault";
import type { GrantWithSecrets } from "../connections/connection";
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
  /** The grant as read by the claim. */
  grant: GrantWithSecrets;
  owner: string;
  leaseVersion: number;
  error: ProviderCallError;
  responseTime: number;
  force: boolean;
  context: RequestContext;
  /** The connection whose read asked for the refresh (the audit row names it). */
  connectionId?: string | null;
}

/** Records a failed refresh (health, audit, state or cooldown) under the fence and returns the error to raise. */
export async function recordFailure(deps: Pick<ServiceParts, "grants" | "clock" | "logger" | "options">, failure: RefreshFailure): Promise<TokenError> {
  const { adapter, grant, error, force, context } = failure;
  const tokenError = toTokenError(error, adapter.displayName);
  const now = deps.clock.now();
  const ended = error.kind === "invalid_grant";
  const health: HealthStatus = ended ? "EXPIRED" : "UNHEALTHY";
  const cooldownMs = Math.max(deps.options.cooldownMs, error.retryAfterMs ?? 0);
  const { grants } = deps;
  await grants.transaction(async (tx) => {
    const fenced = await grants.fence(tx, grant.id, failure.owner, failure.leaseVersion, {
      cooldownUntil: ended ? null : new Date(now.getTime() + cooldownMs),
    });
    if (!fenced) throw new StaleLeaseError();
    if (ended) await grants.expireGrant(tx, grant.id, tokenError.message);
    else await grants.noteRefreshError(tx, grant.id, tokenError.message);
    await grants.recordOutcome(tx, {
      health: { status: health, errorMessage: tokenError.message, of: { grantId: grant.id } },
      event: {
        companyId: grant.companyId,
        action: "REFRESH",
        outcome: "FAILURE",
        connectionType: grant.provider,
        connectionId: failure.connectionId ?? null,
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
  deps.logger.warn("refresh failed", { provider: adapter.id, companyId: grant.companyId, kind: error.kind, status: error.status });
  // A token that is still valid (inside the margin) stays usable while the provider is down.
  return tokenError;
}
