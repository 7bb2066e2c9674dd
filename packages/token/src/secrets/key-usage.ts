import { Prisma } from "@tokenvault/db";
import type { Logger } from "../logger";

/**
 * With random 96-bit nonces NIST SP 800-38D caps one key at 2^32 encryptions. The service
 * warns from 2^28 (1/16 of the cap) so rotation happens long before the limit matters.
 */
export const NONCE_LIMIT = 2n ** 32n;
export const WARN_AT = 2n ** 28n;

type Tx = Pick<Prisma.TransactionClient, "$queryRaw">;

/**
 * Adds `count` encryptions to a key's tally inside the caller's transaction (so the tally and
 * the ciphertexts commit together) and warns when the key nears its limit.
 */
export async function recordEncryptions(tx: Tx, keyId: string, count: number, logger: Logger): Promise<bigint> {
  if (count <= 0) return 0n;
  const [row] = await tx.$queryRaw<[{ encryptions: bigint }]>`
    INSERT INTO "EncryptionKeyUsage" ("keyId", "encryptions", "updatedAt")
    VALUES (${keyId}, ${count}, now())
    ON CONFLICT ("keyId") DO UPDATE
      SET "encryptions" = "EncryptionKeyUsage"."encryptions" + EXCLUDED."encryptions", "updatedAt" = now()
    RETURNING "encryptions"`;
  return warnNearLimit(keyId, BigInt(row.encryptions), count, logger);
}

/**
 * The same counter update as a statement's fragment (a CTE body returning "encryptions"),
 * applied only when `guard` holds: for writes that must be one statement (the refresh write).
 */
export function encryptionsSql(keyId: string, count: number, guard: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO "EncryptionKeyUsage" ("keyId", "encryptions", "updatedAt")
    SELECT ${keyId}, ${count}, now() WHERE ${guard}
    ON CONFLICT ("keyId") DO UPDATE
      SET "encryptions" = "EncryptionKeyUsage"."encryptions" + EXCLUDED."encryptions", "updatedAt" = now()
    RETURNING "encryptions"`;
}

/** Logs when `count` new encryptions crossed a 2^28 step of the key's total. Returns the total. */
export function warnNearLimit(keyId: string, total: bigint, count: number, logger: Logger): bigint {
  const before = total - BigInt(count);
  // Logged when a 2^28 step is crossed, not on every encryption after it.
  if (total >= WARN_AT && before / WARN_AT !== total / WARN_AT) {
    logger.warn("vault key nears the AES-GCM random-nonce limit: rotate keys (`pnpm token:rotate-keys`)", {
      keyId,
      encryptions: total.toString(),
      limit: NONCE_LIMIT.toString(),
      percentOfLimit: Number((total * 10000n) / NONCE_LIMIT) / 100,
    });
  }
  return total;
}
