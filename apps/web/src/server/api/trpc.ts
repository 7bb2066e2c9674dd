import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import type { AuditLogQuery } from "@tokenvault/token/audit";
import { TokenError, type RequestContext, type TokenService } from "@tokenvault/token";
import type { Caller, SessionResolver } from "../auth/caller";
import { RetryAfterCause, type LimitedAction, type RequestLimits } from "../limits/request-limits";
import type { SessionAdmin } from "../auth/session-admin";
import type { TrustedProxies } from "~/settings";
import { clientAddress } from "./client-address";
import type { PickerOffers } from "./picker-offers";
import { errorDetails, TokenCodeCause, toTRPCError } from "./errors";

export interface Context {
  caller: Caller | null;
  tokenService: TokenService;
  auditLog: AuditLogQuery;
  pickerOffers: PickerOffers;
  /** Tokenvault's own sign-in sessions; absent when a host app brings its own auth. */
  sessionAdmin?: SessionAdmin;
  ipAddress: string | null;
  userAgent: string | null;
  /** Per-user limits of checks and connects; absent: not limited (a host app's own choice). */
  limits: RequestLimits | null;
}

/** The services a request uses, built on first use by the process (see services.ts). */
export interface Services {
  tokenService: TokenService;
  auditLog: AuditLogQuery;
  /** Signs and checks the organisation picker's offers (keyed from SESSION_SECRET). */
  pickerOffers: PickerOffers;
  limits?: RequestLimits;
  sessionAdmin?: SessionAdmin;
}

export interface ContextDeps {
  resolveSession: SessionResolver;
  services: () => Promise<Services>;
  /** Which forwarding headers to believe for audit rows (TRUSTED_PROXIES); absent: none, no address is recorded. */
  trustedProxies?: TrustedProxies;
  /** Largest request body accepted (MAX_REQUEST_BODY_BYTES); absent: 64 KB. */
  maxRequestBodyBytes?: number;
}

/**
 * Builds the context of one request: the caller (through the pluggable resolver) and the
 * services. `responseHeaders`: where the resolver may set a renewed session cookie.
 */
export async function createContext(deps: ContextDeps, request: { headers: Headers }, responseHeaders?: Headers): Promise<Context> {
  // An error here (a session store that cannot be reached) leaves through the one mapping too.
  const [caller, { tokenService, auditLog, pickerOffers, limits, sessionAdmin }] = await Promise.all([deps.resolveSession({ headers: request.headers, responseHeaders }), deps.services()]).catch((error: unknown) => {
    throw toTRPCError(error);
  });
  return {
    caller,
    tokenService,
    auditLog,
    pickerOffers,
    limits: limits ?? null,
    sessionAdmin,
    ipAddress: clientAddress(request.headers, deps.trustedProxies ?? { kind: "none" }),
    userAgent: request.headers.get("user-agent"),
  };
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  // Never include stack traces, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    const { message, tokenErrorCode, fieldErrors } = errorDetails(error);
    const retryAfterSeconds = error.cause instanceof RetryAfterCause ? error.cause.retryAfterSec : null;
    return {
      message,
      code: shape.code,
      data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, tokenErrorCode, fieldErrors, retryAfterSeconds },
    };
  },
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Every procedure: errors leave through toTRPCError, the one mapping. */
const safeErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (result.ok) return result;
  const { error } = result;
  // tRPC wraps what a procedure throws; unwrap token errors, hide everything unexpected.
  if (error.cause instanceof TokenError) throw toTRPCError(error.cause);
  if (error.code === "INTERNAL_SERVER_ERROR" && !(error.cause instanceof TokenCodeCause)) throw toTRPCError(error.cause ?? new Error(error.message));
  return result;
});

export const publicProcedure = t.procedure.use(safeErrors);

/** Who may call: anyone signed in, or administrators only. */
export type Access = "signed-in" | "admin";

/** The context of a caller who passed the access check. */
export interface AuthorizedContext extends Context {
  caller: Caller;
  /** Who acts, for the audit rows the service writes. */
  requestContext: RequestContext;
}

/** The one access check, for procedures and route handlers alike. */
export function authorize(ctx: Context, access: Access): AuthorizedContext {
  const { caller } = ctx;
  if (!caller) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in to continue." });
  if (access === "admin" && caller.role !== "admin") throw new TRPCError({ code: "FORBIDDEN", message: "Only administrators can do this." });
  return { ...ctx, caller, requestContext: { userId: caller.userId, ipAddress: ctx.ipAddress, userAgent: ctx.userAgent } };
}

export const protectedProcedure = publicProcedure.use(({ ctx, next }) => next({ ctx: authorize(ctx, "signed-in") }));

export const adminProcedure = publicProcedure.use(({ ctx, next }) => next({ ctx: authorize(ctx, "admin") }));

/** Takes one of the caller's points for `action` (after the access check): over the limit, TOO_MANY_REQUESTS. */
export function limitedTo(action: LimitedAction) {
  return t.middleware(async ({ ctx, next }) => {
    const { caller, limits } = ctx;
    if (limits && caller) await limits.take(action, caller);
    return next();
  });
}
