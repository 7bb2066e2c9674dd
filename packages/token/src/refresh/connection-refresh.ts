// The background worker's refresh of one connection, named by the id its job carries: one read,
// then the Refresher (single flight, lease, re-read under the lease, fenced write), and an answer
// saying what happened, so the worker never reads the row again to find out.
import { TokenError } from "@tokenvault/vault";
import { secretOf, type GrantWithSecrets } from "../connections/connection";
import { toUpkeep, type UpkeepConnection } from "../connections/connection-upkeep-store";
import type { ProviderAdapter } from "../providers/types";
import type { ServiceParts } from "../service-parts";
import type { RequestContext } from "../types";
import { requireName } from "../validation";
import { CooldownError } from "./freshness";
import type { RefreshRequest } from "./refresher";

/** refresh-ahead: refresh when the access token expires within the margin. keep-alive: refresh now (forced), so the grant does not idle out. */
export type ConnectionRefreshReason = "refresh-ahead" | "keep-alive";

/**
 * refreshed: the access token was replaced (by this call, or by anyone since the connection was read).
 * fresh: nothing to do, the token is valid beyond the margin. cooldown: the provider failed a moment
 * ago and is not asked again yet. reauth_required: the grant is over. failed: the refresh failed
 * (`error` says why). skipped: the caller's `around` did not run the refresh, or every
 * connection the grant serves is paused.
 */
export type ConnectionRefreshOutcome = "refreshed" | "fresh" | "cooldown" | "reauth_required" | "failed" | "skipped";

export interface ConnectionRefresh {
  outcome: ConnectionRefreshOutcome;
  /** The access token's expiry afterwards (the new one when refreshed); null when it has none. */
  expiresAt: Date | null;
  /** The connection as read before the refresh (no secret): whom to notify, its failure streak. */
  connection: UpkeepConnection;
  /** Why: set for failed and reauth_required, and for a cooldown that left no valid token. */
  error: TokenError | null;
}

export interface ConnectionRefreshOptions {
  /** Who asked; recorded on the refresh's audit row. Default: "system". */
  context?: RequestContext;
  /** refresh-ahead only: the margin (default: the service's refreshMarginMs). */
  marginMs?: number;
  /**
   * Given the connection as read, runs `refresh` (the worker wraps it in its concurrency limits)
   * or leaves it uncalled to skip it. Called before any lease is claimed.
   */
  around?: (connection: UpkeepConnection, refresh: () => Promise<void>) => Promise<void>;
}

export type EnsureFresh = (adapter: ProviderAdapter, connection: GrantWithSecrets, request: RefreshRequest) => Promise<GrantWithSecrets>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const refreshedAt = (connection: GrantWithSecrets) => secretOf(connection, "ACCESS_TOKEN")?.lastRefreshedAt?.getTime() ?? 0;
const expiresAt = (connection: GrantWithSecrets) => secretOf(connection, "ACCESS_TOKEN")?.expiresAt ?? null;

async function connectionGrant(deps: Pick<ServiceParts, "grants" | "connections">, connectionId: string): Promise<GrantWithSecrets | null> {
  const [found] = await deps.connections.find({ connectionId });
  return found ? found.grant : null;
}

/**
 * Refreshes the grant `connectionId` names (a grant's id, or a connection's: then its grant) and says what happened. Throws NO_TOKEN when it
 * names none (INVALID_INPUT when it is no id), and the database's failures: those are no outcome
 * of the connection's.
 */
export async function refreshConnection(
  deps: Pick<ServiceParts, "grants" | "connections" | "providers" | "clock" | "options">,
  ensureFresh: EnsureFresh,
  connectionId: string,
  reason: ConnectionRefreshReason,
  options: ConnectionRefreshOptions = {},
): Promise<ConnectionRefresh> {
  if (typeof connectionId !== "string" || !UUID.test(connectionId)) throw new TokenError("INVALID_INPUT", "connectionId must be a connection's id (a UUID).");
  const userId = requireName("userId", options.context?.userId ?? "system");
  // The worker's jobs name grants (the scan finds grants); an id of a connection means its grant.
  const before = (await deps.grants.loadById(connectionId)) ?? (await connectionGrant(deps, connectionId));
  if (!before) throw new TokenError("NO_TOKEN", "This connection does not exist (any more).");
  const connection = toUpkeep({ ...before, connections: await deps.connections.listForGrant(before.id) });
  let result: ConnectionRefresh = { outcome: "skipped", expiresAt: expiresAt(before), connection, error: null };
  // Every connection of the grant is paused: not refreshed, not kept alive (skipped, before any lease).
  if (connection.paused) return result;
  const refresh = async () => {
    try {
      const adapter = deps.providers.get(before.provider);
      // A keep-alive is forced, with the service's margin (as refreshNow); refresh-ahead waits for the refresh inside its margin.
      const marginMs = reason === "refresh-ahead" ? (options.marginMs ?? deps.options.refreshMarginMs) : deps.options.refreshMarginMs;
      const after = await ensureFresh(adapter, before, { marginMs, force: reason === "keep-alive", wait: true, context: { ...options.context, userId } });
      const renewed = refreshedAt(after) > refreshedAt(before);
      const coolingDown = !!after.cooldownUntil && after.cooldownUntil > deps.clock.now();
      result = { outcome: renewed ? "refreshed" : coolingDown ? "cooldown" : "fresh", expiresAt: expiresAt(after), connection, error: null };
    } catch (error) {
      // Not connected any more, or the database failed: thrown, not an outcome of the connection's.
      if (!(error instanceof TokenError) || error.code === "NO_TOKEN" || error.code === "VAULT_UNAVAILABLE") throw error;
      const outcome = error instanceof CooldownError ? "cooldown" : error.code === "REAUTH_REQUIRED" ? "reauth_required" : "failed";
      result = { outcome, expiresAt: expiresAt(before), connection, error };
    }
  };
  await (options.around ? options.around(connection, refresh) : refresh());
  return result;
}
