import type { MintedToken, Minter } from "./client-credentials";
import type { CachedServiceToken } from "./service-token-cache";
import { ServiceTokenError, serviceTokenProblem } from "./service-token-error";

/**
 * One call of the minter, bounded by `timeoutMs` and checked: a usable token with a future
 * expiry, or a ServiceTokenError (MINT_TIMEOUT, MINT_FAILED). Nothing is stored here.
 */
export async function mintOnce(mint: Minter, name: string, timeoutMs: number, nowMs: () => number): Promise<CachedServiceToken> {
  const started = nowMs();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new ServiceTokenError("MINT_TIMEOUT", `minting took more than ${timeoutMs} ms`)), timeoutMs);
  const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener("abort", () => reject(controller.signal.reason as Error), { once: true }));
  let minted: MintedToken;
  try {
    // Raced, so a minter that ignores the signal still cannot hold the lock past its ttl.
    minted = await Promise.race([mint({ name, signal: controller.signal }), aborted]);
  } catch (error) {
    if (error instanceof ServiceTokenError) throw error;
    throw new ServiceTokenError("MINT_FAILED", `the minter failed (${error instanceof Error ? error.name : typeof error})`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
  const problem = serviceTokenProblem(minted?.token, 1);
  if (problem) throw new ServiceTokenError("MINT_FAILED", `the minted token ${problem}`);
  const expiresAtMs = minted.expiresAt instanceof Date ? minted.expiresAt.getTime() : NaN;
  if (!(expiresAtMs > nowMs())) throw new ServiceTokenError("MINT_FAILED", "the minted token has no future expiry");
  const issuedAtMs = minted.issuedAt instanceof Date && minted.issuedAt.getTime() <= expiresAtMs ? minted.issuedAt.getTime() : started;
  return { token: minted.token, expiresAtMs, issuedAtMs };
}
