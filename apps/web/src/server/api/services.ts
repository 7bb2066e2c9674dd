import { getDatabase } from "@tokenvault/db";
import { tokenService } from "@tokenvault/token";
import { AuditLogQuery } from "@tokenvault/token/audit";
import { cookieSessionResolver } from "../auth/session";
import type { ContextDeps } from "./trpc";

/** Wiring only: the process-wide services and the default (cookie) session resolver. */
export const defaultContextDeps: ContextDeps = {
  resolveSession: cookieSessionResolver,
  tokenService,
  auditLog: new AuditLogQuery(async () => (await getDatabase()).prisma),
};
