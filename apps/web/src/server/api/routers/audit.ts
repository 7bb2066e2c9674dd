import { z } from "zod";
import { adminProcedure } from "../trpc";
import { auditFilters, auditRow } from "./schemas";

/** The audit log of the caller's company; administrators only. */
export const auditRouter = {
  list: adminProcedure
    .input(auditFilters.extend({ cursor: z.string().max(200).nullish(), limit: z.number().int().min(1).max(200).default(50) }))
    .output(z.object({ items: z.array(auditRow), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => {
      const { cursor, limit, ...filters } = input;
      // The output schema keeps only auditRow's fields of each entry.
      return ctx.auditLog.list(ctx.caller.companyId, filters, { cursor, limit });
    }),
};
