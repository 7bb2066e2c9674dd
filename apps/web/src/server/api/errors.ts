import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { type z, ZodError } from "zod";
import { isDatabaseUnavailable } from "@tokenvault/db";
import { databaseUnavailable, TokenError, type TokenErrorCode } from "@tokenvault/token";
import { isStoreUnavailable } from "@tokenvault/store";
import { closeConnection } from "./body-limit";

type TRPCCode = TRPCError["code"];

/**
 * The one mapping from token errors to tRPC codes. The HTTP status of a tRPC code is tRPC's own
 * table (getHTTPStatusCodeFromError): procedures and route handlers answer with the same one.
 */
const CODE_FOR: Record<TokenErrorCode, TRPCCode> = {
  NO_TOKEN: "NOT_FOUND",
  NOT_FOUND: "NOT_FOUND",
  // Several connections of the provider: the request must name one (409, like any choice left open).
  AMBIGUOUS_CONNECTION: "CONFLICT",
  UNKNOWN_PROVIDER: "NOT_FOUND",
  REAUTH_REQUIRED: "PRECONDITION_FAILED",
  PROVIDER_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  RATE_LIMITED: "TOO_MANY_REQUESTS",
  INVALID_STATE: "BAD_REQUEST",
  INVALID_INPUT: "BAD_REQUEST",
  AUTHORIZATION_DENIED: "BAD_REQUEST",
  DECRYPTION_FAILED: "INTERNAL_SERVER_ERROR",
  // The database is unreachable or did not answer in time: temporary, as a provider outage is.
  VAULT_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  CONFIGURATION: "INTERNAL_SERVER_ERROR",
  // The provider answered a proxied call with an error of its own (4xx other than 401/429, or a 5xx not retried).
  PROVIDER_ERROR: "BAD_GATEWAY",
  // Paused by an admin: the connection exists but refuses service in its current state (409), until resumed.
  CONNECTION_DISABLED: "CONFLICT",
};

/**
 * Turns anything a procedure or a route handler threw into a TRPCError safe to send: token
 * errors keep their user-facing message and code; anything else becomes a bare internal error
 * (logged here, message only: errors from drivers or SDKs can quote what they were given).
 */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (error instanceof TokenError) return new TRPCError({ code: CODE_FOR[error.code], message: error.message, cause: new TokenCodeCause(error.code) });
  // A query outside the token service (a route's own read) meets the same outage: same answer.
  // So does a session whose store cannot be reached (the app's database or Redis).
  if (isDatabaseUnavailable(error) || isStoreUnavailable(error)) return toTRPCError(databaseUnavailable());
  console.error("unexpected error in a request:", error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : "unknown");
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: INTERNAL_MESSAGE });
}

const INTERNAL_MESSAGE = "Something went wrong. Try again.";

/** Carries the token error code to the formatter without the original error (and its stack). */
export class TokenCodeCause extends Error {
  constructor(readonly tokenCode: TokenErrorCode) {
    super(tokenCode);
    this.stack = undefined;
  }
}

/** What a client is told of an error beyond its code: the same through tRPC's formatter and from a route handler. */
export function errorDetails(error: TRPCError): { message: string; tokenErrorCode: TokenErrorCode | null; fieldErrors: { path: string; message: string }[] | null } {
  const tokenErrorCode = error.cause instanceof TokenCodeCause ? error.cause.tokenCode : null;
  return {
    message: publicMessage(error, tokenErrorCode),
    tokenErrorCode,
    fieldErrors: error.cause instanceof ZodError ? error.cause.issues.map((i) => ({ path: i.path.join("."), message: i.message })) : null,
  };
}

/**
 * A token error's message is written for people. Any other refused input reads "Invalid input."
 * (its details are in fieldErrors): tRPC's message for a body it could not read is the library's
 * own text ("Unexpected end of JSON input", "Cannot convert xero to a BigInt"), and a zod message
 * is its issues as JSON. An internal error raised outside a procedure (creating the context) says
 * nothing more than one raised inside.
 */
function publicMessage(error: TRPCError, tokenErrorCode: TokenErrorCode | null): string {
  if (tokenErrorCode) return error.message;
  if (error.code === "BAD_REQUEST" || error.code === "PARSE_ERROR") return "Invalid input.";
  if (error.code === "INTERNAL_SERVER_ERROR") return INTERNAL_MESSAGE;
  return error.message;
}

/** Input of a route handler, refused as tRPC refuses a procedure's: BAD_REQUEST, "Invalid input.", field errors. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new TRPCError({ code: "BAD_REQUEST", message: "Invalid input.", cause: parsed.error });
  return parsed.data;
}

/** A route handler's answer to an error: `{ error: { code, message } }` (plus the token code or field errors), with the status tRPC would send. */
export function errorResponse(error: unknown): Response {
  const trpcError = toTRPCError(error);
  const { message, tokenErrorCode, fieldErrors } = errorDetails(trpcError);
  return Response.json(
    { error: { code: trpcError.code, message, ...(tokenErrorCode && { tokenErrorCode }), ...(fieldErrors && { fieldErrors }) } },
    { status: getHTTPStatusCodeFromError(trpcError), headers: { "cache-control": "no-store", ...(trpcError.code === "PAYLOAD_TOO_LARGE" && closeConnection) } },
  );
}
