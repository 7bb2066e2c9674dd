/** What a company's webhook endpoints hear about. */
export const WEBHOOK_EVENT_TYPES = [
  "connection.created",
  "connection.refresh_failed",
  "connection.exhausted",
  "connection.expired",
  "connection.reauthorization_due",
  "connection.recovered",
  "connection.disconnected",
  "connection.disabled",
  "connection.enabled",
  "webhook.test",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export type WebhookData = Record<string, string | number | null>;

/** The body of a delivery (Standard Webhooks: `type`, `timestamp`, `data`). Names the connection, never a token. */
export interface WebhookPayload {
  type: WebhookEventType;
  timestamp: string;
  data: WebhookData;
}

export interface ConnectionRef {
  id: string;
  companyId: string;
  provider: string;
  externalId: string;
}

/** An event about one connection: its ids and provider, plus non-secret facts (`extra`). */
export function connectionPayload(type: WebhookEventType, connection: ConnectionRef, at: Date, extra: WebhookData = {}): WebhookPayload {
  return {
    type,
    timestamp: at.toISOString(),
    data: { connectionId: connection.id, companyId: connection.companyId, provider: connection.provider, externalId: connection.externalId || null, ...extra },
  };
}
