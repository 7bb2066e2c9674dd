import { ConnectionsBoard } from "~/components/connections-board";
import { noticeFor } from "~/components/notices";
import { currentCaller } from "~/server/api/services";

export default async function ConnectionsPage({ searchParams }: { searchParams: Promise<{ connected?: string; error?: string }> }) {
  const { connected, error } = await searchParams;
  const caller = await currentCaller();
  return (
    <main>
      <h1>Connections</h1>
      <p className="lead">Accounting integrations of {caller?.companyId}. Tokens are refreshed automatically before they expire.</p>
      <ConnectionsBoard
        isAdmin={caller?.role === "admin"}
        initialNotice={error ? { tone: "bad", text: noticeFor(error) ?? "" } : connected ? { tone: "ok", text: "Connected. The connection is ready to use." } : null}
      />
    </main>
  );
}
