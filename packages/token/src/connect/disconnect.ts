import { TokenError } from "@tokenvault/vault";
import { secretOf } from "../connections/connection";
import { revokeGrant } from "../oauth/token-calls";
import { ProviderCallError, toTokenError } from "../oauth/token-client";
import type { ConnectionSelector } from "../connections/connection-store";
import type { ProviderAdapter } from "../providers/types";
import type { ServiceParts } from "../service-parts";
import { TokenCache } from "../tokens/token-cache";
import type { KeepConnectionsInput, KeptConnections, RequestContext } from "../types";
import { connectionPayload } from "../webhooks/webhook-events";

/** A valid access token of the connection's grant (refreshed under the lease when needed): Xero's DELETE /connections/{id} is called with it. */
export type AccessTokenOf = (connectionId: string) => Promise<string>;

export type DisconnectDeps = Pick<ServiceParts, "providers" | "connections" | "grants" | "secrets" | "audit" | "clock" | "options" | "webhooks" | "cache">;

/**
 * Removes a connection and its health. When it was the last connection its grant served, the
 * grant is revoked at the provider first and removed with its secrets; when the provider cannot
 * revoke, the connection is kept: removing the secrets would leave a live grant nobody can
 * revoke. A grant that still serves other connections (another organisation of the same Xero
 * consent) is left alone: revoking it would end those too. The `connection.disconnected` webhook is recorded in the
 * removal's transaction (the outbox the worker delivers from): both happen, or neither.
 */
export async function disconnect(deps: DisconnectDeps, selector: ConnectionSelector, context: RequestContext, accessTokenOf: AccessTokenOf): Promise<void> {
  const { connections, grants, audit, clock } = deps;
  const { connection, grant } = await connections.resolve(selector);
  const companyId = connection.companyId;
  const adapter = deps.providers.get(connection.provider);
  const shared = (await connections.listForGrant(grant.id)).length > 1;
  const refresh = shared ? undefined : secretOf(grant, "REFRESH_TOKEN");
  // A grant that still serves others stays; at Xero only this organisation leaves it (DELETE /connections/{id}).
  const tenantOnly = shared && adapter.disconnectTenants && connection.externalId ? adapter.disconnectTenants : undefined;
  const revocation = shared ? (tenantOnly ? `${adapter.endpoints.api}/connections` : undefined) : adapter.endpoints.revocation;
  const started = Date.now();
  const revokeEvent = { companyId, action: "REVOKE", connectionType: adapter.id, connectionId: connection.id, apiEndpoint: revocation ?? "none", requestMethod: tenantOnly ? "DELETE" : "POST" } as const;
  let revokeStatus = 200;
  // A token marked INVALID (reported compromised) is exactly one to revoke; only one the
  // provider itself already refused (EXPIRED after invalid_grant) has nothing left to revoke.
  if ((revocation && refresh && refresh.state !== "EXPIRED") || tenantOnly) {
    try {
      if (tenantOnly) revokeStatus = await disconnectTenant(tenantOnly, () => accessTokenOf(connection.id), connection.externalId, deps.options.providerTimeoutMs);
      else await revokeGrant(adapter, deps.secrets.open(refresh!), deps.options.providerTimeoutMs);
    } catch (error) {
      if (!(error instanceof ProviderCallError)) throw error;
      const tokenError = toTokenError(error, adapter.displayName);
      const failed = { ...revokeEvent, outcome: "FAILURE", responseStatus: error.status ?? 0, responseTime: Date.now() - started, errorMessage: tokenError.message } as const;
      await audit.writeNow(failed, context, clock.now());
      throw new TokenError(tokenError.code, `${adapter.displayName} could not revoke the connection, so it was kept. Try again shortly.`);
    }
  } else {
    revokeStatus = 204;
  }
  const now = clock.now();
  await grants.transaction(async (tx) => {
    if (!shared || tenantOnly) await audit.write(tx, { ...revokeEvent, outcome: "SUCCESS", responseStatus: revokeStatus, responseTime: Date.now() - started }, context, now);
    await connections.remove(tx, connection.id);
    // The last connection of its grant: the grant (revoked above) goes with its secrets.
    if ((await connections.countForGrant(tx, grant.id)) === 0) await grants.remove(tx, grant.id);
    await audit.write(
      tx,
      { companyId, action: "DISCONNECT", outcome: "SUCCESS", connectionType: adapter.id, connectionId: connection.id, apiEndpoint: "tokenService.disconnect", requestMethod: "DELETE", responseStatus: 200 },
      context,
      now,
    );
    const event = connectionPayload("connection.disconnected", { id: connection.id, companyId, provider: adapter.id, externalId: connection.externalId }, now);
    await deps.webhooks.record(companyId, event, tx);
  });
  deps.cache?.forget([connection.id, grant.id, TokenCache.scopeId(companyId, adapter.id)]);
}

/**
 * The organisation picker's answer: of the connections one consent made (`offered`), those not
 * kept are disconnected, each alone through `disconnectOne` (at Xero, DELETE /connections/{id}:
 * the grant keeps serving the kept ones; keeping none removes them all, the last one revoking the
 * grant). A kept id the consent did not offer is INVALID_INPUT before anything changes. Stops at
 * the first refusal (another company's id is NOT_FOUND there): what was removed before it stays
 * removed, and the picker shows what is left.
 */
export async function keepConnections(input: KeepConnectionsInput, disconnectOne: (connectionId: string) => Promise<void>): Promise<KeptConnections> {
  const offered = [...new Set(input.offered)];
  if (input.keep.some((id) => !offered.includes(id))) throw new TokenError("INVALID_INPUT", "Keep only organisations this consent connected.");
  const removed: string[] = [];
  for (const connectionId of offered.filter((id) => !input.keep.includes(id))) {
    await disconnectOne(connectionId);
    removed.push(connectionId);
  }
  return { kept: offered.filter((id) => !removed.includes(id)), removed };
}

/**
 * One organisation leaves a grant that keeps serving others. A grant that no longer refreshes
 * (REAUTH_REQUIRED) holds nothing at Xero to call with: the connection is removed here and the
 * REVOKE row says 204 (nothing called). Any other failure keeps the connection (the caller's catch).
 */
async function disconnectTenant(call: NonNullable<ProviderAdapter["disconnectTenants"]>, accessToken: () => Promise<string>, tenantId: string, timeoutMs: number): Promise<number> {
  let access: string;
  try {
    access = await accessToken();
  } catch (error) {
    if (error instanceof TokenError && error.code === "REAUTH_REQUIRED") return 204;
    throw error;
  }
  await call(access, [tenantId], timeoutMs);
  return 204;
}
