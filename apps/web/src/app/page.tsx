import Link from "next/link";

// Public: it tells a stranger what Tokenvault is and nothing about this deployment (database,
// migrations: see /api/health, for operators). It reads nothing per request.
export default function HomePage() {
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
    </main>
  );
}
