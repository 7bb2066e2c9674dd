// Storing a consent: one new grant and the connections it reaches, and the fate of the grants
// they were served by. The callback (connect-flow.ts) has checked the state and exchanged the code.
import { randomUUID } from "node:crypto";
import { TokenError } from "@tokenvault/vault";
import { secretOf, type ConnectionMetadata, type GrantWithSecrets } from "../connections/connection";
import type { Tx } from "../connections/grant-store";
import type { TokenResponse } from "../oauth/token-client";
import { expiresAtFrom, hardExpiresAtFrom, refreshExpiresAtFrom, type ProviderAdapter } from "../providers/types";
import { TokenCache } from "../tokens/token-cache";
import type { CallbackResult, ProviderTenant, RequestContext } from "../types";
import type { ServiceParts } from "../service-parts";
import { connectionPayload } from "../webhooks/webhook-events";
import { planReplacedGrant } from "./replaced-grant";
import type { RevocationQueue } from "./revocation-queue";

export type StoreConsentDeps = Pick<ServiceParts, "connections" | "grants" | "secrets" | "audit" | "cache" | "webhooks">;

/** An import's token set (import/import-connection.ts): audited as IMPORT, the grant findable by its fingerprint. */
export interface ImportedTokens {
  fingerprint: string;
  /** The provider call that verified it (the refresh, or the identity call). */
  verifiedBy: { endpoint: string; method: string };
  metadata: Pick<ConnectionMetadata, "importedMetadata">;
  details: Record<string, string | number | boolean | null>;
}

/**
 * Stores a consent as one new grant and the connections it reaches (each realm or chosen
 * organisation: created, or re-pointed from the grant that served it, keeping its id), in one
 * transaction. A grant left serving nothing is removed and its refresh token queued for
 * revocation (a grant that still serves another connection is kept, untouched). Each connection
 * created (not re-pointed) records a `connection.created` webhook in the same transaction.
 * An import (`imported`) is stored the same way, audited as IMPORT. Each connection records
 * `requestedScopes` (default: the provider's configured scopes) and the scopes granted.
 */
export async function storeConsent(
  deps: StoreConsentDeps,
  revocations: RevocationQueue,
  adapter: ProviderAdapter,
  input: { companyId: string; context: RequestContext; response: TokenResponse; requestedScopes?: readonly string[]; tenants: ProviderTenant[]; targets: ProviderTenant[]; started: number; sentAt: Date; now: Date; imported?: ImportedTokens },
): Promise<{ result: CallbackResult; pendingRevocations: string[] }> {
  const { companyId, context, response, tenants, targets, started, sentAt, now, imported } = input;
  const { connections, grants } = deps;
  const hardExpiresAt = hardExpiresAtFrom(now, response, undefined);
  const metadata: ConnectionMetadata = {
    tenants,
    scope: response.scope,
    refreshTokenRotatedAt: now.toISOString(),
    ...(hardExpiresAt ? { refreshTokenHardExpiresAt: hardExpiresAt } : {}),
    ...imported?.metadata,
  };
  // The scopes the consent asked for (its state's; an import: the configured ones), and those granted:
  // the token answer's `scope`, or (RFC 6749 §5.1: omitted when identical) the requested ones.
  const requestedScopes = [...(input.requestedScopes ?? adapter.scopes)];
  const grantedScopes = response.scope ? response.scope.split(/\s+/).filter(Boolean) : requestedScopes;
  const grantId = randomUUID();
  const touched = new Set<string>();
  const { attached, pendingRevocations } = await grants.transaction(async (tx) => {
    await grants.createGrant(tx, { id: grantId, companyId, provider: adapter.id, connectedBy: context.userId, metadata, ...(imported ? { importFingerprint: imported.fingerprint } : {}) });
    const location = { companyId, provider: adapter.id, externalId: grantId, grantId };
    await deps.secrets.write(tx, [
      { ...location, kind: "ACCESS_TOKEN", value: response.access_token, expiresAt: expiresAtFrom(sentAt, response, adapter.defaultAccessTokenTtlSec), lastRefreshedAt: now },
      { ...location, kind: "REFRESH_TOKEN", value: response.refresh_token!, expiresAt: refreshExpiresAtFrom(now, response, adapter, null), lastRefreshedAt: now },
    ]);
    const attached = [];
    for (const target of targets) {
      const { connection, previousGrantId } = await connections.attach(tx, { companyId, provider: adapter.id, externalId: target.id, displayName: target.name, grantId, connectedBy: context.userId, requestedScopes, grantedScopes });
      attached.push(connection);
      if (previousGrantId && previousGrantId !== grantId) touched.add(previousGrantId);
      // A reconnect re-points a connection that exists: only a new one is "created".
      if (previousGrantId === null) {
        const event = connectionPayload("connection.created", { id: connection.id, companyId, provider: adapter.id, externalId: connection.externalId }, now, { source: imported ? "import" : "consent" });
        await deps.webhooks.record(companyId, event, tx);
      }
    }
    await grants.recordOutcome(tx, {
      health: { status: "HEALTHY", errorMessage: null, of: { grantId } },
      event: {
        companyId,
        action: imported ? "IMPORT" : "CONNECT",
        outcome: "SUCCESS",
        connectionType: adapter.id,
        connectionId: attached.length === 1 ? attached[0]!.id : null,
        apiEndpoint: imported?.verifiedBy.endpoint ?? adapter.endpoints.token,
        requestMethod: imported?.verifiedBy.method ?? "POST",
        responseStatus: 200,
        responseTime: Date.now() - started,
        // Which scopes were asked for and granted is part of who-did-what: an admin chooses extras.
        details: { externalId: targets[0]?.id || null, tenants: tenants.length, connections: attached.length, grantId, requestedScopes: requestedScopes.join(" "), grantedScopes: grantedScopes.join(" "), ...imported?.details },
      },
      context,
      at: now,
    });
    const pendingRevocations: string[] = [];
    for (const oldId of [...touched].sort()) {
      if ((await connections.countForGrant(tx, oldId)) > 0) continue; // still serves another organisation
      const replaced = await grants.lockForUpdate(tx, oldId);
      if (!replaced) continue;
      await grants.remove(tx, oldId);
      const queued = await retire(deps, revocations, tx, adapter, replaced, tenants, response.refresh_token!, { companyId, context, now });
      if (queued) pendingRevocations.push(queued);
    }
    return { attached, pendingRevocations };
  });
  // The replaced grants' tokens and what the company's reads resolved to are served no more.
  deps.cache?.forget([...touched, ...attached.map((c) => c.id), TokenCache.scopeId(companyId, adapter.id)]);
  const result: CallbackResult = {
    provider: adapter.id,
    companyId,
    externalId: attached[0]?.externalId || null,
    connections: attached.map((c) => ({ id: c.id, externalId: c.externalId || null, displayName: c.displayName })),
  };
  return { result, pendingRevocations };
}

/** A replaced grant that serves nothing any more: its revocation queued (returns the row id), or a REVOKE row saying why none is needed. */
async function retire(
  deps: StoreConsentDeps,
  revocations: RevocationQueue,
  tx: Tx,
  adapter: ProviderAdapter,
  replaced: GrantWithSecrets,
  tenants: ProviderTenant[],
  newRefreshToken: string,
  at: { companyId: string; context: RequestContext; now: Date },
): Promise<string | null> {
  const { companyId, context, now } = at;
  const oldRefresh = secretOf(replaced, "REFRESH_TOKEN");
  const refreshToken = oldRefresh ? deps.secrets.open(oldRefresh) : null;
  const plan = planReplacedGrant(adapter, replaced, tenants, { sameGrant: refreshToken === newRefreshToken });
  if (plan.action === "revoke") {
    // A plan to revoke implies a live refresh token (planReplacedGrant checked it).
    return revocations.enqueue(tx, { companyId, provider: adapter.id, externalId: replaced.secretExternalId, refreshToken: refreshToken!, tenantIds: plan.tenantIds });
  }
  // Nothing to call the provider for, and the row says why.
  await deps.audit.write(
    tx,
    { companyId, action: "REVOKE", outcome: "SUCCESS", connectionType: adapter.id, apiEndpoint: "none", requestMethod: "POST", responseStatus: 204, details: { reason: "replaced_by_reconnect", skipped: plan.reason } },
    context,
    now,
  );
  return null;
}

/**
 * What a consent connects: the realm the redirect named; else the organisations granted (all,
 * or those an admin chose: each must be one the consent granted); else the account itself ("").
 */
export function targetsOf(externalIdFromRedirect: string | null, tenants: ProviderTenant[], chosen: string[] | null): ProviderTenant[] {
  if (externalIdFromRedirect !== null) return [{ id: externalIdFromRedirect, name: "" }];
  if (chosen !== null) {
    const missing = chosen.filter((id) => !tenants.some((t) => t.id === id));
    if (missing.length > 0) throw new TokenError("INVALID_INPUT", `These organisations were not granted by this consent: ${missing.join(", ")}.`);
    return tenants.filter((t) => chosen.includes(t.id));
  }
  if (tenants.length > 0) return tenants;
  return [{ id: "", name: "" }];
}

