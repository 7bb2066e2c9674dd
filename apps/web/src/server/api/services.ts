import { headers } from "next/headers";
import { getDatabase } from "@tokenvault/db";
import { tokenService } from "@tokenvault/token";
import { AuditLogQuery } from "@tokenvault/token/audit";
import type { Caller } from "../auth/caller";
import { cookieSessionResolver } from "../auth/session";
import type { ContextDeps } from "./trpc";

/** Wiring only: the process-wide services and the default (cookie) session resolver. */
export const defaultContextDeps: ContextDeps = {
  resolveSession: cookieSessionResolver,
  tokenService,
  auditLog: new AuditLogQuery(async () => (await getDatabase()).prisma),
};

/** The caller of the current page request, through the same resolver as the API and the routes. */
export async function currentCaller(): Promise<Caller | null> {
  return defaultContextDeps.resolveSession({ headers: await headers() });
}
