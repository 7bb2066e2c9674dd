import { TRPCError } from "@trpc/server";
import { TokenError, type TokenErrorCode } from "@tokenvault/token";

type TRPCCode = TRPCError["code"];

/** The one mapping from token errors to tRPC codes. */
const CODE_FOR: Record<TokenErrorCode, TRPCCode> = {
  NO_TOKEN: "NOT_FOUND",
  NOT_FOUND: "NOT_FOUND",
  UNKNOWN_PROVIDER: "NOT_FOUND",
  REAUTH_REQUIRED: "PRECONDITION_FAILED",
  PROVIDER_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  RATE_LIMITED: "TOO_MANY_REQUESTS",
  INVALID_STATE: "BAD_REQUEST",
  INVALID_INPUT: "BAD_REQUEST",
  AUTHORIZATION_DENIED: "BAD_REQUEST",
  DECRYPTION_FAILED: "INTERNAL_SERVER_ERROR",
  VAULT_UNAVAILABLE: "INTERNAL_SERVER_ERROR",
  CONFIGURATION: "INTERNAL_SERVER_ERROR",
};

/**
 * Turns anything a procedure threw into a TRPCError safe to send: token errors keep their
 * user-facing message and code; anything else becomes a bare internal error (logged here,
 * message only: errors from drivers or SDKs can quote what they were given).
 */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (error instanceof TokenError) return new TRPCError({ code: CODE_FOR[error.code], message: error.message, cause: new TokenCodeCause(error.code) });
  console.error("unexpected error in a procedure:", error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : "unknown");
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Something went wrong. Try again." });
}

/** Carries the token error code to the formatter without the original error (and its stack). */
export class TokenCodeCause extends Error {
  constructor(readonly tokenCode: TokenErrorCode) {
    super(tokenCode);
    this.stack = undefined;
  }
}
