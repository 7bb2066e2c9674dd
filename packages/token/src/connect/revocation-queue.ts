import { randomUUID } from "node:crypto";
import type { PendingRevocation, PrismaClient } from "@tokenvault/db";
import { DecryptionError, type Vault, type VaultBinding } from "@tokenvault/vault";
import type { AuditEvent } from "../audit/audit-trail";
import type { Tx } from "../connections/grant-store";
import { refreshGrant, revokeGrant } from "../oauth/token-calls";
import { ProviderCallError, toTokenError } from "../oauth/token-client";
import type { Logger } from "../logger";
import type { ProviderAdapter } from "../providers/types";
import { SYSTEM } from "../options";
import type { ServiceParts } from "../service-parts";
import { recordEncryptions } from "../secrets/key-usage";
import type { Resealer } from "../secrets/rotation";
import type { RequestContext } from "../types";

export type RevocationQueueDeps = Pick<ServiceParts, "prisma" | "providers" | "secrets" | "audit" | "clock" | "logger" | "options">;

/** A grant a reconnect replaced, to revoke at the provider. */
export interface ReplacedGrant {
  companyId: string;
  provider: string;
  externalId: string;
  refreshToken: string;
  /** Xero: the old authorization's tenants the new grant no longer serves. Null: revoke the token. */
  tenantIds: string[] | null;
}

export interface RevocationRetryReport {
  attempted: number;
  revoked: number;
  /** Still pending (kept, retried later with back-off). */
  failed: number;
}

/** While one process attempts a row, others skip it (a crashed attempt is retried after this). */
const CLAIM_MS = 5 * 60_000;
const FIRST_BACKOFF_MS = 60_000;
const MAX_BACKOFF_MS = 6 * 3600_000;

/** What a pending revocation's sealed token is bound to (key rotation re-seals it with the same). */
export function pendingRevocationBinding(row: { companyId: string; provider: string; id: string }): VaultBinding {
  return { companyId: row.companyId, provider: row.provider, kind: "PENDING_REVOCATION", externalId: row.id };
}

/** 1 min, 2 min, 4 min ... capped at 6 h: a provider outage is not hammered, and nothing is dropped. */
export function backoffMs(attempts: number): number {
  return Math.min(FIRST_BACKOFF_MS * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS);
}

/**
 * The outbox of replaced grants: the only writer of PendingRevocation. A reconnect records the
 * old grant in its own transaction (so a crash cannot lose it), then tries to revoke it at once;
 * what the provider refuses or cannot answer stays here, sealed, until `retryDue` succeeds.
 * A row leaves the table only when the provider confirmed (or said the grant is already gone).
 */
export class RevocationQueue {
  constructor(private readonly deps: RevocationQueueDeps) {}

  /** Records a replaced grant inside the caller's transaction; returns the row id. */
  async enqueue(tx: Tx, grant: ReplacedGrant): Promise<string> {
    const id = randomUUID();
    const sealed = await this.deps.secrets.sealWithKey(tx, grant.refreshToken, pendingRevocationBinding({ ...grant, id }));
    await tx.pendingRevocation.create({
      data: {
        id,
        companyId: grant.companyId,
        provider: grant.provider,
        externalId: grant.externalId,
        sealed: sealed.ciphertext,
        keyId: sealed.keyId,
        ...(grant.tenantIds ? { tenantIds: grant.tenantIds } : {}),
        nextAttemptAt: this.deps.clock.now(),
      },
    });
    return id;
  }

  /** Attempts one row now (right after the reconnect), unless another process holds it. True when revoked. */
  async attemptNow(id: string, context: RequestContext): Promise<boolean> {
    const now = this.deps.clock.now();
    const { count } = await this.deps.prisma.pendingRevocation.updateMany({ where: { id, nextAttemptAt: { lte: now } }, data: { nextAttemptAt: new Date(now.getTime() + CLAIM_MS) } });
    if (count === 0) return false;
    const row = await this.deps.prisma.pendingRevocation.findUnique({ where: { id } });
    return row ? this.attempt(row, context) : false;
  }

  /** Attempts every row whose next attempt is due, oldest first, at most `limit`. */
  async retryDue(limit = 100): Promise<RevocationRetryReport> {
    const now = this.deps.clock.now();
    // Claimed in one statement: concurrent workers take disjoint rows.
    const rows = await this.deps.prisma.$queryRaw<PendingRevocation[]>`
      UPDATE "PendingRevocation" SET "nextAttemptAt" = ${new Date(now.getTime() + CLAIM_MS)}, "updatedAt" = ${now}
       WHERE "id" IN (SELECT "id" FROM "PendingRevocation" WHERE "nextAttemptAt" <= ${now}
                       ORDER BY "nextAttemptAt" LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING *`;
    const report: RevocationRetryReport = { attempted: rows.length, revoked: 0, failed: 0 };
    for (const row of rows) {
      if (await this.attempt(row, SYSTEM)) report.revoked += 1;
      else report.failed += 1;
    }
    return report;
  }

  private async attempt(row: PendingRevocation, context: RequestContext): Promise<boolean> {
    const started = Date.now();
    let adapter: ProviderAdapter | null = null;
    let endpoint = "none";
    try {
      adapter = this.deps.providers.get(row.provider);
      const token = this.deps.secrets.openSealed(row.sealed, pendingRevocationBinding(row));
      endpoint = await this.revokeAtProvider(adapter, row, token);
    } catch (error) {
      // Whatever failed (the provider, its configuration, the key that sealed the row), the row stays.
      const reason = error instanceof ProviderCallError && adapter ? toTokenError(error, adapter.displayName).message : "The revocation could not be attempted.";
      if (!(error instanceof ProviderCallError)) this.deps.logger.error("pending revocation failed", { provider: row.provider, id: row.id, error: error instanceof Error ? error.name : "unknown" });
      const attempts = row.attempts + 1;
      const now = this.deps.clock.now();
      await this.deps.prisma.pendingRevocation.update({ where: { id: row.id }, data: { attempts, lastError: reason, nextAttemptAt: new Date(now.getTime() + backoffMs(attempts)) } });
      const status = error instanceof ProviderCallError ? (error.status ?? 0) : 0;
      await this.deps.audit.writeNow({ ...this.event(row, endpoint, started), outcome: "FAILURE", responseStatus: status, errorMessage: reason, details: { reason: "replaced_by_reconnect", attempts, pendingRevocationId: row.id } }, context, now);
      return false;
    }
    const now = this.deps.clock.now();
    await this.deps.prisma.$transaction(async (tx) => {
      await tx.pendingRevocation.delete({ where: { id: row.id } });
      await this.deps.audit.write(tx, { ...this.event(row, endpoint, started), outcome: "SUCCESS", responseStatus: 200, details: { reason: "replaced_by_reconnect", attempts: row.attempts + 1, tenants: tenantIdsOf(row)?.length ?? null } }, context, now);
    });
    return true;
  }

  private event(row: PendingRevocation, endpoint: string, started: number): Omit<AuditEvent, "outcome" | "responseStatus"> {
    return { companyId: row.companyId, action: "REVOKE", connectionType: row.provider, apiEndpoint: endpoint, requestMethod: endpoint.endsWith("/connections") ? "DELETE" : "POST", responseTime: Date.now() - started };
  }

  /**
   * Revokes at the provider; returns the endpoint called last. Throws ProviderCallError when the
   * provider refused or failed. Xero (tenant ids): the stale tenants are disconnected with the old
   * grant's access, then its refresh token (rotated by that refresh) is revoked, ending the grant.
   */
  private async revokeAtProvider(adapter: ProviderAdapter, row: PendingRevocation, token: string): Promise<string> {
    const timeoutMs = this.deps.options.providerTimeoutMs;
    const tenantIds = tenantIdsOf(row);
    let current = token;
    if (tenantIds && tenantIds.length > 0 && adapter.disconnectTenants) {
      let access: string;
      try {
        const response = await refreshGrant(adapter, token, timeoutMs);
        access = response.access_token;
        // Xero rotates on every use: keep the new value, or a later retry would hold a spent token.
        if (response.refresh_token && response.refresh_token !== token) {
          current = response.refresh_token;
          await this.reseal(row, current);
        }
      } catch (error) {
        // The old grant no longer refreshes: nothing is left to disconnect or revoke with it.
        if (error instanceof ProviderCallError && error.kind === "invalid_grant") return adapter.endpoints.token;
        throw error;
      }
      await adapter.disconnectTenants(access, tenantIds, timeoutMs);
      if (!adapter.endpoints.revocation) return `${adapter.endpoints.api}/connections`;
    }
    if (!adapter.endpoints.revocation) return "none";
    await revokeGrant(adapter, current, timeoutMs);
    return adapter.endpoints.revocation;
  }

  private async reseal(row: PendingRevocation, refreshToken: string): Promise<void> {
    await this.deps.prisma.$transaction(async (tx) => {
      const sealed = await this.deps.secrets.sealWithKey(tx, refreshToken, pendingRevocationBinding(row));
      await tx.pendingRevocation.update({ where: { id: row.id }, data: { sealed: sealed.ciphertext, keyId: sealed.keyId } });
    });
  }
}

function tenantIdsOf(row: PendingRevocation): string[] | null {
  return Array.isArray(row.tenantIds) ? row.tenantIds.filter((t): t is string => typeof t === "string") : null;
}

/**
 * A replaced grant whose revocation the provider refused waits in PendingRevocation, its refresh
 * token sealed, for the worker's retry. It moves to the current key too: removing the old key
 * must not leave a live grant that can no longer be revoked. Few rows: one pass, compare-and-set each.
 */
async function resealPendingRevocations(prisma: PrismaClient, vault: Vault, logger: Logger): Promise<{ moved: number; unknownKey: number; failed: number }> {
  const rows = await prisma.pendingRevocation.findMany({ where: { keyId: { not: vault.currentKeyId } }, select: { id: true, companyId: true, provider: true, sealed: true } });
  const result = { moved: 0, unknownKey: 0, failed: 0 };
  for (const row of rows) {
    const binding = pendingRevocationBinding(row);
    try {
      const resealed = vault.seal(vault.open(row.sealed, binding), binding);
      const { count } = await prisma.pendingRevocation.updateMany({ where: { id: row.id, sealed: row.sealed }, data: { sealed: resealed.ciphertext, keyId: resealed.keyId } });
      result.moved += count;
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      if (error.reason === "UNKNOWN_KEY") result.unknownKey++;
      else result.failed++;
      logger.warn("pending revocation could not be re-encrypted", { revocationId: row.id, reason: error.reason });
    }
  }
  if (result.moved > 0) await prisma.$transaction((tx) => recordEncryptions(tx, vault.currentKeyId, result.moved, logger));
  return result;
}

/** Key rotation's resealer of the pending revocations (see key-rotation.ts). */
export const pendingRevocationResealer: Resealer = { reportAs: "pendingRevocations", reseal: resealPendingRevocations };
