import { Prisma, type Connection, type PrismaClient } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import type { ConnectionPageQuery } from "../types";

export const PAGE_LIMIT_DEFAULT = 20;
export const PAGE_LIMIT_MAX = 100;
const SEARCH_MAX = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The paging input checked: a bad one is INVALID_INPUT before any query. */
export function pageQueryOf(query: ConnectionPageQuery): { search: string; offsets: Readonly<Record<string, number>>; limit: number; ids: string[] | null } {
  const limit = query.limit ?? PAGE_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_LIMIT_MAX) throw new TokenError("INVALID_INPUT", `limit must be 1 to ${PAGE_LIMIT_MAX}.`);
  const search = (query.search ?? "").trim();
  if (search.length > SEARCH_MAX) throw new TokenError("INVALID_INPUT", `search is at most ${SEARCH_MAX} characters.`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f-\u009f]/.test(search)) throw new TokenError("INVALID_INPUT", "search must not contain control characters.");
  const offsets = query.offsets ?? {};
  for (const offset of Object.values(offsets)) {
    if (!Number.isInteger(offset) || offset < 0 || offset > 1_000_000) throw new TokenError("INVALID_INPUT", "offsets must be whole numbers from 0.");
  }
  const ids = query.connectionIds ? [...new Set(query.connectionIds)] : null;
  if (ids && (ids.length > PAGE_LIMIT_MAX || ids.some((id) => typeof id !== "string" || !UUID.test(id)))) throw new TokenError("INVALID_INPUT", `connectionIds names at most ${PAGE_LIMIT_MAX} connections by id (UUIDs).`);
  return { search, offsets, limit, ids };
}

/** A LIKE pattern matching `text` anywhere, its own % _ and \ taken literally. */
function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * One provider's page of a company's connections and the counts around it: three statements on
 * the (companyId, provider, externalId) index, however many connections the company has. Oldest
 * first, as the full list orders them; offset paging, since a person jumps to page N of a list
 * that changes rarely (a keyset would not let them).
 */
export async function readConnectionPage(
  prisma: PrismaClient,
  at: { companyId: string; provider: string; search: string; offset: number; limit: number; ids: string[] | null },
): Promise<{ rows: Connection[]; count: number; total: number }> {
  const { companyId, provider, search, offset, limit, ids: only } = at;
  // The name shown (an admin's, else the provider's), the external id, or one whole tag (tags are stored lowercased).
  const like = containing(search);
  const searched = search
    ? Prisma.sql`AND ("customName" ILIKE ${like} ESCAPE '\\' OR "displayName" ILIKE ${like} ESCAPE '\\' OR "externalId" ILIKE ${like} ESCAPE '\\' OR ${search.toLowerCase()} = ANY("tags"))`
    : Prisma.empty;
  const matching = only ? Prisma.sql`${searched} AND "id" = ANY(${only}::uuid[])` : searched;
  const [counts, ids] = await Promise.all([
    prisma.$queryRaw<{ count: number; total: number }[]>`
      SELECT count(*)::int AS "count", (count(*) FILTER (WHERE true ${matching}))::int AS "total"
        FROM "Connection" WHERE "companyId" = ${companyId} AND "provider" = ${provider}`,
    prisma.$queryRaw<{ id: string }[]>`
      SELECT "id" FROM "Connection" WHERE "companyId" = ${companyId} AND "provider" = ${provider} ${matching}
       ORDER BY "createdAt", "id" OFFSET ${offset} LIMIT ${limit}`,
  ]);
  const found = ids.length === 0 ? [] : await prisma.connection.findMany({ where: { id: { in: ids.map((r) => r.id) } } });
  const rows = ids.map((r) => found.find((c) => c.id === r.id)).filter((c): c is Connection => c !== undefined);
  return { rows, count: counts[0]?.count ?? 0, total: counts[0]?.total ?? 0 };
}
