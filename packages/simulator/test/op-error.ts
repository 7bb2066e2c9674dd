import { errors } from "./openid-client";

/** The OAuth error openid-client raised for `promise` (the test fails if it resolved or failed otherwise). */
export async function opError(promise: Promise<unknown>): Promise<errors.OPError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof errors.OPError) return e;
    throw e;
  }
  throw new Error("expected an OPError");
}
