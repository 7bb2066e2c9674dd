import { isDatabaseUnavailable } from "@tokenvault/db";
import { metadataOf, secretOf, type ConnectionMetadata, type GrantWithSecrets } from "../connections/connection";
import type { Logger } from "../logger";
import type { TokenResponse } from "../oauth/token-client";
import { expiresAtFrom, hardExpiresAtFrom, refreshExpiresAtFrom, type ProviderAdapter } from "../providers/types";
import type { SecretWrite } from "../secrets/secret-store";
import type { ServiceParts } from "../service-parts";
import type { RequestContext } from "../types";

/** What the provider answered, with what is needed to store it under the lease. */
export interface RefreshResult {
  adapter: ProviderAdapter;
  /** The grant as read by the claim: its version is the lease's (the fence). */
  grant: GrantWithSecrets;
  owner: string;
  response: TokenResponse;
  /** The refresh token the provider was sent. */
  refreshToken: string;
  force: boolean;
  /** The caller whose request found the token expiring (or forced the refresh). */
  context: RequestContext;
  /** The connection that caller read (the audit row names it); the grant may serve others too. */
  connectionId?: string | null;
  /** When the provider call started (Date.now()): the audit row's response time. */
  started: number;
  /** When the request that succeeded was sent (the service's clock): the access token's lifetime counts from here. */
  sentAt: Date;
}

export interface StoreRetry {
  /** No attempt starts after this (Date.now() scale). */
  until: number;
  logger: Logger;
  /** Facts for the log lines (never a token). */
  context: Record<string, unknown>;
}

const FIRST_DELAY_MS = 50;
const MAX_DELAY_MS = 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` again, with backoff, while it fails because the database is unavailable (cut,
 * unreachable, timed out) and `until` has not passed; any other error, or the last, is thrown.
 * Each attempt takes a pool connection of its own: the pool has dropped the dead one. The
 * caller keeps its lease heartbeat running meanwhile, so no other process claims the lease.
 */
export async function whileDatabaseDown<T>(attempt: () => Promise<T>, retry: StoreRetry): Promise<T> {
  for (let delay = FIRST_DELAY_MS; ; delay = Math.min(delay * 2, MAX_DELAY_MS)) {
    try {
      return await attempt();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || Date.now() + delay > retry.until) throw error;
      retry.logger.warn("refresh result not stored yet: the database is unavailable; retrying", { ...retry.context, error: error instanceof Error ? error.name : typeof error, delayMs: delay });
      await sleep(delay);
    }
  }
}

/**
 * Stores a refresh result in one fenced statement (GrantStore.writeRefresh: fence, token
 * set, health and audit row together). The provider has already rotated the grant, so the result
 * is kept in memory and the write retried while the database is unavailable (see
 * whileDatabaseDown): the fence makes a retry safe, also when an earlier attempt committed but
 * its answer was lost (the retry is refused then, and the caller reads what was stored).
 * Returns the grant as written; null: the fence refused (the lease was lost, or the write already landed).
 */
export async function storeRefreshResult(deps: Pick<ServiceParts, "grants" | "secrets" | "clock">, result: RefreshResult, retry: StoreRetry): Promise<GrantWithSecrets | null> {
  const { adapter, grant: current, response, refreshToken, force, context } = result;
  const now = deps.clock.now();
  const refreshSecret = secretOf(current, "REFRESH_TOKEN")!;
  const rotated = response.refresh_token !== undefined && response.refresh_token !== refreshToken;
  const newRefresh = response.refresh_token ?? refreshToken;
  const refreshExpiresAt = refreshExpiresAtFrom(now, response, adapter, refreshSecret.expiresAt);
  const previous = metadataOf(current);
  const hardExpiresAt = hardExpiresAtFrom(now, response, previous.refreshTokenHardExpiresAt);
  const metadata: ConnectionMetadata = {
    ...previous,
    ...(rotated ? { refreshTokenRotatedAt: now.toISOString() } : {}),
    ...(hardExpiresAt ? { refreshTokenHardExpiresAt: hardExpiresAt } : {}),
  };
  // Sealed under the grant's own binding (its id; older grants: the external id they were made with).
  const location = { companyId: current.companyId, provider: current.provider, externalId: current.secretExternalId, grantId: current.id };
  const secrets: SecretWrite[] = [
    { ...location, kind: "ACCESS_TOKEN", value: response.access_token, expiresAt: expiresAtFrom(result.sentAt, response, adapter.defaultAccessTokenTtlSec), lastRefreshedAt: now },
    { ...location, kind: "REFRESH_TOKEN", value: newRefresh, expiresAt: refreshExpiresAt, lastRefreshedAt: now },
    // Kept until this set is stored: a refresh whose response is lost can retry in the grace window.
    ...(rotated ? [{ ...location, kind: "PREVIOUS_REFRESH_TOKEN" as const, value: refreshToken, expiresAt: new Date(now.getTime() + adapter.refreshToken.graceSec * 1000), lastRefreshedAt: now }] : []),
  ];
  const responseTime = Date.now() - result.started;
  const write = () =>
    deps.grants.writeRefresh({
      grantId: current.id,
      owner: result.owner,
      version: current.version,
      metadata,
      secrets: (guard) => deps.secrets.sealedWrite(secrets, guard),
      unchanged: current.secrets,
      outcome: {
        health: { status: "HEALTHY", errorMessage: null, of: { grantId: current.id } },
        event: {
          companyId: current.companyId,
          action: "REFRESH",
          outcome: "SUCCESS",
          connectionType: current.provider,
          connectionId: result.connectionId ?? null,
          apiEndpoint: adapter.endpoints.token,
          requestMethod: "POST",
          responseStatus: 200,
          responseTime,
          details: { forced: force, refreshTokenRotated: rotated },
        },
        context,
        at: now,
      },
    });
  return whileDatabaseDown(write, retry);
}
