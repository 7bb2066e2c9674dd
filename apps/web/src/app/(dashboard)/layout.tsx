import Link from "next/link";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { currentCaller } from "~/server/api/services";
import { signOutAction } from "../sign-in/actions";

export const dynamic = "force-dynamic";

export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const caller = await currentCaller();
  if (!caller) redirect("/sign-in");
  return (
    <>
      <header className="topbar">
        <nav aria-label="Main">
          <Link href="/connections" className="brand">
            Tokenvault
          </Link>
          <Link href="/connections">Connections</Link>
          {caller.role === "admin" && <Link href="/audit">Audit log</Link>}
          {caller.role === "admin" && <Link href="/webhooks">Webhooks</Link>}
          {caller.role === "admin" && <Link href="/api-keys">API keys</Link>}
          <Link href="/sessions">Sessions</Link>
        </nav>
        <div className="who">
          <span data-testid="signed-in-as">
            {caller.name} · {caller.companyId} · {caller.role}
          </span>
          <form action={signOutAction}>
            <button type="submit">Sign out</button>
          </form>
        </div>
      </header>
      {children}
    </>
  );
}
