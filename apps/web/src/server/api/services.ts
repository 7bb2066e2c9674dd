import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { webEnv } from "~/env";
import { getDatabase } from "@tokenvault/db";
import { getTokenService } from "@tokenvault/token";
import { AuditLogQuery } from "@tokenvault/token/audit";
import type { Caller } from "../auth/caller";
import { RequestLimits } from "../limits/request-limits";
import { PickerOffers } from "./picker-offers";
import { cookieSessionResolver, serverSessions, SessionRefreshNeeded } from "../auth/session";
import { localMembers } from "../auth/local-users";
import { PAGE_PATH_HEADER, refreshPath } from "../auth/return-path";
import type { ContextDeps, Services } from "./trpc";

let auditLog: AuditLogQuery | undefined;
let limits: Promise<RequestLimits> | undefined;
let pickerOffers: PickerOffers | undefined;

/** The process-wide services, built on the first request that needs them. */
async function processServices(): Promise<Services> {
  if (!limits) {
    limits = RequestLimits.create(webEnv().requestLimits, webEnv().sessionSecret);
    // A backend that failed to build is tried again on the next request.
    limits.catch(() => (limits = undefined));
  }
  const [tokenService, database, requestLimits] = await Promise.all([getTokenService(), getDatabase(), limits]);
  auditLog ??= new AuditLogQuery(database.prisma);
  pickerOffers ??= new PickerOffers(webEnv().sessionSecret);
  return { tokenService, auditLog, pickerOffers, limits: requestLimits, sessionAdmin: { sessions: serverSessions(), members: (companyId) => (webEnv().demoUsers ? localMembers(companyId) : []) } };
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

/**
 * The caller of the current page request, through the same resolver as the API and the routes.
 * A page cannot set cookies: when the session's access token has lapsed, the browser goes
 * through /api/auth/refresh (which rotates the refresh token and sets the cookie) and back.
 */
export async function currentCaller(): Promise<Caller | null> {
  const requestHeaders = await headers();
  try {
    return await defaultContextDeps.resolveSession({ headers: requestHeaders });
  } catch (error) {
    if (error instanceof SessionRefreshNeeded) redirect(refreshPath(requestHeaders.get(PAGE_PATH_HEADER)));
    throw error;
  }
}

/**
 * The deps of a server component's calls: the caller as currentCaller resolves it. Not a spread of
 * defaultContextDeps: a spread reads its getters, so the settings, on import (during the build).
 */
export const pageContextDeps: ContextDeps = {
  resolveSession: () => currentCaller(),
  services: processServices,
  get trustedProxies() {
    return defaultContextDeps.trustedProxies;
  },
  get maxRequestBodyBytes() {
    return defaultContextDeps.maxRequestBodyBytes;
  },
};
