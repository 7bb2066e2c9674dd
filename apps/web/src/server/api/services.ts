import { headers } from "next/headers";
import { getDatabase } from "@tokenvault/db";
import { getTokenService } from "@tokenvault/token";
import { AuditLogQuery } from "@tokenvault/token/audit";
import type { Caller } from "../auth/caller";
import { cookieSessionResolver } from "../auth/session";
import type { ContextDeps, Services } from "./trpc";

let auditLog: AuditLogQuery | undefined;

/** The process-wide services, built on the first request that needs them. */
async function processServices(): Promise<Services> {
  const [tokenService, database] = await Promise.all([getTokenService(), getDatabase()]);
  auditLog ??= new AuditLogQuery(database.prisma);
  return { tokenService, auditLog };
}

/** Wiring only: the process-wide services and the default (cookie) session resolver. */
export const defaultContextDeps: ContextDeps = {
  resolveSession: cookieSessionResolver,
  services: processServices,
};

/** The caller of the current page request, through the same resolver as the API and the routes. */
export async function currentCaller(): Promise<Caller | null> {
  return defaultContextDeps.resolveSession({ headers: await headers() });
}
