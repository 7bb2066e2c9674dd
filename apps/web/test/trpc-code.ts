import { TRPCError } from "@trpc/server";
import { expect } from "vitest";

/** The tRPC error code a procedure call failed with (the test fails if it resolved or threw something else). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return (error as TRPCError).code;
}
