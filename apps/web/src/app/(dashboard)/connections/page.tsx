import { ConnectionsBoard } from "~/components/connections-board";
import { noticeFor } from "~/components/notices";
import { currentCaller } from "~/server/api/services";

export default async function ConnectionsPage({ searchParams }: { searchParams: Promise<{ connected?: string; error?: string; removed?: string }> }) {
  const { connected, error, removed } = await searchParams;
  // From the organisation picker: how many unticked organisations it disconnected (a number, never text from the link).
  const count = /^[1-9][0-9]{0,2}$/.test(removed ?? "") ? Number(removed) : 0;
  const unticked = count > 0 ? ` ${count} unticked organisation${count === 1 ? " was" : "s were"} disconnected.` : "";
  const caller = await currentCaller();
  return (
    <main>
      <h1>Connections</h1>
      <p className="lead">Accounting integrations of {caller?.companyId}. Tokens are refreshed automatically before they expire.</p>
      <ConnectionsBoard
        isAdmin={caller?.role === "admin"}
        initialNotice={error ? { tone: "bad", text: noticeFor(error) ?? "" } : connected ? { tone: "ok", text: `Connected. The connection is ready to use.${unticked}` } : unticked ? { tone: "ok", text: unticked.trim() } : null}
      />
    </main>
  );
}
