import { z } from "zod";
import type { AuditAction } from "@tokenvault/db";
import { AUDIT_ACTIONS } from "~/trpc/shared";

/** Provider ids are short slugs; anything else is refused before it reaches the service. */
export const providerId = z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, "Unknown provider.");

export const healthStatus = z.enum(["HEALTHY", "UNHEALTHY", "EXPIRED"]);
export const tokenStatusCode = z.enum(["VALID", "EXPIRED", "NO_TOKEN", "ERROR"]);

export const tokenStatus = z.object({
  status: tokenStatusCode,
  message: z.string(),
  accessTokenExpiresAt: z.date().nullable(),
  refreshTokenExpiresAt: z.date().nullable(),
  lastRefreshedAt: z.date().nullable(),
});

export const healthView = z.object({ status: healthStatus, lastChecked: z.date(), errorMessage: z.string().nullable() });

export const connectionView = tokenStatus.extend({
  provider: z.string(),
  displayName: z.string(),
  connected: z.boolean(),
  externalId: z.string().nullable(),
  tenants: z.array(z.object({ id: z.string(), name: z.string() })),
  connectedBy: z.string().nullable(),
  connectedAt: z.date().nullable(),
  health: healthView.nullable(),
});

export const auditAction = z.enum(AUDIT_ACTIONS);
// The shared list must be the database enum exactly: an action missing on either side fails typecheck here.
type SameUnion<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const auditActionsMatchDatabase: SameUnion<AuditAction, z.infer<typeof auditAction>> = true;
export const auditOutcome = z.enum(["SUCCESS", "FAILURE"]);

export const auditFilters = z.object({
  connectionType: providerId.optional(),
  action: auditAction.optional(),
  outcome: auditOutcome.optional(),
  userId: z.string().min(1).max(128).optional(),
  from: z.date().optional(),
  to: z.date().optional(),
});

/** What the audit API shows of a row: no details blob (it is for operators, not the dashboard). */
export const auditRow = z.object({
  id: z.string(),
  timestamp: z.date(),
  userId: z.string(),
  action: auditAction,
  outcome: auditOutcome,
  connectionType: z.string(),
  apiEndpoint: z.string(),
  requestMethod: z.string(),
  responseStatus: z.number().int(),
  responseTime: z.number().int().nullable(),
  ipAddress: z.string().nullable(),
  errorMessage: z.string().nullable(),
});
