import { createEnv } from "@t3-oss/env-core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { configurationError, EnvError } from "./env-reader";

const schema = {
  PORT: z.coerce.number().int().min(1).max(65_535),
  SECRET_TOKEN: z.string().min(24, "must be at least 24 characters"),
  MODE: z.enum(["a", "b"]).optional(),
};

function read(runtimeEnv: Record<string, string | undefined>, toError?: (variables: readonly string[], message: string) => Error) {
  return createEnv({ server: schema, runtimeEnv, isServer: true, emptyStringAsUndefined: true, onValidationError: (issues) => { throw configurationError("demo", issues, toError); } });
}

describe("configurationError", () => {
  it("lists every bad variable by name in one message, never a value", () => {
    let caught: unknown;
    try {
      read({ PORT: "99999999", SECRET_TOKEN: "short-secret-value", MODE: "zzz-mode" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EnvError);
    const error = caught as EnvError;
    expect(error.variables).toEqual(["PORT", "SECRET_TOKEN", "MODE"]);
    expect(error.variable).toBe("PORT");
    expect(error.message).toMatch(/^Invalid demo configuration: PORT: .+; SECRET_TOKEN: must be at least 24 characters; MODE: /);
    for (const value of ["99999999", "short-secret-value", "zzz-mode"]) expect(error.message).not.toContain(value);
  });

  it("builds the package's own error type with the same message", () => {
    class OwnError extends Error {}
    expect(() => read({ PORT: "1" }, (variables, message) => new OwnError(`${variables.join(",")} | ${message}`))).toThrow(
      new OwnError("SECRET_TOKEN | Invalid demo configuration: SECRET_TOKEN: Invalid input: expected string, received undefined"),
    );
  });

  it("reads a valid environment, blank as unset", () => {
    expect(read({ PORT: "8080", SECRET_TOKEN: "s".repeat(24), MODE: "" })).toEqual({ PORT: 8080, SECRET_TOKEN: "s".repeat(24) });
  });
});
