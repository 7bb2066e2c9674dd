import { randomUUID } from "node:crypto";
import type { Prisma, PrismaClient, WebhookDelivery } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import type { Clock } from "../clock";
import { requireName } from "../validation";
import type { WebhookPayload } from "./webhook-events";

type Db = PrismaClient | Prisma.TransactionClient;

/** One row of the delivery log, as an admin sees it. */
export interface WebhookDeliveryView {
  id: string;
  endpointId: string;
  eventType: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

/** The outcome of one attempt, as the worker reports it. */
export interface DeliveryAttempt {
  /** HTTP status answered; 0 when none (network error, refused address). */
  status: number;
  delivered: boolean;
  /** Short, safe reason (never a secret or a response body); null when delivered. */
  error: string | null;
  /** When the queue will try again; null when delivered or given up. */
  nextAttemptAt: Date | null;
}

const view = (row: WebhookDelivery): WebhookDeliveryView => ({
  id: row.id,
  endpointId: row.endpointId,
  eventType: row.eventType,
  attempts: row.attempts,
  lastStatus: row.lastStatus,
  lastError: row.lastError,
  nextAttemptAt: row.nextAttemptAt,
  deliveredAt: row.deliveredAt,
  createdAt: row.createdAt,
});

/**
 * The delivery log and outbox: the only writer of WebhookDelivery. An event becomes one row per
 * enabled endpoint of the company, written in the caller's transaction (a disconnect records
 * its event with the removal, so neither happens without the other). Rows not yet queued are
 * the outbox: the worker moves them into its job queue, which retries with backoff and reports
 * each attempt here. The row's id is the `webhook-id` of every attempt.
 */
export class WebhookDeliveries {
  constructor(private readonly deps: { prisma: PrismaClient; clock: Clock }) {}

  /** Fans an event out to every enabled endpoint of the company (in `db`, a transaction or not); returns the new rows' ids. */
  async record(companyId: string, payload: WebhookPayload, db: Db = this.deps.prisma): Promise<string[]> {
    const endpoints = await db.webhookEndpoint.findMany({ where: { companyId, enabled: true }, select: { id: true } });
    if (endpoints.length === 0) return [];
    const now = this.deps.clock.now();
    const rows = endpoints.map((endpoint) => ({ id: randomUUID(), endpointId: endpoint.id, companyId, eventType: payload.type, payload: payload as unknown as Prisma.InputJsonObject, nextAttemptAt: now, createdAt: now }));
    await db.webhookDelivery.createMany({ data: rows });
    return rows.map((row) => row.id);
  }

  /** A `webhook.test` event to one enabled endpoint of the company (the dashboard's button). */
  async sendTest(companyId: string, endpointId: string, context: { userId: string }): Promise<WebhookDeliveryView> {
    requireName("companyId", companyId);
    const endpoint = /^[0-9a-f-]{36}$/.test(endpointId) ? await this.deps.prisma.webhookEndpoint.findUnique({ where: { id: endpointId } }) : null;
    if (!endpoint || endpoint.companyId !== companyId) throw new TokenError("NOT_FOUND", "No such webhook endpoint.");
    if (!endpoint.enabled) throw new TokenError("INVALID_STATE", "The endpoint is paused: resume it to send a test event.");
    const now = this.deps.clock.now();
    const payload: WebhookPayload = { type: "webhook.test", timestamp: now.toISOString(), data: { companyId, endpointId, requestedBy: context.userId } };
    const row = await this.deps.prisma.webhookDelivery.create({ data: { id: randomUUID(), endpointId, companyId, eventType: payload.type, payload: payload as unknown as Prisma.InputJsonObject, nextAttemptAt: now, createdAt: now } });
    return view(row);
  }

  /** The company's latest deliveries, newest first. */
  async list(companyId: string, limit = 50): Promise<WebhookDeliveryView[]> {
    requireName("companyId", companyId);
    const rows = await this.deps.prisma.webhookDelivery.findMany({ where: { companyId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: Math.min(Math.max(1, limit), 200) });
    return rows.map(view);
  }

  /** The outbox, oldest first: rows no job was made for yet. */
  async unqueued(limit = 100): Promise<string[]> {
    const rows = await this.deps.prisma.webhookDelivery.findMany({ where: { queuedAt: null }, orderBy: { createdAt: "asc" }, take: limit, select: { id: true } });
    return rows.map((row) => row.id);
  }

  /** After the job was sent (sending again with the same job id is a no-op, so a crash in between is harmless). */
  async markQueued(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.deps.prisma.webhookDelivery.updateMany({ where: { id: { in: ids }, queuedAt: null }, data: { queuedAt: this.deps.clock.now() } });
  }

  async get(id: string): Promise<WebhookDelivery | null> {
    return this.deps.prisma.webhookDelivery.findUnique({ where: { id } });
  }

  /** Counts one attempt and records its outcome. */
  async recordAttempt(id: string, attempt: DeliveryAttempt): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.prisma.webhookDelivery.update({
      where: { id },
      data: {
        attempts: { increment: 1 },
        lastStatus: attempt.status,
        lastError: attempt.error?.slice(0, 200) ?? null,
        nextAttemptAt: attempt.delivered ? null : attempt.nextAttemptAt,
        ...(attempt.delivered ? { deliveredAt: now } : {}),
      },
    });
  }

  /** Log retention: removes finished deliveries (delivered, given up, cancelled) created before `before`. */
  async purgeFinished(before: Date): Promise<number> {
    const { count } = await this.deps.prisma.webhookDelivery.deleteMany({ where: { createdAt: { lt: before }, nextAttemptAt: null } });
    return count;
  }

  /** Gives up without an attempt (the endpoint was removed or paused). */
  async cancel(id: string, reason: string): Promise<void> {
    await this.deps.prisma.webhookDelivery.update({ where: { id }, data: { nextAttemptAt: null, lastError: reason.slice(0, 200) } });
  }
}
