import { TokenError } from "@tokenvault/vault";
import { secretOf } from "../connections/connection";
import { revokeGrant } from "../oauth/token-calls";
import { ProviderCallError, toTokenError } from "../oauth/token-client";
import type { ConnectionSelector } from "../connections/connection-store";
import type { ServiceParts } from "../service-parts";
import { TokenCache } from "../tokens/token-cache";
import type { RequestContext } from "../types";
import { connectionPayload } from "../webhooks/webhook-events";

export type DisconnectDeps = Pick<ServiceParts, "providers" | "connections" | "grants" | "secrets" | "audit" | "clock" | "options" | "webhooks" | "cache">;

/**
 * Removes a connection and its health. When it was the last connection its grant served, the
 * grant is revoked at the provider first and removed with its secrets; when the provider cannot
 * revoke, the connection is kept: removing the secrets would leave a live grant nobody can
 * revoke. A grant that still serves other connections (another organisation of the same Xero
 * consent) is left alone: revoking it would end those too. The `connection.disconnected` webhook is recorded in the
 * removal's transaction (the outbox the worker delivers from): both happen, or neither.
 */
export async function disconnect(deps: DisconnectDeps, selector: ConnectionSelector, context: RequestContext): Promise<void> {
  const { connections, grants, audit, clock } = deps;
  const { connection, grant } = await connections.resolve(selector);
  const companyId = connection.companyId;
  const adapter = deps.providers.get(connection.provider);
  const shared = (await connections.listForGrant(grant.id)).length > 1;
  const refresh = shared ? undefined : secretOf(grant, "REFRESH_TOKEN");
  const revocation = shared ? undefined : adapter.endpoints.revocation;
  const started = Date.now();
  const revokeEvent = { companyId, action: "REVOKE", connectionType: adapter.id, connectionId: connection.id, apiEndpoint: revocation ?? "none", requestMethod: "POST" } as const;
  let revokeStatus = 200;
  // A token marked INVALID (reported compromised) is exactly one to revoke; only one the
  // provider itself already refused (EXPIRED after invalid_grant) has nothing left to revoke.
  if (revocation && refresh && refresh.state !== "EXPIRED") {
    try {
      await revokeGrant(adapter, deps.secrets.open(refresh), deps.options.providerTimeoutMs);
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
    if (!shared) await audit.write(tx, { ...revokeEvent, outcome: "SUCCESS", responseStatus: revokeStatus, responseTime: Date.now() - started }, context, now);
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
