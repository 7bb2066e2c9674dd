/**
 * Every failure a Tokenvault package reports is a TokenError with a stable code: the one coded
 * domain error, mapped once to tRPC and HTTP by the web app. It lives here, in the lowest
 * package, so the vault, the token service and the stores all raise the same type. Messages are
 * written to be shown to a person: they never carry a token, a ciphertext or a key.
 */
export const TOKEN_ERROR_CODES = [
  "NO_TOKEN",
  "REAUTH_REQUIRED",
  "PROVIDER_UNAVAILABLE",
  "RATE_LIMITED",
  "DECRYPTION_FAILED",
  "VAULT_UNAVAILABLE",
  "INVALID_STATE",
  "AUTHORIZATION_DENIED",
  "INVALID_INPUT",
  "NOT_FOUND",
  /** A company and provider alone name several connections: the caller must say which (details list them). */
  "AMBIGUOUS_CONNECTION",
  "UNKNOWN_PROVIDER",
  "CONFIGURATION",
  /** A provider API call answered with an error that retrying will not fix (its status and bounded body ride on the error). */
  "PROVIDER_ERROR",
  /** The connection is paused by an admin: no token is served until it is resumed (nothing was revoked). */
  "CONNECTION_DISABLED",
] as const;
export type TokenErrorCode = (typeof TOKEN_ERROR_CODES)[number];

export class TokenError extends Error {
  override readonly name: string = "TokenError";
  readonly code: TokenErrorCode;
  /** Non-secret facts a caller can act on (AMBIGUOUS_CONNECTION: the connections to choose from). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: TokenErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options);
    this.code = code;
    this.details = options?.details;
  }
}

/** Why a ciphertext was refused. AES-GCM cannot tell tampering from a wrong binding: both are AUTHENTICATION_FAILED. */
export type DecryptionFailureReason =
  | "MALFORMED"
  | "UNSUPPORTED_VERSION"
  | "UNKNOWN_KEY"
  | "AUTHENTICATION_FAILED";

const REASON_MESSAGES: Record<DecryptionFailureReason, string> = {
  MALFORMED: "The stored secret is not a valid vault envelope.",
  UNSUPPORTED_VERSION: "The stored secret uses an envelope version this release cannot read.",
  UNKNOWN_KEY: "The stored secret was sealed with an encryption key that is not configured.",
  AUTHENTICATION_FAILED: "The stored secret failed authentication: it was altered or belongs to another record.",
};

/** A vault envelope could not be opened. Carries the reason and the key id, never the envelope or plaintext. */
export class DecryptionError extends TokenError {
  override readonly name = "DecryptionError";
  readonly reason: DecryptionFailureReason;
  readonly keyId: string | undefined;

  constructor(reason: DecryptionFailureReason, keyId?: string) {
    super("DECRYPTION_FAILED", REASON_MESSAGES[reason]);
    this.reason = reason;
    this.keyId = keyId;
  }
}

/** An encryption key setting is missing or unusable. Names the variable, never its value. */
export class KeyConfigError extends TokenError {
  override readonly name = "KeyConfigError";
  readonly variable: string;

  constructor(variable: string, problem: string) {
    super("CONFIGURATION", `${variable} ${problem}`);
    this.variable = variable;
  }

  /** An env.ts's bad variables (the kit's EnvErrorFactory): the first one named, the message listing them all. */
  static fromEnv(this: void, variables: readonly string[], message: string): KeyConfigError {
    const error = new KeyConfigError(variables[0] ?? "environment", "is invalid");
    error.message = message;
    return error;
  }
}
