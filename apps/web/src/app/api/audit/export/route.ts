import type { NextRequest } from "next/server";
import { csvHeader, csvRow } from "@tokenvault/token/audit";
import { auditFilters } from "~/server/api/routers/schemas";
import { defaultContextDeps } from "~/server/api/services";
import { createContext } from "~/server/api/trpc";

/** Streams the caller's company's audit log as CSV (administrators only), honouring the list filters. */
export async function GET(request: NextRequest) {
  const { caller, tokenService, auditLog, ipAddress, userAgent } = await createContext(defaultContextDeps, request);
  if (!caller) return Response.json({ error: { code: "UNAUTHORIZED", message: "Sign in to continue." } }, { status: 401 });
  if (caller.role !== "admin") return Response.json({ error: { code: "FORBIDDEN", message: "Only administrators can do this." } }, { status: 403 });
  const query = request.nextUrl.searchParams;
  const parsed = auditFilters.safeParse({
    connectionType: query.get("connectionType") || undefined,
    action: query.get("action") || undefined,
    outcome: query.get("outcome") || undefined,
    userId: query.get("userId") || undefined,
    from: query.get("from") ? new Date(query.get("from")!) : undefined,
    to: query.get("to") ? new Date(query.get("to")!) : undefined,
  });
  if (!parsed.success) return Response.json({ error: { code: "BAD_REQUEST", message: "Invalid filters." } }, { status: 400 });

  const { connectionType, action, outcome, userId, from, to } = parsed.data;
  await tokenService.recordAuditExport(
    caller.companyId,
    { userId: caller.userId, ipAddress, userAgent },
    { connectionType: connectionType ?? null, action: action ?? null, outcome: outcome ?? null, userId: userId ?? null, from: from?.toISOString() ?? null, to: to?.toISOString() ?? null },
  );
  const rows = auditLog.all(caller.companyId, parsed.data);
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(csvHeader()));
    },
    async pull(controller) {
      // One page of rows per pull: memory stays flat however long the log is.
      let chunk = "";
      for (let i = 0; i < 500; i++) {
        const next = await rows.next();
        if (next.done) {
          if (chunk) controller.enqueue(encoder.encode(chunk));
          controller.close();
          return;
        }
        chunk += csvRow(next.value);
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await rows.return(undefined);
    },
  });
  const date = new Date().toISOString().slice(0, 10);
  return new Response(stream, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="tokenvault-audit-${caller.companyId}-${date}.csv"`,
      "cache-control": "no-store",
    },
  });
}
