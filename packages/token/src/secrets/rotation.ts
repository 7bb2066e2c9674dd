import type { PrismaClient } from "@tokenvault/db";
import { DecryptionError, envelopeKeyId, type Vault } from "@tokenvault/vault";
import type { Logger } from "../logger";
import { recordEncryptions } from "./key-usage";
import { bindingOf } from "./secret-store";

/** What one resealer moved to the current key, and the records it could not open. */
export interface ResealCount {
  moved: number;
  unknownKey: number;
  failed: number;
}

/**
 * Records sealed outside TokenSecret are re-sealed by the module that owns them, which hands
 * rotateKeysWith a resealer (key-rotation.ts lists them all): rotation never imports its
 * customers. `reportAs` names the report's count of the records moved.
 */
export interface Resealer {
  reportAs: "pendingRevocations" | "webhookEndpoints";
  reseal(prisma: PrismaClient, vault: Vault, logger: Logger): Promise<ResealCount>;
}

export interface KeyHolding {
  keyId: string;
  records: number;
  /** The key is in the ring (current or previous). */
  configured: boolean;
  current: boolean;
  encryptions: bigint;
}

export interface RotationProgress {
  done: number;
  total: number;
}

export interface RotationReport {
  currentKeyId: string;
  reencrypted: number;
  /** Rows rewritten by someone else (a refresh) while the batch ran: already under the current key. */
  changedConcurrently: number;
  /** Rows sealed by a key that is not configured: they cannot be read until it is restored. */
  unknownKey: number;
  /** Rows that failed authentication: corrupted or moved; left as they are. */
  failed: number;
  /** PKCE verifiers of connects still in progress, moved to the current key with the records. */
  pendingConnects: number;
  /** Replaced grants still waiting for their revocation (PendingRevocation), moved to the current key. */
  pendingRevocations: number;
  /** Companies' webhook signing secrets moved to the current key (their failures count in unknownKey / failed). */
  webhookEndpoints: number;
  holdings: KeyHolding[];
}

/** How many vault records each key still holds, and whether the ring can open them. */
export async function keyHoldings(prisma: PrismaClient, vault: Vault): Promise<KeyHolding[]> {
  const [groups, revocations, usage] = await Promise.all([
    prisma.tokenSecret.groupBy({ by: ["keyId"], _count: { _all: true } }),
    prisma.pendingRevocation.groupBy({ by: ["keyId"], _count: { _all: true } }),
    prisma.encryptionKeyUsage.findMany(),
  ]);
  const records = new Map<string, number>();
  for (const g of [...groups, ...revocations]) records.set(g.keyId, (records.get(g.keyId) ?? 0) + g._count._all);
  const encryptions = new Map(usage.map((u) => [u.keyId, u.encryptions]));
  const ids = new Set([...vault.keyRing.ids, ...records.keys()]);
  return [...ids]
    .map((keyId) => ({
      keyId,
      records: records.get(keyId) ?? 0,
      configured: vault.keyRing.get(keyId) !== undefined,
      current: keyId === vault.currentKeyId,
      encryptions: encryptions.get(keyId) ?? 0n,
    }))
    .sort((a, b) => Number(b.current) - Number(a.current) || b.records - a.records || a.keyId.localeCompare(b.keyId));
}

export interface RotateKeysOptions {
  prisma: PrismaClient;
  vault: Vault;
  logger: Logger;
  batchSize?: number;
  onProgress?: (progress: RotationProgress) => void;
}

/**
 * Re-encrypts every vault record under the current key, in batches. Idempotent and resumable:
 * each batch commits on its own and selects only rows not yet under the current key, so a
 * crash loses at most one uncommitted batch and a rerun continues. Each row is written with a
 * compare-and-set on its old ciphertext, so a refresh that rewrote it meanwhile wins.
 * Then each resealer moves the records its module owns, in the order given.
 */
export async function rotateKeysWith(resealers: readonly Resealer[], options: RotateKeysOptions): Promise<RotationReport> {
  const { prisma, vault, logger } = options;
  const batchSize = options.batchSize ?? 200;
  const currentKeyId = vault.currentKeyId;
  const report: RotationReport = { currentKeyId, reencrypted: 0, changedConcurrently: 0, unknownKey: 0, failed: 0, pendingConnects: 0, pendingRevocations: 0, webhookEndpoints: 0, holdings: [] };

  const total = await prisma.tokenSecret.count({ where: { keyId: { not: currentKeyId } } });
  let done = 0;
  let afterId: string | undefined;
  options.onProgress?.({ done, total });

  for (;;) {
    const rows = await prisma.tokenSecret.findMany({
      where: { keyId: { not: currentKeyId }, ...(afterId ? { id: { gt: afterId } } : {}) },
      orderBy: { id: "asc" },
      take: batchSize,
      select: { id: true, companyId: true, provider: true, kind: true, externalId: true, ciphertext: true, keyId: true },
    });
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]?.id;

    const rewrites: { id: string; oldCiphertext: string; ciphertext: string }[] = [];
    for (const row of rows) {
      try {
        const plaintext = vault.open(row.ciphertext, bindingOf(row));
        rewrites.push({ id: row.id, oldCiphertext: row.ciphertext, ciphertext: vault.seal(plaintext, bindingOf(row)).ciphertext });
      } catch (error) {
        if (!(error instanceof DecryptionError)) throw error;
        if (error.reason === "UNKNOWN_KEY") report.unknownKey++;
        else report.failed++;
        logger.warn("vault record could not be re-encrypted", { secretId: row.id, keyId: row.keyId, reason: error.reason });
      }
    }

    await prisma.$transaction(async (tx) => {
      let written = 0;
      for (const rewrite of rewrites) {
        const { count } = await tx.tokenSecret.updateMany({
          where: { id: rewrite.id, ciphertext: rewrite.oldCiphertext },
          data: { ciphertext: rewrite.ciphertext, keyId: currentKeyId },
        });
        written += count;
      }
      await recordEncryptions(tx, currentKeyId, rewrites.length, logger);
      report.reencrypted += written;
      report.changedConcurrently += rewrites.length - written;
    });
    done += rows.length;
    options.onProgress?.({ done, total: Math.max(total, done) });
  }

  report.pendingConnects = await rotatePendingVerifiers(prisma, vault, logger);
  for (const resealer of resealers) {
    const count = await resealer.reseal(prisma, vault, logger);
    report[resealer.reportAs] = count.moved;
    report.unknownKey += count.unknownKey;
    report.failed += count.failed;
  }
  report.holdings = await keyHoldings(prisma, vault);
  return report;
}

/**
 * A consent in progress holds its PKCE verifier sealed in OAuthState for a few minutes. It
 * moves to the current key too, so removing the old key right after rotating does not break
 * a connect that is under way. Expired and consumed states are never opened again: left alone.
 */
async function rotatePendingVerifiers(prisma: PrismaClient, vault: Vault, logger: Logger): Promise<number> {
  const pending = await prisma.oAuthState.findMany({
    where: { codeVerifierSealed: { not: null }, consumedAt: null, expiresAt: { gt: new Date() } },
    select: { id: true, stateHash: true, companyId: true, provider: true, codeVerifierSealed: true },
  });
  let moved = 0;
  for (const state of pending) {
    const sealed = state.codeVerifierSealed!;
    if (envelopeKeyId(sealed) === vault.currentKeyId) continue;
    const binding = { companyId: state.companyId, provider: state.provider, kind: "PKCE_VERIFIER", externalId: state.stateHash };
    try {
      const resealed = vault.seal(vault.open(sealed, binding), binding).ciphertext;
      const { count } = await prisma.oAuthState.updateMany({ where: { id: state.id, codeVerifierSealed: sealed }, data: { codeVerifierSealed: resealed } });
      moved += count;
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      logger.warn("pending connect could not be re-encrypted", { stateId: state.id, reason: error.reason });
    }
  }
  if (moved > 0) await prisma.$transaction((tx) => recordEncryptions(tx, vault.currentKeyId, moved, logger));
  return moved;
}
