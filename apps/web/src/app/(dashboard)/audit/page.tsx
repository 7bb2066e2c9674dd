import { AuditTable } from "~/components/audit-table";
import { currentCaller } from "~/server/api/services";

export default async function AuditPage() {
  const caller = await currentCaller();
  if (caller?.role !== "admin") {
    return (
      <main>
        <h1>Audit log</h1>
        <p role="alert" className="banner bad">
          Only administrators can read the audit log.
        </p>
      </main>
    );
  }
  return (
    <main className="wide">
      <h1>Audit log</h1>
      <p className="lead">Every connection, refresh, check and disconnection of {caller.companyId}, newest first.</p>
      <AuditTable />
    </main>
  );
}
