// The shape of a company API key and the only code that hashes or compares one. A key is
// "tvk_" + 12 hex characters (its prefix: public, stored, shown in the dashboard, used to find
// the row) + "_" + 43 base64url characters (256 random bits). Only the SHA-256 of the whole key
// is stored: the key is high-entropy, so a slow password hash would add nothing but latency.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const API_KEY_SCOPES = ["connections:read", "tokens:read", "proxy"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

const KEY = /^(tvk_[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedKey {
  prefix: string;
  /** The whole key: handed to the admin once, never stored. */
  key: string;
  secretHash: string;
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export function generateApiKey(): GeneratedKey {
  const prefix = `tvk_${randomBytes(6).toString("hex")}`;
  const key = `${prefix}_${randomBytes(32).toString("base64url")}`;
  return { prefix, key, secretHash: hashApiKey(key) };
}

/** The prefix of a well-formed key, else null (nothing is looked up for a malformed one). */
export function prefixOf(presented: string): string | null {
  return KEY.exec(presented)?.[1] ?? null;
}

/** Whether `presented` hashes to `storedHash`, compared in constant time. */
export function matchesHash(presented: string, storedHash: string): boolean {
  const expected = Buffer.from(storedHash, "hex");
  const actual = createHash("sha256").update(presented, "utf8").digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function isScope(value: unknown): value is ApiKeyScope {
  return typeof value === "string" && (API_KEY_SCOPES as readonly string[]).includes(value);
}
