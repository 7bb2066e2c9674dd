import { z } from "zod";
import { adminProcedure, limitedTo } from "../trpc";
import { createdWebhookEndpoint, endpointId, webhookDeliveryView, webhookEndpointInput, webhookEndpointView } from "./webhook-schemas";

const byId = z.object({ id: endpointId });

/**
 * The company's webhook endpoints and their delivery log: administrators only (an endpoint
 * receives every connection event of the company). The signing secret is answered once, by
 * `create`; nothing else ever returns it.
 */
export const webhookRouter = {
  list: adminProcedure.output(z.array(webhookEndpointView)).query(({ ctx }) => ctx.tokenService.webhooks.endpoints.list(ctx.caller.companyId)),

  create: adminProcedure
    .use(limitedTo("webhook"))
    .input(webhookEndpointInput)
    .output(createdWebhookEndpoint)
    .mutation(({ ctx, input }) => ctx.tokenService.webhooks.endpoints.create({ companyId: ctx.caller.companyId, url: input.url, secret: input.secret }, ctx.requestContext)),

  setEnabled: adminProcedure
    .use(limitedTo("webhook"))
    .input(byId.extend({ enabled: z.boolean() }))
    .output(webhookEndpointView)
    .mutation(({ ctx, input }) => ctx.tokenService.webhooks.endpoints.setEnabled(ctx.caller.companyId, input.id, input.enabled, ctx.requestContext)),

  remove: adminProcedure
    .use(limitedTo("webhook"))
    .input(byId)
    .output(z.object({ removed: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await ctx.tokenService.webhooks.endpoints.remove(ctx.caller.companyId, input.id, ctx.requestContext);
      return { removed: true as const };
    }),

  // Recorded here, delivered by the worker through its queue (like every other event).
  sendTest: adminProcedure
    .use(limitedTo("webhook"))
    .input(byId)
    .output(webhookDeliveryView)
    .mutation(({ ctx, input }) => ctx.tokenService.webhooks.deliveries.sendTest(ctx.caller.companyId, input.id, ctx.requestContext)),

  deliveries: adminProcedure
    .input(z.object({ limit: z.number().int().min(1).max(200).default(50) }).optional())
    .output(z.array(webhookDeliveryView))
    .query(({ ctx, input }) => ctx.tokenService.webhooks.deliveries.list(ctx.caller.companyId, input?.limit ?? 50)),
};
