import { z } from "zod";
import type { AuditAction } from "@tokenvault/db";
import { MAX_EXTRA_SCOPES, PROVIDER_ALIASES, PROVIDER_ID_PATTERN, SCOPE_TOKEN_PATTERN, type AuditEntry, type AuthorizationRequest, type CallBudget, type ConnectionGroup, type ConnectionHistoryDay, type ConnectionHealthView, type ConnectionSettingsView, type ConnectionUserMetadata, type ConnectionView, type ProviderInfo, type ProviderTenant, type TokenStatus } from "@tokenvault/token";
import type { AuditLogFilters } from "@tokenvault/token/audit";
import { AUDIT_ACTIONS } from "~/audit-actions";
import { CONTROL_CHARACTERS } from "../request-checks";

/** True when A and B have the same keys and each is assignable to the other. */
type Same<A, B> = [A, keyof A] extends [B, keyof B] ? ([B, keyof B] extends [A, keyof A] ? true : false) : false;

/**
 * The schema of exactly T, a type the token package declares: typecheck fails on this call when
 * either side gains, loses or changes a field the other does not. (A nested object is checked
 * through its own schema.)
 */
export function schemaOf<T>() {
  return <S extends z.ZodType<T>>(schema: S, ..._exactly: Same<z.output<S>, T> extends true ? [] : [error: "the schema and the type differ"]) => schema;
}

/**
 * Provider ids are short slugs; anything else is refused before it reaches the service. An alias
 * (the design documents' "qbo") becomes the provider's id here, at the edge, so what is looked up,
 * stored, audited and answered is always the id.
 */
export const providerId = z
  .string()
  .regex(PROVIDER_ID_PATTERN, "Unknown provider.")
  .transform((id) => PROVIDER_ALIASES.get(id) ?? id);

/**
 * Free text a client sends (a user id to filter by, a URL): C0 and C1 controls and DEL are
 * refused as bad input here, never left for PostgreSQL (which refuses NUL with a 500) to find.
 */
export const plainText = z.string().refine((text) => !CONTROL_CHARACTERS.test(text), "Remove control characters.");

export const providerInfo = schemaOf<ProviderInfo>()(z.object({ id: z.string(), displayName: z.string(), scopes: z.array(z.string()), optionalScopes: z.array(z.string()) }));

/**
 * The extra scopes one connect asks for, beyond the provider's configured ones. The shape is
 * checked here; which scopes a provider offers, the service checks (INVALID_INPUT naming the scope).
 */
export const extraScopes = z.array(z.string().regex(SCOPE_TOKEN_PATTERN, "Not a scope name.")).max(MAX_EXTRA_SCOPES);

export const healthStatus = z.enum(["HEALTHY", "UNHEALTHY", "EXPIRED"]);
export const tokenStatusCode = z.enum(["VALID", "EXPIRED", "NO_TOKEN", "ERROR"]);

export const tokenStatus = schemaOf<TokenStatus>()(
  z.object({
    status: tokenStatusCode,
    message: z.string(),
    accessTokenExpiresAt: z.date().nullable(),
    refreshTokenExpiresAt: z.date().nullable(),
    lastRefreshedAt: z.date().nullable(),
  }),
);

export const healthView = schemaOf<ConnectionHealthView>()(z.object({ status: healthStatus, lastChecked: z.date(), errorMessage: z.string().nullable() }));

export const providerTenant = schemaOf<ProviderTenant>()(z.object({ id: z.string(), name: z.string() }));

/** An admin's metadata as the service stored it (validated there: a JSON object of at most 8 KiB). */
const connectionMetadata = z.custom<ConnectionUserMetadata>((value) => typeof value === "object" && value !== null && !Array.isArray(value));

export const connectionView = schemaOf<ConnectionView>()(
  tokenStatus.extend({
    provider: z.string(),
    displayName: z.string(),
    connected: z.boolean(),
    connectionId: z.string().nullable(),
    name: z.string().nullable(),
    externalId: z.string().nullable(),
    tenants: z.array(providerTenant),
    connectedBy: z.string().nullable(),
    connectedAt: z.date().nullable(),
    health: healthView.nullable(),
    refreshTokenHardExpiresAt: z.date().nullable(),
    reconnectBefore: z.date().nullable(),
    failureStreakDays: z.number().int().min(0),
    exhausted: z.boolean(),
    nextRefreshAt: z.date().nullable(),
    customName: z.string().nullable(),
    tags: z.array(z.string()),
    metadata: connectionMetadata,
    requestedScopes: z.array(z.string()),
    grantedScopes: z.array(z.string()),
    disabled: z.boolean(),
    disabledAt: z.date().nullable(),
    disabledBy: z.string().nullable(),
    idleExpiryIfPaused: z.date().nullable(),
  }),
);

export const connectionGroup = schemaOf<ConnectionGroup>()(
  z.object({
    provider: z.string(),
    displayName: z.string(),
    count: z.number().int().min(0),
    total: z.number().int().min(0),
    offset: z.number().int().min(0),
    limit: z.number().int().min(1),
    connections: z.array(connectionView),
  }),
);

/** What the OAuth callback offered the organisation picker: the connections it made and their signature (picker-offers.ts). */
export const pickerOffer = z.object({ ids: z.array(z.uuid()).min(1).max(100), signature: z.string().max(64) });

/** A page of each provider's connections: offsets by provider id, a plain-text search, up to 100 a page. */
export const connectionPageInput = z.object({
  providers: z.array(providerId).max(20).optional(),
  connectionIds: z.array(z.uuid()).max(100).optional(),
  search: plainText.max(100).optional(),
  offsets: z.record(z.string().regex(PROVIDER_ID_PATTERN), z.number().int().min(0).max(1_000_000)).optional(),
  limit: z.number().int().min(1).max(100).optional(),
});

export const connectionSettingsView = schemaOf<ConnectionSettingsView>()(
  z.object({ connectionId: z.string(), customName: z.string().nullable(), tags: z.array(z.string()), metadata: connectionMetadata, disabledAt: z.date().nullable(), disabledBy: z.string().nullable() }),
);

const count = z.number().int().min(0);
const latency = z.number().int().min(0).nullable();
export const connectionHistoryDay = schemaOf<ConnectionHistoryDay>()(
  z.object({ day: z.string(), refreshSuccess: count, refreshFailure: count, checkSuccess: count, checkFailure: count, refreshLatencyMs: latency, checkLatencyMs: latency }),
);
export const callBudget = schemaOf<CallBudget>()(z.object({ name: z.string(), windowMs: z.number().int().positive(), limit: z.number().int().positive(), used: z.number().int().nonnegative() }));

export const historyRange = z.union([z.literal(7), z.literal(30)]);

export const authorizationRequest = schemaOf<AuthorizationRequest>()(z.object({ url: z.url(), expiresAt: z.date() }));

// The shared list must be the database enum exactly: an action missing on either side fails typecheck here.
export const auditAction = schemaOf<AuditAction>()(z.enum(AUDIT_ACTIONS));
export const auditOutcome = z.enum(["SUCCESS", "FAILURE"]);

/**
 * A date filter between 1970 and 9999: JavaScript dates reach year ±275760, PostgreSQL's
 * timestamptz refuses most of that range, and a query must not be what finds out.
 */
const filterDate = z
  .date()
  .min(new Date("1970-01-01T00:00:00.000Z"), "Enter a date from 1970 on.")
  .max(new Date("9999-12-31T23:59:59.999Z"), "Enter a date before the year 10000.");

export const auditFilters = schemaOf<AuditLogFilters>()(
  z.object({
    connectionType: providerId.optional(),
    connectionId: z.uuid().optional(),
    action: auditAction.optional(),
    outcome: auditOutcome.optional(),
    userId: plainText.min(1).max(128).optional(),
    from: filterDate.optional(),
    to: filterDate.optional(),
  }),
);

/** An audit row as the token package reads it: the one declaration of its shape in the web. */
export const auditEntry = schemaOf<AuditEntry>()(
  z.object({
    id: z.string(),
    timestamp: z.date(),
    companyId: z.string(),
    userId: z.string(),
    action: auditAction,
    outcome: auditOutcome,
    connectionType: z.string(),
    connectionId: z.string().nullable(),
    apiEndpoint: z.string(),
    requestMethod: z.string(),
    responseStatus: z.number().int(),
    ipAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    errorMessage: z.string().nullable(),
    responseTime: z.number().int().nullable(),
    // Stored JSON (Prisma JsonValue); never sent by the audit API (see auditRow).
    details: z.custom<AuditEntry["details"]>(),
  }),
);

/**
 * What the audit API leaves out of a row: the details blob (for operators, not the dashboard),
 * the company (always the caller's own) and the user agent (the CSV export carries it).
 */
const NOT_IN_AUDIT_API = { details: true, companyId: true, userAgent: true } as const;

/** What the audit API shows of a row. */
export const auditRow = schemaOf<Omit<AuditEntry, keyof typeof NOT_IN_AUDIT_API>>()(auditEntry.omit(NOT_IN_AUDIT_API));
