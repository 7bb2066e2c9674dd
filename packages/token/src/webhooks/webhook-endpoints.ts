import { randomBytes, randomUUID } from "node:crypto";
import type { PrismaClient, WebhookEndpoint } from "@tokenvault/db";
import { DecryptionError, envelopeKeyId, TokenError, type Vault, type VaultBinding } from "@tokenvault/vault";
import type { AuditTrail } from "../audit/audit-trail";
import type { Clock } from "../clock";
import type { Logger } from "../logger";
import { recordEncryptions } from "../secrets/key-usage";
import type { SecretStore } from "../secrets/secret-store";
import type { RequestContext } from "../types";
import { requireName } from "../validation";
import { checkWebhookUrl, type WebhookUrlPolicy } from "./url-policy";

export interface WebhookEndpointsDeps {
  prisma: PrismaClient;
  secrets: SecretStore;
  audit: AuditTrail;
  clock: Clock;
  policy: WebhookUrlPolicy;
  /** A company's endpoints, at most (each event fans out to all of them). */
  maxEndpoints: number;
}

/** An endpoint as shown to an admin: never its secret. */
export interface WebhookEndpointView {
  id: string;
  url: string;
  enabled: boolean;
  createdBy: string;
  createdAt: Date;
}

/** What the worker needs to send: the opened secret, in memory only for the attempt. */
export interface WebhookTarget {
  id: string;
  companyId: string;
  url: string;
  secret: string;
  enabled: boolean;
}

/** Standard Webhooks secrets: "whsec_" and the base64 of 24 to 64 random bytes. */
const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

function requireSecret(value: unknown): string {
  const base64 = typeof value === "string" ? SECRET.exec(value)?.[1] : undefined;
  const bytes = base64 && base64.length % 4 === 0 ? Buffer.from(base64, "base64").length : 0;
  if (bytes < 24 || bytes > 64) throw new TokenError("INVALID_INPUT", "The signing secret must be whsec_ followed by the base64 of 24 to 64 bytes.");
  return value as string;
}

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

function binding(row: { companyId: string; id: string }): VaultBinding {
  return { companyId: row.companyId, provider: "webhook", kind: "WEBHOOK_ENDPOINT", externalId: row.id };
}

const view = (row: WebhookEndpoint): WebhookEndpointView => ({ id: row.id, url: row.url, enabled: row.enabled, createdBy: row.createdBy, createdAt: row.createdAt });

/**
 * A company's webhook endpoints: the only writer of WebhookEndpoint. The URL is checked
 * (url-policy.ts) before anything is written; the signing secret is sealed by the vault, bound
 * to the row, and handed back once, on creation. Creating and removing are audited.
 */
export class WebhookEndpoints {
  constructor(private readonly deps: WebhookEndpointsDeps) {}

  /** Saves an endpoint; `secret` absent: one is generated. Returns the secret this once. */
  async create(input: { companyId: string; url: string; secret?: string }, context: RequestContext): Promise<{ endpoint: WebhookEndpointView; secret: string }> {
    const companyId = requireName("companyId", input.companyId);
    const secret = input.secret === undefined ? generateWebhookSecret() : requireSecret(input.secret);
    const url = (await checkWebhookUrl(input.url, this.deps.policy)).href;
    const { prisma, secrets, audit, clock, maxEndpoints } = this.deps;
    const id = randomUUID();
    const now = clock.now();
    const row = await prisma.$transaction(async (tx) => {
      // Counted and inserted under the company's lock (held to commit): concurrent creates
      // cannot each see room for one more and together pass the cap.
      await tx.$queryRaw`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`webhook-endpoints:${companyId}`}, 0))) AS lock`;
      if ((await tx.webhookEndpoint.count({ where: { companyId } })) >= maxEndpoints) {
        throw new TokenError("INVALID_INPUT", `A company can have at most ${maxEndpoints} webhook endpoints.`);
      }
      const sealed = await secrets.sealWithKey(tx, secret, binding({ companyId, id }));
      const created = await tx.webhookEndpoint.create({ data: { id, companyId, url, sealed: sealed.ciphertext, keyId: sealed.keyId, createdBy: context.userId, createdAt: now } });
      await audit.write(tx, this.auditEvent(companyId, "POST", { endpointId: id, url }), context, now);
      return created;
    });
    return { endpoint: view(row), secret };
  }

  async list(companyId: string): Promise<WebhookEndpointView[]> {
    requireName("companyId", companyId);
    const rows = await this.deps.prisma.webhookEndpoint.findMany({ where: { companyId }, orderBy: { createdAt: "asc" } });
    return rows.map(view);
  }

  /** Pauses or resumes deliveries to one endpoint (pending retries to a paused one stop). Audited. */
  async setEnabled(companyId: string, id: string, enabled: boolean, context: RequestContext): Promise<WebhookEndpointView> {
    const row = await this.require(companyId, id);
    const now = this.deps.clock.now();
    return this.deps.prisma.$transaction(async (tx) => {
      const updated = await tx.webhookEndpoint.update({ where: { id }, data: { enabled } });
      await this.deps.audit.write(tx, this.auditEvent(companyId, "PATCH", { endpointId: id, url: row.url, enabled }), context, now);
      return view(updated);
    });
  }

  /** Removes an endpoint and its sealed secret; its delivery log stays. */
  async remove(companyId: string, id: string, context: RequestContext): Promise<void> {
    const row = await this.require(companyId, id);
    const now = this.deps.clock.now();
    await this.deps.prisma.$transaction(async (tx) => {
      await tx.webhookEndpoint.delete({ where: { id } });
      await this.deps.audit.write(tx, this.auditEvent(companyId, "DELETE", { endpointId: id, url: row.url }), context, now);
    });
  }

  /** The endpoint of a company, or NOT_FOUND (also for another company's id). */
  async require(companyId: string, id: string): Promise<WebhookEndpoint> {
    requireName("companyId", companyId);
    const row = typeof id === "string" && /^[0-9a-f-]{36}$/.test(id) ? await this.deps.prisma.webhookEndpoint.findUnique({ where: { id } }) : null;
    if (!row || row.companyId !== companyId) throw new TokenError("NOT_FOUND", "No such webhook endpoint.");
    return row;
  }

  /** For the worker: the endpoint with its secret opened, or null when it was removed. */
  async target(id: string): Promise<WebhookTarget | null> {
    const row = await this.deps.prisma.webhookEndpoint.findUnique({ where: { id } });
    if (!row) return null;
    return { id: row.id, companyId: row.companyId, url: row.url, enabled: row.enabled, secret: this.deps.secrets.openSealed(row.sealed, binding(row)) };
  }

  private auditEvent(companyId: string, requestMethod: "POST" | "PATCH" | "DELETE", details: Record<string, string | boolean>) {
    return { companyId, action: "SECRET_WRITE", outcome: "SUCCESS", connectionType: "webhook", apiEndpoint: "webhooks.endpoints", requestMethod, responseStatus: 200, details } as const;
  }
}

/**
 * Key rotation of the endpoints' secrets (run by rotateKeys): each one not under the current key
 * is re-sealed, compare-and-set on its old envelope. One that cannot be opened is left and counted.
 */
export async function resealWebhookSecrets(prisma: PrismaClient, vault: Vault, logger: Logger): Promise<{ moved: number; unknownKey: number; failed: number }> {
  const result = { moved: 0, unknownKey: 0, failed: 0 };
  const rows = await prisma.webhookEndpoint.findMany({ where: { keyId: { not: vault.currentKeyId } }, select: { id: true, companyId: true, sealed: true } });
  for (const row of rows) {
    if (envelopeKeyId(row.sealed) === vault.currentKeyId) continue;
    try {
      const resealed = vault.seal(vault.open(row.sealed, binding(row)), binding(row));
      const { count } = await prisma.webhookEndpoint.updateMany({ where: { id: row.id, sealed: row.sealed }, data: { sealed: resealed.ciphertext, keyId: resealed.keyId } });
      result.moved += count;
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      if (error.reason === "UNKNOWN_KEY") result.unknownKey++;
      else result.failed++;
      logger.warn("webhook endpoint secret could not be re-encrypted", { endpointId: row.id, reason: error.reason });
    }
  }
  if (result.moved > 0) await prisma.$transaction((tx) => recordEncryptions(tx, vault.currentKeyId, result.moved, logger));
  return result;
}
