import { Prisma, type TokenSecret } from "@tokenvault/db";
import type { ConnectionWithSecrets } from "./connection";

/**
 * A connection with its secrets in one statement (Prisma's `include` costs a second round
 * trip). Select list for a row source aliased `c`: its columns and its secrets as JSON.
 */
export const WITH_SECRETS = Prisma.sql`c.*, COALESCE((SELECT json_agg(s.*) FROM "TokenSecret" s WHERE s."connectionId" = c."id"), '[]'::json) AS "secrets"`;

type SecretJson = Omit<TokenSecret, "expiresAt" | "lastUsedAt" | "lastRefreshedAt" | "createdAt" | "updatedAt"> & {
  expiresAt: string | null;
  lastUsedAt: string | null;
  lastRefreshedAt: string | null;
  createdAt: string;
  updatedAt: string;
};

const date = (value: string | null) => (value === null ? null : new Date(value));

/** A row selected with WITH_SECRETS, typed as Prisma would return it (json_agg gives timestamps as text). */
export function toConnection<R extends { secrets: SecretJson[] }>(row: R): ConnectionWithSecrets & Omit<R, "secrets"> {
  const secrets: TokenSecret[] = row.secrets.map((s) => ({
    ...s,
    expiresAt: date(s.expiresAt),
    lastUsedAt: date(s.lastUsedAt),
    lastRefreshedAt: date(s.lastRefreshedAt),
    createdAt: new Date(s.createdAt),
    updatedAt: new Date(s.updatedAt),
  }));
  return { ...(row as unknown as ConnectionWithSecrets & Omit<R, "secrets">), secrets };
}

export type ConnectionRow = ConnectionWithSecrets extends infer C ? Omit<C, "secrets"> & { secrets: SecretJson[] } : never;
