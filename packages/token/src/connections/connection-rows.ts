import { Prisma, type Connection, type TokenSecret } from "@tokenvault/db";
import type { GrantWithSecrets } from "./connection";

/**
 * A grant with its secrets in one statement (Prisma's `include` costs a second round trip).
 * Select list for a grant row source aliased `c`: its columns and its secrets as JSON.
 */
export const WITH_SECRETS = Prisma.sql`c.*, COALESCE((SELECT json_agg(s.*) FROM "TokenSecret" s WHERE s."grantId" = c."id"), '[]'::json) AS "secrets"`;

/** A connection row (source aliased `k`) as one JSON column, beside WITH_SECRETS in a join. */
export const CONNECTION_JSON = Prisma.sql`row_to_json(k.*) AS "connection"`;

type SecretJson = Omit<TokenSecret, "expiresAt" | "lastUsedAt" | "lastRefreshedAt" | "createdAt" | "updatedAt"> & {
  expiresAt: string | null;
  lastUsedAt: string | null;
  lastRefreshedAt: string | null;
  createdAt: string;
  updatedAt: string;
};

export type ConnectionJson = Omit<Connection, "createdAt" | "updatedAt" | "disabledAt"> & { createdAt: string; updatedAt: string; disabledAt: string | null };

const date = (value: string | null) => (value === null ? null : new Date(value));

/** A row selected with WITH_SECRETS, typed as Prisma would return it (json_agg gives timestamps as text). */
export function toGrant<R extends { secrets: SecretJson[] }>(row: R): GrantWithSecrets & Omit<R, "secrets"> {
  const secrets: TokenSecret[] = row.secrets.map((s) => ({
    ...s,
    expiresAt: date(s.expiresAt),
    lastUsedAt: date(s.lastUsedAt),
    lastRefreshedAt: date(s.lastRefreshedAt),
    createdAt: new Date(s.createdAt),
    updatedAt: new Date(s.updatedAt),
  }));
  return { ...(row as unknown as GrantWithSecrets & Omit<R, "secrets">), secrets };
}

/** A connection selected as CONNECTION_JSON. */
export function toConnectionRow(json: ConnectionJson): Connection {
  return { ...json, createdAt: new Date(json.createdAt), updatedAt: new Date(json.updatedAt), disabledAt: date(json.disabledAt) };
}

export type GrantRow = GrantWithSecrets extends infer C ? Omit<C, "secrets"> & { secrets: SecretJson[] } : never;
