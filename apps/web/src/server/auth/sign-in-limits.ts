import type { SignInLimiter } from "./sign-in";

/** The process's sign-in limiter (filled in by the limits step). */
export function signInLimiter(): Promise<SignInLimiter | undefined> {
  return Promise.resolve(undefined);
}
