import { StorageError } from "../src/errors";

/** The call's StorageError code (or "resolved") and how long it took to settle: what the fault tests assert on. */
export async function timed(call: () => Promise<unknown>): Promise<{ code: string; ms: number }> {
  const started = performance.now();
  const code = await call().then(
    () => "resolved",
    (error: unknown) => (error instanceof StorageError ? error.code : `not a StorageError: ${String(error)}`),
  );
  return { code, ms: Math.round(performance.now() - started) };
}
