import { LOCAL_USERS, DEMO_PASSWORD } from "~/server/auth/local-users";
import { webEnv } from "~/env";
import { noticeFor } from "~/components/notices";

export const dynamic = "force-dynamic";

/** How long to wait, in words, from the Retry-After seconds the sign-in answered with. */
function waitText(retryAfter: string | undefined): string | null {
  const seconds = Number(retryAfter);
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > 86_400) return null;
  const minutes = Math.ceil(seconds / 60);
  return `Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
}

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ error?: string; retryAfter?: string }> }) {
  const { error, retryAfter } = await searchParams;
  const demo = webEnv().demoUsers;
  return (
    <main className="narrow">
      <h1>Sign in to Tokenvault</h1>
      {error && (
        <p role="alert" className="banner bad">
          {(error === "TOO_MANY_ATTEMPTS" && waitText(retryAfter)) || noticeFor(error)}
        </p>
      )}
      {demo ? (
        <form method="post" action="/api/auth/sign-in" className="card form">
          <label htmlFor="userId">User</label>
          <select id="userId" name="userId" defaultValue="alice">
            {LOCAL_USERS.map((u) => (
              <option key={u.userId} value={u.userId}>
                {u.name} ({u.role}, {u.companyId})
              </option>
            ))}
          </select>
          <label htmlFor="password">Password</label>
          <input id="password" name="password" type="password" autoComplete="current-password" required />
          <p className="hint">Development users share the password “{DEMO_PASSWORD}”.</p>
          <button type="submit" className="primary">
            Sign in
          </button>
        </form>
      ) : (
        <p className="card">Sign-in is provided by the host application.</p>
      )}
    </main>
  );
}
