export { WEBHOOK_EVENT_TYPES, connectionPayload, type ConnectionRef, type WebhookData, type WebhookEventType, type WebhookPayload } from "./webhook-events";
export { WebhookEndpoints, generateWebhookSecret, type WebhookEndpointView, type WebhookTarget } from "./webhook-endpoints";
export { WebhookDeliveries, type DeliveryAttempt, type WebhookDeliveryView } from "./webhook-deliveries";
export { checkWebhookUrl, guardedLookup, hostOf, isRefusedAddress, parseWebhookUrl, type WebhookUrlPolicy } from "./url-policy";
