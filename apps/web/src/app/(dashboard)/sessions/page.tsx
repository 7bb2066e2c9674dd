import { SessionsBoard } from "~/components/sessions-board";
import { currentCaller } from "~/server/api/services";

export default async function SessionsPage() {
  const caller = await currentCaller();
  return (
    <main>
      <h1>Sessions</h1>
      <p className="lead">Where you are signed in. Ending a session signs that browser out at once.</p>
      <SessionsBoard isAdmin={caller?.role === "admin"} companyId={caller?.companyId ?? ""} />
    </main>
  );
}
