import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { adminProcedure, limitedTo } from "../trpc";
import { apiKeyId, apiKeyInput, apiKeyView, createdApiKey } from "./api-key-schemas";

/**
 * The company's API keys for /api/v1: administrators only (a key reads the company's tokens).
 * The key is answered once, by `create`; nothing else ever returns it or its hash.
 */
export const apiKeyRouter = {
  list: adminProcedure.output(z.array(apiKeyView)).query(({ ctx }) => ctx.tokenService.apiKeys.list(ctx.caller.companyId)),

  create: adminProcedure
    .use(limitedTo("apiKey"))
    .input(apiKeyInput)
    .output(createdApiKey)
    .mutation(({ ctx, input }) => ctx.tokenService.apiKeys.create({ companyId: ctx.caller.companyId, name: input.name, scopes: input.scopes }, ctx.requestContext)),

  revoke: adminProcedure
    .use(limitedTo("apiKey"))
    .input(z.object({ id: apiKeyId }))
    .output(apiKeyView)
    .mutation(({ ctx, input }) => ctx.tokenService.apiKeys.revoke(ctx.caller.companyId, input.id, ctx.requestContext)),
} satisfies TRPCRouterRecord;
