import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { isAuditCursor } from "@tokenvault/token/audit";
import { adminProcedure } from "../trpc";
import { auditFilters, auditRow } from "./schemas";

/** A cursor a previous page returned; a forged one is bad input with the field named. */
const cursor = z.string().max(200).refine(isAuditCursor, "The page cursor is not valid.");

/** The audit log of the caller's company; administrators only. */
export const auditRouter = {
  list: adminProcedure
    .input(auditFilters.extend({ cursor: cursor.nullish(), limit: z.number().int().min(1).max(200).default(50) }))
    .output(z.object({ items: z.array(auditRow), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => {
      const { cursor, limit, ...filters } = input;
      // The output schema keeps only auditRow's fields of each entry.
      return ctx.auditLog.list(ctx.caller.companyId, filters, { cursor, limit });
    }),
} satisfies TRPCRouterRecord;
