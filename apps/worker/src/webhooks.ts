import { randomUUID } from "node:crypto";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Webhook } from "standardwebhooks";
import { checkWebhookUrl, connectionPayload, guardedLookup, type UpkeepConnection, type WebhookData, type WebhookEventType, type WebhookPayload, type WebhookUrlPolicy } from "@tokenvault/token";

export type { WebhookEventType };

/** One event for the environment's global endpoint, as queued (`id` is its `webhook-id`). */
export interface WebhookEvent extends WebhookPayload {
  id: string;
}

export function webhookEvent(type: WebhookEventType, connection: Pick<UpkeepConnection, "id" | "companyId" | "provider" | "externalId">, at: Date, extra: WebhookData = {}): WebhookEvent {
  return { id: `msg_${randomUUID()}`, ...connectionPayload(type, connection, at, extra) };
}

export class WebhookDeliveryError extends Error {
  override readonly name = "WebhookDeliveryError";
  /** The HTTP status answered; 0 when none came. */
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The environment's endpoint is the operator's own choice: it may be internal. */
const OPERATOR_POLICY: WebhookUrlPolicy = { allowPrivateNetworks: true };

/**
 * One delivery attempt: signed with the endpoint's secret at the moment of sending (receivers
 * reject stale timestamps), POSTed as JSON, redirects not followed. The URL is checked again
 * (`policy`), and the connection's address is checked as it is made (guardedLookup), so a host
 * name re-pointed at the internal network is refused. A non-2xx answer, a refused address or a
 * network failure throws WebhookDeliveryError; the job queue retries with backoff.
 */
export async function sendWebhook(endpoint: { url: string; secret: string }, id: string, payload: WebhookPayload, policy: WebhookUrlPolicy, timeoutMs = 10_000): Promise<number> {
  let url: URL;
  try {
    url = await checkWebhookUrl(endpoint.url, policy);
  } catch {
    throw new WebhookDeliveryError(`webhook ${payload.type} not sent: the URL's address is refused`, 0);
  }
  const body = JSON.stringify({ type: payload.type, timestamp: payload.timestamp, data: payload.data });
  const sentAt = new Date();
  const headers = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
    "user-agent": "Tokenvault-Webhooks/1",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
    "webhook-signature": new Webhook(endpoint.secret).sign(id, sentAt, body),
  };
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const status = await new Promise<number>((resolve, reject) => {
    const req = send(url, { method: "POST", headers, lookup: guardedLookup(policy), timeout: timeoutMs }, (res: IncomingMessage) => {
      res.resume(); // the body is never read: nothing of the receiver's answer is kept
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
    req.on("error", (error: NodeJS.ErrnoException) => {
      const why = error.code === "EADDRREFUSED" ? "the address is refused" : (error.code ?? "network error");
      reject(new WebhookDeliveryError(`webhook ${payload.type} not delivered: ${why}`, 0));
    });
    req.end(body);
  });
  if (status < 200 || status >= 300) throw new WebhookDeliveryError(`webhook ${payload.type} answered HTTP ${status}`, status);
  return status;
}

/** The environment's global endpoint (WEBHOOK_URL): one attempt of a queued event. */
export async function deliverWebhook(endpoint: { url: string; secret: string }, event: WebhookEvent, timeoutMs = 10_000): Promise<number> {
  return sendWebhook(endpoint, event.id, event, OPERATOR_POLICY, timeoutMs);
}
