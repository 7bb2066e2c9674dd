import { isIP } from "node:net";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import type { AuditLogQuery } from "@tokenvault/token/audit";
import { TokenError, type TokenService } from "@tokenvault/token";
import type { Caller, SessionResolver } from "../auth/caller";
import { TokenCodeCause, toTRPCError } from "./errors";

export interface Context {
  caller: Caller | null;
  tokenService: TokenService;
  auditLog: AuditLogQuery;
  ipAddress: string | null;
  userAgent: string | null;
}

/** The services a request uses, built on first use by the process (see services.ts). */
export interface Services {
  tokenService: TokenService;
  auditLog: AuditLogQuery;
}

export interface ContextDeps {
  resolveSession: SessionResolver;
  services: () => Promise<Services>;
}

/**
 * The client address for audit rows: the last X-Forwarded-For entry, i.e. the address the
 * nearest proxy saw (entries before it are whatever the client claimed), or X-Real-IP. Only a
 * syntactically valid IP address is kept: the header is client-controlled when no proxy
 * overwrites it, and must not become arbitrary text in the audit log.
 */
export function clientAddress(headers: Headers): string | null {
  const candidates = [headers.get("x-forwarded-for")?.split(",").at(-1), headers.get("x-real-ip")];
  for (const candidate of candidates) {
    const address = candidate?.trim();
    if (address && isIP(address)) return address;
  }
  return null;
}

/** Builds the context of one request: the caller (through the pluggable resolver) and the services. */
export async function createContext(deps: ContextDeps, request: { headers: Headers }): Promise<Context> {
  const [caller, { tokenService, auditLog }] = await Promise.all([deps.resolveSession(request), deps.services()]);
  return {
    caller,
    tokenService,
    auditLog,
    ipAddress: clientAddress(request.headers),
    userAgent: request.headers.get("user-agent"),
  };
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  // Never include stack traces, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    const invalidInput = error.cause instanceof ZodError;
    return {
      // A zod message is its issues as JSON: people get a sentence, programs get fieldErrors.
      message: invalidInput ? "Invalid input." : shape.message,
      code: shape.code,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        tokenErrorCode: error.cause instanceof TokenCodeCause ? error.cause.tokenCode : null,
        fieldErrors: error.cause instanceof ZodError ? error.cause.issues.map((i) => ({ path: i.path.join("."), message: i.message })) : null,
      },
    };
  },
});

export const router = t.router;
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

export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.caller) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in to continue." });
  // Who acts, for the audit rows the service writes.
  const requestContext = { userId: ctx.caller.userId, ipAddress: ctx.ipAddress, userAgent: ctx.userAgent };
  return next({ ctx: { ...ctx, caller: ctx.caller, requestContext } });
});

export const adminProcedure = protectedProcedure.use(({ ctx, next }) => {
  if (ctx.caller.role !== "admin") throw new TRPCError({ code: "FORBIDDEN", message: "Only administrators can do this." });
  return next();
});
