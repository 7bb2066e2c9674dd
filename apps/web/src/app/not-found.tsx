import Link from "next/link";

// Replaces Next's built-in 404, whose inline <style> has no nonce and would be blocked by the
// Content-Security-Policy (src/proxy.ts).
export default function NotFound() {
  return (
    <main className="narrow">
      <h1>Page not found</h1>
      <p className="lead">There is nothing at this address.</p>
      <p>
        <Link href="/">Back to Tokenvault</Link>
      </p>
    </main>
  );
}
