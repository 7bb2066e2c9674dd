import { randomBytes } from "node:crypto";
import { StorageError } from "./errors";

/** Bounds on StoreLock input, checked by every backend before it touches storage. */
export const LOCK_LIMITS = { nameChars: 256, ownerChars: 256, maxTtlMs: 24 * 60 * 60_000 } as const;

const invalid = (detail: string) => new StorageError("lock", "INVALID_INPUT", detail);

/** A lock name: kept as is (names say what work they guard; never put a token or subject in one). */
export function checkLockName(name: unknown): string {
  if (typeof name !== "string" || name.length === 0 || name.length > LOCK_LIMITS.nameChars || !name.isWellFormed()) {
    throw invalid(`a lock name must be a non-empty, well-formed string of at most ${LOCK_LIMITS.nameChars} characters`);
  }
  return name;
}

export function checkLockTtl(ttlMs: unknown): number {
  if (typeof ttlMs !== "number" || !Number.isSafeInteger(ttlMs) || ttlMs <= 0 || ttlMs > LOCK_LIMITS.maxTtlMs) {
    throw invalid(`a lock ttl must be a whole number of milliseconds between 1 and ${LOCK_LIMITS.maxTtlMs}`);
  }
  return ttlMs;
}

export function checkLockOwner(owner: unknown): string {
  if (typeof owner !== "string" || owner.length === 0 || owner.length > LOCK_LIMITS.ownerChars) throw invalid("a lock owner must be the string acquire returned");
  return owner;
}

/** A fresh owner token: random, so a holder whose lease expired cannot release its successor's. */
export function newLockOwner(): string {
  return randomBytes(18).toString("base64url");
}
