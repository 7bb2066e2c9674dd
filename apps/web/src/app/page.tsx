import Link from "next/link";
import { getDatabase } from "@tokenvault/db";

// Reads the database on every request: the page reports live state, never a build-time snapshot.
export const dynamic = "force-dynamic";

async function databaseStatus() {
  try {
    const db = await getDatabase();
    const [migrations] = await db.prisma.$queryRaw<[{ applied: bigint }]>`
      SELECT count(*) AS applied FROM "_prisma_migrations" WHERE finished_at IS NOT NULL`;
    return { ok: true as const, kind: db.kind, migrations: Number(migrations.applied) };
  } catch (error) {
    // The message may name a host; it never carries credentials (the URL is not echoed).
    console.error("database unavailable:", error instanceof Error ? error.message : error);
    return { ok: false as const };
  }
}

export default async function HomePage() {
  const status = await databaseStatus();
  return (
    <main>
      <h1>Tokenvault</h1>
      <p className="lead">
        QuickBooks Online and Xero credentials, encrypted at rest and refreshed before they expire.
      </p>
      <p>
        <Link className="button primary-link" href="/connections">
          Open the dashboard
        </Link>
      </p>
      <section className="card" aria-labelledby="status-heading">
        <h2 id="status-heading">System status</h2>
        <dl>
          <dt>Database</dt>
          <dd>
            {status.ok ? (
              <span className="badge ok">{status.kind === "embedded" ? "Embedded (PGlite)" : "PostgreSQL"}</span>
            ) : (
              <span className="badge bad">Unavailable</span>
            )}
          </dd>
          {status.ok && (
            <>
              <dt>Migrations applied</dt>
              <dd data-testid="migrations-applied">{status.migrations}</dd>
            </>
          )}
        </dl>
      </section>
    </main>
  );
}
