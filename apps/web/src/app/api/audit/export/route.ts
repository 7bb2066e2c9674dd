import type { NextRequest } from "next/server";
import type { AuditEntry } from "@tokenvault/token";
import { csvHeader, csvRow } from "@tokenvault/token/audit";
import { parseInput } from "~/server/api/errors";
import { jsonRoute } from "~/server/api/route-handler";
import { auditFilters } from "~/server/api/routers/schemas";
import { defaultContextDeps } from "~/server/api/services";

/** An ISO 8601 date or date-time, as the dashboard's export link writes it (Date.parse would also take "1" or "May 5"). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * Streams the caller's company's audit log as CSV (administrators only), honouring the list
 * filters. Every filter is validated, and the first page read, before the 200 is sent: a bad
 * filter or a failing query answers with its status instead of a CSV header cut short.
 */
export function GET(request: NextRequest) {
  return jsonRoute(defaultContextDeps, request, "admin", async ({ caller, tokenService, auditLog, requestContext }) => {
    const query = request.nextUrl.searchParams;
    // Not ISO: an invalid date, refused by the schema with the field named.
    const date = (name: string) => {
      const text = query.get(name);
      return text ? new Date(ISO_DATE.test(text) ? text : Number.NaN) : undefined;
    };
    const filters = parseInput(auditFilters, {
      connectionType: query.get("connectionType") || undefined,
      connectionId: query.get("connectionId") || undefined,
      action: query.get("action") || undefined,
      outcome: query.get("outcome") || undefined,
      userId: query.get("userId") || undefined,
      from: date("from"),
      to: date("to"),
    });
    const { connectionType, connectionId, action, outcome, userId, from, to } = filters;
    await tokenService.recordAuditExport(caller.companyId, requestContext, {
      connectionType: connectionType ?? null,
      connectionId: connectionId ?? null,
      action: action ?? null,
      outcome: outcome ?? null,
      userId: userId ?? null,
      from: from?.toISOString() ?? null,
      to: to?.toISOString() ?? null,
    });
    const rows = auditLog.all(caller.companyId, filters);
    const first = await rows.next();
    return csvResponse(first, rows, `tokenvault-audit-${caller.companyId}-${new Date().toISOString().slice(0, 10)}.csv`);
  });
}

/** The rows as a CSV download, one page of rows per pull: memory stays flat however long the log is. */
function csvResponse(first: IteratorResult<AuditEntry>, rows: AsyncGenerator<AuditEntry>, filename: string): Response {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(csvHeader() + (first.done ? "" : csvRow(first.value))));
      if (first.done) controller.close();
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
