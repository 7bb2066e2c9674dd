import { Prisma, type PrismaClient, type TokenKind, type TokenSecret } from "@tokenvault/db";
import { blindIndexes, DecryptionError, type SealedSecret, type Vault, type VaultBinding } from "@tokenvault/vault";
import type { Logger } from "../logger";
import type { TokenMetrics } from "../metrics/token-metrics";
import { encryptionsSql, recordEncryptions, warnNearLimit } from "./key-usage";

type Tx = Prisma.TransactionClient;

export interface SecretLocation {
  companyId: string;
  provider: string;
  kind: TokenKind;
  externalId: string;
}

export interface SecretWrite extends SecretLocation {
  value: string;
  /** The grant it belongs to (null: a static secret). */
  grantId?: string | null;
  expiresAt?: Date | null;
  lastRefreshedAt?: Date | null;
}

export function bindingOf(location: SecretLocation): VaultBinding {
  return { companyId: location.companyId, provider: location.provider, kind: location.kind, externalId: location.externalId };
}

/**
 * The only code that turns token values into TokenSecret rows and back (row states are
 * ConnectionStore's). Every value is sealed by the vault, bound to its (company, provider,
 * kind, external id), before Prisma sees it.
 */
export class SecretStore {
  constructor(
    private readonly vault: Vault,
    private readonly logger: Logger,
    private readonly metrics: TokenMetrics | null = null,
  ) {}

  /**
   * A value's blind index (keyed HMAC) under every key of the ring, the current key's first:
   * lets a row be found by a token it must never hold (an imported grant by its refresh token).
   */
  fingerprints(purpose: string, value: string): string[] {
    return blindIndexes(this.vault.keyRing, purpose, value);
  }

  /** Every seal goes through here, so the vault metric counts them all. */
  private seal(value: string, binding: VaultBinding): SealedSecret {
    this.metrics?.vaultOperations.inc({ operation: "seal" });
    return this.vault.seal(value, binding);
  }

  /** Seals and upserts secrets inside the caller's transaction, counting the encryptions. */
  async write(tx: Tx, secrets: readonly SecretWrite[]): Promise<void> {
    if (secrets.length === 0) return;
    const vault = this.vault;
    for (const secret of secrets) {
      const sealed = this.seal(secret.value, bindingOf(secret));
      const fields = {
        ciphertext: sealed.ciphertext,
        keyId: sealed.keyId,
        grantId: secret.grantId ?? null,
        expiresAt: secret.expiresAt ?? null,
        lastRefreshedAt: secret.lastRefreshedAt ?? null,
        state: "VALID" as const,
        lastError: null,
      };
      await tx.tokenSecret.upsert({
        where: {
          companyId_provider_kind_externalId: {
            companyId: secret.companyId,
            provider: secret.provider,
            kind: secret.kind,
            externalId: secret.externalId,
          },
        },
        create: { companyId: secret.companyId, provider: secret.provider, kind: secret.kind, externalId: secret.externalId, ...fields },
        update: fields,
      });
    }
    await recordEncryptions(tx, vault.currentKeyId, secrets.length, this.logger);
  }

  /**
   * The same write as `write`, as fragments of one statement (CTE bodies) applied only when
   * `guard` holds: the refresh write is one statement, so one round trip. `counted` takes the
   * "encryptions" the fragment returned and warns as `write` does. The upsert returns the rows
   * as written (the refresh hands them to its callers without reading them back).
   */
  sealedWrite(secrets: readonly SecretWrite[], guard: Prisma.Sql): { upsert: Prisma.Sql; encryptions: Prisma.Sql; counted: (total: bigint) => void } {
    const keyId = this.vault.currentKeyId;
    const rows = secrets.map((secret) => {
      const sealed = this.seal(secret.value, bindingOf(secret));
      return Prisma.sql`(${secret.companyId}, ${secret.provider}, ${secret.kind}::"TokenKind", ${secret.externalId}, ${secret.grantId ?? null}::uuid,
        ${sealed.ciphertext}, ${sealed.keyId}, ${secret.expiresAt ?? null}::timestamptz, ${secret.lastRefreshedAt ?? null}::timestamptz)`;
    });
    const upsert = Prisma.sql`
      INSERT INTO "TokenSecret" ("id", "companyId", "provider", "kind", "externalId", "grantId", "ciphertext", "keyId", "expiresAt", "lastRefreshedAt", "state", "lastError", "createdAt", "updatedAt")
      SELECT gen_random_uuid(), v.*, 'VALID', NULL, now(), now()
        FROM (VALUES ${Prisma.join(rows)}) AS v("companyId", "provider", "kind", "externalId", "grantId", "ciphertext", "keyId", "expiresAt", "lastRefreshedAt")
       WHERE ${guard}
      ON CONFLICT ("companyId", "provider", "kind", "externalId") DO UPDATE
        SET "ciphertext" = EXCLUDED."ciphertext", "keyId" = EXCLUDED."keyId", "grantId" = EXCLUDED."grantId",
            "expiresAt" = EXCLUDED."expiresAt", "lastRefreshedAt" = EXCLUDED."lastRefreshedAt", "state" = 'VALID', "lastError" = NULL, "updatedAt" = now()
      RETURNING *`;
    return { upsert, encryptions: encryptionsSql(keyId, secrets.length, guard), counted: (total) => void warnNearLimit(keyId, total, secrets.length, this.logger) };
  }

  /** The sealed row at `location`, or null. */
  find(db: Tx | PrismaClient, location: SecretLocation): Promise<TokenSecret | null> {
    const { companyId, provider, kind, externalId } = location;
    return db.tokenSecret.findUnique({ where: { companyId_provider_kind_externalId: { companyId, provider, kind, externalId } } });
  }

  /** Records that a secret was handed out. */
  async touch(db: Tx | PrismaClient, id: string, at: Date): Promise<void> {
    await db.tokenSecret.update({ where: { id }, data: { lastUsedAt: at } });
  }

  /** Seals a value kept outside the vault table (a PKCE verifier), bound to its own place, counting the encryption in `tx`. */
  async sealCounted(tx: Tx, value: string, binding: VaultBinding): Promise<string> {
    const sealed = this.seal(value, binding);
    await recordEncryptions(tx, sealed.keyId, 1, this.logger);
    return sealed.ciphertext;
  }

  /** Like sealCounted, also saying which key sealed it (for a table that tracks its keys, as PendingRevocation does). */
  async sealWithKey(tx: Tx, value: string, binding: VaultBinding): Promise<{ ciphertext: string; keyId: string }> {
    const sealed = this.seal(value, binding);
    await recordEncryptions(tx, sealed.keyId, 1, this.logger);
    return { ciphertext: sealed.ciphertext, keyId: sealed.keyId };
  }

  openSealed(ciphertext: string, binding: VaultBinding): string {
    this.metrics?.vaultOperations.inc({ operation: "open" });
    return this.vault.open(ciphertext, binding);
  }

  /** Opens a row read from the vault table. Throws DecryptionError when it cannot, and logs why (never the value). */
  open(row: Pick<TokenSecret, "companyId" | "provider" | "kind" | "externalId" | "ciphertext">): string {
    this.metrics?.vaultOperations.inc({ operation: "open" });
    try {
      return this.vault.open(row.ciphertext, bindingOf(row));
    } catch (error) {
      if (error instanceof DecryptionError) {
        this.logger.error("vault secret could not be opened", { companyId: row.companyId, provider: row.provider, kind: row.kind, reason: error.reason, keyId: error.keyId });
      }
      throw error;
    }
  }
}
