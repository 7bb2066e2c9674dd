import type { StandardSchemaV1 } from "@t3-oss/env-core";
import { z } from "zod";
import { loadRootEnvFile } from "./paths";

/**
 * A bad configuration: every bad variable by name, never its value (a URL may carry a password,
 * a token is a secret). `variable` is the first of them, for callers that point at one.
 */
export class EnvError extends Error {
  override readonly name = "EnvError";
  constructor(
    readonly variables: readonly string[],
    message: string,
  ) {
    super(message);
  }

  get variable(): string {
    return this.variables[0] ?? "environment";
  }
}

/** Builds the error a package throws for a bad configuration (its own type, the kit's message). */
export type EnvErrorFactory = (variables: readonly string[], message: string) => Error;

function variableOf(issue: StandardSchemaV1.Issue): string {
  const first = issue.path?.[0];
  const key = typeof first === "object" && first !== null ? first.key : first;
  return key === undefined ? "environment" : String(key);
}

/** The one error format: `Invalid <scope> configuration: A: problem; B: problem`. */
export function configurationError(scope: string, issues: readonly StandardSchemaV1.Issue[], toError?: EnvErrorFactory): Error {
  const variables = [...new Set(issues.map(variableOf))];
  const message = `Invalid ${scope} configuration: ${issues.map((i) => `${variableOf(i)}: ${i.message}`).join("; ")}`;
  return toError ? toError(variables, message) : new EnvError(variables, message);
}

/**
 * The options every env.ts gives createEnv (@t3-oss/env-core) besides its schema and `extends`:
 * this process's environment (with the repository's .env under it), read here and in the env.ts
 * files only, or `source` when given; `NAME=` as unset; every bad variable reported in one error.
 */
export function envSource(scope: string, toError?: EnvErrorFactory, source?: Record<string, string | undefined>) {
  if (!source) loadRootEnvFile();
  return {
    // A copy: createEnv deletes the empty strings from the object it is given.
    runtimeEnv: { ...(source ?? process.env) },
    emptyStringAsUndefined: true,
    isServer: true,
    onValidationError: (issues: readonly StandardSchemaV1.Issue[]): never => {
      throw configurationError(scope, issues, toError);
    },
  };
}

/** Optional text, trimmed; blank is unset. */
export const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === "" ? undefined : v));

/** Optional http(s) URL; blank is unset. */
export const optionalHttpUrl = optionalText.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v), { message: "must be an http(s) URL" });

/** `NAME=` or `NAME=  ` in a .env file means "use the default", not zero. */
export function blankIsUnset<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (typeof value === "string" && value.trim() === "" ? undefined : value), schema);
}
