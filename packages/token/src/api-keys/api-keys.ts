import { randomUUID } from "node:crypto";
import type { ApiKey, PrismaClient } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import type { AuditTrail } from "../audit/audit-trail";
import type { Clock } from "../clock";
import type { RequestContext } from "../types";
import { requireName } from "../validation";
import { API_KEY_SCOPES, generateApiKey, isScope, matchesHash, prefixOf, type ApiKeyScope } from "./key-format";

export interface ApiKeysDeps {
  prisma: PrismaClient;
  audit: AuditTrail;
  clock: Clock;
  /** Active (unrevoked) keys a company may hold at once. */
  maxKeys: number;
}

/** A key as an admin sees it: never the key, never its hash. */
export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Who calls /api/v1: the key's company and scopes. */
export interface ApiKeyPrincipal {
  keyId: string;
  companyId: string;
  scopes: ApiKeyScope[];
  /** The audit rows' user: "apikey:<id>", so every row the call causes (token reads, refreshes) names the key. */
  userId: string;
}

/** One /api/v1 call, as its audit row says it. */
export interface ApiCall {
  endpoint: string;
  method: string;
  status: number;
  connectionId?: string;
  provider?: string;
  /** The proxy's provider path, without its query string. */
  path?: string;
  errorCode?: string;
  responseTimeMs: number;
}

/** lastUsedAt is written at most this often per key: a busy key is not a write per call. */
const LAST_USED_EVERY_MS = 60_000;
const NAME = /^[^\p{Cc}]{1,100}$/u;

const view = (row: ApiKey): ApiKeyView => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  scopes: row.scopes.filter(isScope),
  createdBy: row.createdBy,
  createdAt: row.createdAt,
  lastUsedAt: row.lastUsedAt,
  revokedAt: row.revokedAt,
});

export const apiKeyUserId = (keyId: string) => `apikey:${keyId}`;

function requireScopes(value: unknown): ApiKeyScope[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isScope)) {
    throw new TokenError("INVALID_INPUT", `Choose at least one scope of ${API_KEY_SCOPES.join(", ")}.`);
  }
  return API_KEY_SCOPES.filter((s) => value.includes(s));
}

/**
 * A company's API keys: the only writer of ApiKey. A key is generated here, handed back once by
 * `create`, and kept only as its prefix and SHA-256 (key-format.ts). Creating and revoking are
 * audited (API_KEY, details.apiKeyId); each /api/v1 call is audited by `recordCall` (API_CALL).
 */
export class ApiKeys {
  constructor(private readonly deps: ApiKeysDeps) {}

  async create(input: { companyId: string; name: string; scopes: readonly string[] }, context: RequestContext): Promise<{ apiKey: ApiKeyView; key: string }> {
    const companyId = requireName("companyId", input.companyId);
    const name = typeof input.name === "string" ? input.name.trim() : "";
    if (!NAME.test(name)) throw new TokenError("INVALID_INPUT", "Name the key in 1 to 100 characters.");
    const scopes = requireScopes(input.scopes);
    const { prisma, audit, clock, maxKeys } = this.deps;
    const generated = generateApiKey();
    const id = randomUUID();
    const now = clock.now();
    const row = await prisma.$transaction(async (tx) => {
      // Counted and inserted under the company's lock, as webhook endpoints are: no race past the cap.
      await tx.$queryRaw`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`api-keys:${companyId}`}, 0))) AS lock`;
      if ((await tx.apiKey.count({ where: { companyId, revokedAt: null } })) >= maxKeys) {
        throw new TokenError("INVALID_INPUT", `A company can have at most ${maxKeys} active API keys. Revoke one first.`);
      }
      const created = await tx.apiKey.create({ data: { id, companyId, name, prefix: generated.prefix, secretHash: generated.secretHash, scopes, createdBy: context.userId, createdAt: now } });
      await audit.write(tx, this.auditEvent(companyId, "POST", { apiKeyId: id, prefix: generated.prefix, scopes: scopes.join(" ") }), context, now);
      return created;
    });
    return { apiKey: view(row), key: generated.key };
  }

  async list(companyId: string): Promise<ApiKeyView[]> {
    requireName("companyId", companyId);
    const rows = await this.deps.prisma.apiKey.findMany({ where: { companyId }, orderBy: [{ createdAt: "desc" }, { id: "asc" }] });
    return rows.map(view);
  }

  /** Revokes a key of the company (NOT_FOUND for another company's): its next request answers 401. Revoking twice changes nothing. */
  async revoke(companyId: string, id: string, context: RequestContext): Promise<ApiKeyView> {
    requireName("companyId", companyId);
    const row = typeof id === "string" && /^[0-9a-f-]{36}$/.test(id) ? await this.deps.prisma.apiKey.findUnique({ where: { id } }) : null;
    if (!row || row.companyId !== companyId) throw new TokenError("NOT_FOUND", "No such API key.");
    if (row.revokedAt) return view(row);
    const now = this.deps.clock.now();
    return this.deps.prisma.$transaction(async (tx) => {
      const updated = await tx.apiKey.update({ where: { id }, data: { revokedAt: now, revokedBy: context.userId } });
      await this.deps.audit.write(tx, this.auditEvent(companyId, "DELETE", { apiKeyId: id, prefix: row.prefix }), context, now);
      return view(updated);
    });
  }

  /**
   * The principal of a presented key, or null when it is malformed, unknown or revoked (the
   * caller answers 401 alike, so a response tells nothing of which). Read from the database on
   * every call: a revoked key is refused from the next request on, in every process.
   */
  async authenticate(presented: string): Promise<ApiKeyPrincipal | null> {
    const prefix = typeof presented === "string" ? prefixOf(presented) : null;
    if (!prefix) return null;
    const row = await this.deps.prisma.apiKey.findUnique({ where: { prefix } });
    if (!row || !matchesHash(presented, row.secretHash) || row.revokedAt) return null;
    const now = this.deps.clock.now();
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_EVERY_MS) {
      // Conditional, so concurrent calls write it once; off the answer's path.
      void this.deps.prisma.apiKey
        .updateMany({ where: { id: row.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_EVERY_MS) } }] }, data: { lastUsedAt: now } })
        .catch(() => undefined);
    }
    return { keyId: row.id, companyId: row.companyId, scopes: row.scopes.filter(isScope), userId: apiKeyUserId(row.id) };
  }

  /**
   * Audits one /api/v1 call (API_CALL, details.apiKeyId). Queued and written in batches off the
   * answer's path, as token reads are: identical calls within a batch are one row with a count.
   */
  recordCall(principal: ApiKeyPrincipal, call: ApiCall, context: Pick<RequestContext, "ipAddress" | "userAgent">): void {
    const details: Record<string, string> = { apiKeyId: principal.keyId };
    if (call.connectionId) details.connectionId = call.connectionId;
    if (call.path) details.path = call.path;
    if (call.errorCode) details.errorCode = call.errorCode;
    this.deps.audit.enqueue(
      {
        companyId: principal.companyId,
        action: "API_CALL",
        outcome: call.status < 400 ? "SUCCESS" : "FAILURE",
        connectionType: call.provider ?? "api",
        apiEndpoint: call.endpoint,
        requestMethod: call.method,
        responseStatus: call.status,
        responseTime: call.responseTimeMs,
        details,
      },
      { userId: principal.userId, ipAddress: context.ipAddress ?? null, userAgent: context.userAgent ?? null },
      this.deps.clock.now(),
    );
  }

  private auditEvent(companyId: string, requestMethod: "POST" | "DELETE", details: Record<string, string>) {
    return { companyId, action: "API_KEY", outcome: "SUCCESS", connectionType: "api-key", apiEndpoint: "api-keys", requestMethod, responseStatus: 200, details } as const;
  }
}
