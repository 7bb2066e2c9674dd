import { getDatabase } from "@tokenvault/db";
import { hasBearerToken } from "./bearer-token";

/** What /api/health tells an operator: the database and its migrations. */
export type HealthReport = { status: "ok"; database: { kind: "postgresql" | "embedded"; migrationsApplied: number } } | { status: "unavailable"; database: null };

/** Reads the process's database now: a live answer, never a build-time snapshot. */
export async function healthReport(): Promise<HealthReport> {
  try {
    const db = await getDatabase();
    const [migrations] = await db.prisma.$queryRaw<[{ applied: bigint }]>`
      SELECT count(*) AS applied FROM "_prisma_migrations" WHERE finished_at IS NOT NULL`;
    return { status: "ok", database: { kind: db.kind === "embedded" ? "embedded" : "postgresql", migrationsApplied: Number(migrations.applied) } };
  } catch (error) {
    // The message may name a host; it never carries credentials (the URL is not echoed).
    console.error("database unavailable:", error instanceof Error ? error.message : error);
    return { status: "unavailable", database: null };
  }
}

/** Whether the request carries `Authorization: Bearer <HEALTH_TOKEN>` (compared in constant time; no token configured: never). */
export function hasHealthToken(request: Request, token: string | null): boolean {
  return hasBearerToken(request, token);
}
