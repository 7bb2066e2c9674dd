import { TokenError } from "@tokenvault/vault";
import { secretOf } from "../connections/connection";
import { revokeGrant } from "../oauth/token-calls";
import { ProviderCallError, toTokenError } from "../oauth/token-client";
import type { ServiceParts } from "../service-parts";
import { TokenCache } from "../tokens/token-cache";
import type { RequestContext } from "../types";
import { connectionPayload } from "../webhooks/webhook-events";

export type DisconnectDeps = Pick<ServiceParts, "providers" | "connections" | "secrets" | "audit" | "clock" | "options" | "webhooks" | "cache">;

/**
 * Revokes the authorization at the provider, then removes the connection, its secrets and its
 * health. When the provider cannot revoke, the connection is kept: removing the secrets would
 * leave a live grant nobody can revoke. The `connection.disconnected` webhook is recorded in the
 * removal's transaction (the outbox the worker delivers from): both happen, or neither.
 */
export async function disconnect(deps: DisconnectDeps, companyId: string, provider: string, context: RequestContext): Promise<void> {
  const { connections, audit, clock } = deps;
  const adapter = deps.providers.get(provider);
  const connection = await connections.require(companyId, adapter.id);
  const refresh = secretOf(connection, "REFRESH_TOKEN");
  const revocation = adapter.endpoints.revocation;
  const started = Date.now();
  const revokeEvent = { companyId, action: "REVOKE", connectionType: adapter.id, apiEndpoint: revocation ?? "none", requestMethod: "POST" } as const;
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
  await connections.transaction(async (tx) => {
    await audit.write(tx, { ...revokeEvent, outcome: "SUCCESS", responseStatus: revokeStatus, responseTime: Date.now() - started }, context, now);
    await connections.remove(tx, connection);
    await audit.write(
      tx,
      { companyId, action: "DISCONNECT", outcome: "SUCCESS", connectionType: adapter.id, apiEndpoint: "tokenService.disconnect", requestMethod: "DELETE", responseStatus: 200 },
      context,
      now,
    );
    const event = connectionPayload("connection.disconnected", { id: connection.id, companyId, provider: adapter.id, externalId: connection.externalId }, now);
    await deps.webhooks.record(companyId, event, tx);
  });
  deps.cache?.forget(TokenCache.key(companyId, adapter.id));
}
