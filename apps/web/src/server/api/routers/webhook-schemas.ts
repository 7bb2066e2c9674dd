import { z } from "zod";
import { type WebhookDeliveryView, type WebhookEndpointView } from "@tokenvault/token";
import { plainText, schemaOf } from "./schemas";

/** An endpoint's id: the service's UUIDs; anything else is refused before a query. */
export const endpointId = z.uuid("Unknown webhook endpoint.");

/** What an admin types. The service checks the URL fully (scheme, credentials, addresses). */
export const webhookEndpointInput = z.object({
  url: plainText.trim().min(1, "Enter the endpoint's URL.").max(2048, "The URL is too long."),
  // Standard Webhooks secret; absent: the service generates one.
  secret: z
    .string()
    .trim()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, "The secret must be whsec_ followed by base64.")
    .optional(),
});

export const webhookEndpointView = schemaOf<WebhookEndpointView>()(z.object({ id: z.string(), url: z.string(), enabled: z.boolean(), createdBy: z.string(), createdAt: z.date() }));

/** Creation answers the secret: the only time it ever leaves the vault. */
export const createdWebhookEndpoint = z.object({ endpoint: webhookEndpointView, secret: z.string() });

export const webhookDeliveryView = schemaOf<WebhookDeliveryView>()(
  z.object({
    id: z.string(),
    endpointId: z.string(),
    eventType: z.string(),
    attempts: z.number().int().min(0),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    nextAttemptAt: z.date().nullable(),
    deliveredAt: z.date().nullable(),
    createdAt: z.date(),
  }),
);
