import type { NextRequest } from "next/server";
import type { AuditEntry } from "@tokenvault/token";
import { csvHeader, csvRow } from "@tokenvault/token/audit";
import { parseInput } from "~/server/api/errors";
import { jsonRoute } from "~/server/api/route-handler";
import { auditFilters } from "~/server/api/routers/schemas";
import { defaultContextDeps } from "~/server/api/services";

/** Streams the caller's company's audit log as CSV (administrators only), honouring the list filters. */
export function GET(request: NextRequest) {
  return jsonRoute(defaultContextDeps, request, "admin", async ({ caller, tokenService, auditLog, requestContext }) => {
    const query = request.nextUrl.searchParams;
    const date = (name: string) => (query.get(name) ? new Date(query.get(name)!) : undefined);
    const filters = parseInput(auditFilters, {
      connectionType: query.get("connectionType") || undefined,
      action: query.get("action") || undefined,
      outcome: query.get("outcome") || undefined,
      userId: query.get("userId") || undefined,
      from: date("from"),
      to: date("to"),
    });
    const { connectionType, action, outcome, userId, from, to } = filters;
    await tokenService.recordAuditExport(caller.companyId, requestContext, {
      connectionType: connectionType ?? null,
      action: action ?? null,
      outcome: outcome ?? null,
      userId: userId ?? null,
      from: from?.toISOString() ?? null,
      to: to?.toISOString() ?? null,
    });
    return csvResponse(auditLog.all(caller.companyId, filters), `tokenvault-audit-${caller.companyId}-${new Date().toISOString().slice(0, 10)}.csv`);
  });
}

/** The rows as a CSV download, one page of rows per pull: memory stays flat however long the log is. */
function csvResponse(rows: AsyncGenerator<AuditEntry>, filename: string): Response {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(csvHeader()));
    },
    async pull(controller) {
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
  return new Response(stream, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${filename}"`,
      "cache-control": "no-store",
    },
  });
}
