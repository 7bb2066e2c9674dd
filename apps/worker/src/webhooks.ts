import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { UpkeepConnection } from "@tokenvault/token";

export type WebhookEventType =
  | "connection.refresh_failed"
  | "connection.exhausted"
  | "connection.expired"
  | "connection.reauthorization_due"
  | "connection.recovered";

/** One event, as delivered (Standard Webhooks: `type`, `timestamp`, `data`). Names the connection, never a token. */
export interface WebhookEvent {
  /** The `webhook-id`: the same on every attempt, so a receiver can drop duplicates. */
  id: string;
  type: WebhookEventType;
  timestamp: string;
  data: Record<string, string | number | null>;
}

export function webhookEvent(type: WebhookEventType, connection: Pick<UpkeepConnection, "id" | "companyId" | "provider" | "externalId">, at: Date, extra: Record<string, string | number | null> = {}): WebhookEvent {
  return {
    id: `msg_${randomUUID()}`,
    type,
    timestamp: at.toISOString(),
    data: { connectionId: connection.id, companyId: connection.companyId, provider: connection.provider, externalId: connection.externalId || null, ...extra },
  };
}

export class WebhookDeliveryError extends Error {
  override readonly name = "WebhookDeliveryError";
}

/**
 * One delivery attempt: signed with the endpoint's secret at the moment of sending (receivers
 * reject stale timestamps), POSTed as JSON. A non-2xx answer or a network failure throws, and
 * the job queue retries with backoff.
 */
export async function deliverWebhook(endpoint: { url: string; secret: string }, event: WebhookEvent, timeoutMs = 10_000): Promise<number> {
  const payload = JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
  const sentAt = new Date();
  const signature = new Webhook(endpoint.secret).sign(event.id, sentAt, payload);
  let response: Response;
  try {
    response = await fetch(endpoint.url, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        "content-type": "application/json",
        "webhook-id": event.id,
        "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
        "webhook-signature": signature,
      },
      body: payload,
    });
  } catch (error) {
    throw new WebhookDeliveryError(`webhook ${event.type} not delivered: ${error instanceof Error ? error.name : "network error"}`);
  }
  await response.body?.cancel();
  if (response.status < 200 || response.status >= 300) throw new WebhookDeliveryError(`webhook ${event.type} answered HTTP ${response.status}`);
  return response.status;
}
