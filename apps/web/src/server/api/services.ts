import { headers } from "next/headers";
import { webEnv } from "~/env";
import { getDatabase } from "@tokenvault/db";
import { getTokenService } from "@tokenvault/token";
import { AuditLogQuery } from "@tokenvault/token/audit";
import type { Caller } from "../auth/caller";
import { RequestLimits } from "../limits/request-limits";
import { cookieSessionResolver } from "../auth/session";
import type { ContextDeps, Services } from "./trpc";

let auditLog: AuditLogQuery | undefined;
let limits: RequestLimits | undefined;

/** The process-wide services, built on the first request that needs them. */
async function processServices(): Promise<Services> {
  const [tokenService, database] = await Promise.all([getTokenService(), getDatabase()]);
  auditLog ??= new AuditLogQuery(database.prisma);
  limits ??= RequestLimits.create(webEnv().requestLimits);
  return { tokenService, auditLog, limits };
}

/** Wiring only: the process-wide services, the default (cookie) session resolver and the request settings of env.ts. */
export const defaultContextDeps: ContextDeps = {
  resolveSession: cookieSessionResolver,
  services: processServices,
  // Read on use, not at import: the build imports this module without the runtime settings.
  get trustedProxies() {
    return webEnv().trustedProxies;
  },
  get maxRequestBodyBytes() {
    return webEnv().maxRequestBodyBytes;
  },
};

/** The caller of the current page request, through the same resolver as the API and the routes. */
export async function currentCaller(): Promise<Caller | null> {
  return defaultContextDeps.resolveSession({ headers: await headers() });
}
