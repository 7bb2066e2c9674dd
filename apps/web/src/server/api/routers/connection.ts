import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { connectionFilterSchema, connectionSettingsSchema } from "@tokenvault/token";
import { adminProcedure, limitedTo, protectedProcedure } from "../trpc";
import { authorizationRequest, callBudget, pickerOffer, extraScopes, connectionGroup, connectionHistoryDay, connectionPageInput, connectionSettingsView, connectionView, healthView, historyRange, providerId, tokenStatus } from "./schemas";

const byProvider = z.object({ provider: providerId });
// A company may hold several connections of a provider (Xero organisations, QuickBooks companies):
// an action names one by id; without it the provider must have exactly one (else CONFLICT, AMBIGUOUS_CONNECTION).
const oneConnection = byProvider.extend({ connectionId: z.uuid().optional() });
type OneConnection = z.infer<typeof oneConnection>;
/** The service's selector: the id scoped to the caller's company (another company's is NOT_FOUND), or the provider. */
const target = (companyId: string, input: OneConnection) => (input.connectionId ? { connectionId: input.connectionId, companyId } : { companyId, provider: input.provider });

/** Connections of the caller's company. Procedures are thin: validate, scope, call the service. */
export const connectionRouter = {
  // Optionally filtered by tags and metadata key=value (the service's own schema: one set of rules).
  // No input arrives as null from a plain HTTP client (as before the filter existed): unfiltered.
  list: protectedProcedure
    .input(connectionFilterSchema.nullish())
    .output(z.array(connectionView))
    .query(({ ctx, input }) => ctx.tokenService.listConnections(ctx.caller.companyId, input ?? undefined)),

  // The dashboard's: a page of each provider's connections, searched and counted by the database.
  page: protectedProcedure
    .input(connectionPageInput)
    .output(z.array(connectionGroup))
    .query(({ ctx, input }) => ctx.tokenService.listConnectionPage(ctx.caller.companyId, input)),

  // The organisation picker's answer: the offered connections not kept are disconnected (the
  // service's keepConnections: stops at the first refusal, refuses a kept id not offered). Only
  // what the callback signed for this company, within the hour, may be offered: `offered` is the
  // part of it still connected.
  keep: adminProcedure
    .input(z.object({ offer: pickerOffer, offered: z.array(z.uuid()).min(1).max(100), keep: z.array(z.uuid()).max(100) }))
    .output(z.object({ kept: z.array(z.string()), removed: z.array(z.string()) }))
    .mutation(({ ctx, input }) => {
      if (!ctx.pickerOffers.verify(input.offer, ctx.caller.companyId) || input.offered.some((id) => !input.offer.ids.includes(id))) {
        throw new TRPCError({ code: "FORBIDDEN", message: "This choice of organisations does not come from a consent completed here in the last hour: connect again to choose." });
      }
      return ctx.tokenService.keepConnections({ companyId: ctx.caller.companyId, offered: input.offered, keep: input.keep }, ctx.requestContext);
    }),

  // Members and administrators alike, of their own company only (the caller's, never an input):
  // one connection's (by id, what each dashboard card shows), or a provider's connections together.
  history: protectedProcedure
    .input(z.union([z.object({ connectionId: z.uuid(), days: historyRange }), byProvider.extend({ days: historyRange })]))
    .output(z.array(connectionHistoryDay))
    .query(({ ctx, input }) =>
      "connectionId" in input
        ? ctx.tokenService.connectionHistory({ connectionId: input.connectionId, companyId: ctx.caller.companyId }, input.days)
        : ctx.tokenService.connectionHistory(ctx.caller.companyId, input.provider, input.days),
    ),

  // What the connection has used of its provider's call budgets, across every process (members too).
  budgets: protectedProcedure
    .input(oneConnection)
    .output(z.array(callBudget))
    .query(({ ctx, input }) => ctx.tokenService.callBudgets(target(ctx.caller.companyId, input))),

  status: protectedProcedure
    .input(oneConnection)
    .output(tokenStatus)
    .query(({ ctx, input }) => ctx.tokenService.getTokenStatus(target(ctx.caller.companyId, input))),

  // Connecting (and reconnecting) points the company at an account, disconnecting revokes it:
  // administrators only. Members view and check.
  connect: adminProcedure
    .use(limitedTo("connect"))
    .input(byProvider.extend({ origin: z.url().optional(), scopes: extraScopes.optional() }))
    .output(authorizationRequest)
    // The service sends the provider back to this deployment's callback for it.
    .mutation(({ ctx, input }) =>
      ctx.tokenService.getAuthorizationUrl({ companyId: ctx.caller.companyId, provider: input.provider, userId: ctx.caller.userId, ...(input.scopes ? { scopes: input.scopes } : {}) }),
    ),

  // Limited per user; the service also coalesces live calls per connection.
  check: protectedProcedure
    .use(limitedTo("check"))
    .input(oneConnection)
    .output(healthView)
    .mutation(({ ctx, input }) =>
      ctx.tokenService.checkConnection(target(ctx.caller.companyId, input), ctx.requestContext),
    ),

  refresh: adminProcedure
    .input(oneConnection)
    .output(tokenStatus)
    .mutation(({ ctx, input }) =>
      ctx.tokenService.refreshNow(target(ctx.caller.companyId, input), ctx.requestContext),
    ),

  // Name, tags, metadata and pause are administrators' actions; members see them.
  update: adminProcedure
    .input(z.object({ connectionId: z.uuid(), settings: connectionSettingsSchema }))
    .output(connectionSettingsView)
    .mutation(({ ctx, input }) => ctx.tokenService.updateConnection({ connectionId: input.connectionId, companyId: ctx.caller.companyId }, input.settings, ctx.requestContext)),

  disable: adminProcedure
    .input(z.object({ connectionId: z.uuid() }))
    .output(connectionSettingsView)
    .mutation(({ ctx, input }) => ctx.tokenService.disableConnection({ connectionId: input.connectionId, companyId: ctx.caller.companyId }, ctx.requestContext)),

  enable: adminProcedure
    .input(z.object({ connectionId: z.uuid() }))
    .output(connectionSettingsView)
    .mutation(({ ctx, input }) => ctx.tokenService.enableConnection({ connectionId: input.connectionId, companyId: ctx.caller.companyId }, ctx.requestContext)),

  disconnect: adminProcedure
    .input(oneConnection)
    .output(z.object({ disconnected: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await ctx.tokenService.disconnect(target(ctx.caller.companyId, input), ctx.requestContext);
      return { disconnected: true as const };
    }),
} satisfies TRPCRouterRecord;
