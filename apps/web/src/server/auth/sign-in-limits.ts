import { createHmac } from "node:crypto";
import { RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { webEnv } from "~/env";
import { createLimiter, secondsToWait as seconds } from "../limits/limiter-factory";
import type { SignInLimiter } from "./sign-in";

/** Failed sign-ins allowed per window: per account, and per client address (many accounts from one place). */
export const SIGN_IN_LIMITS = { perAccount: 5, perAddress: 20, windowSeconds: 15 * 60 } as const;

/**
 * Failed sign-ins counted with rate-limiter-flexible: once an account, or a client address, has
 * spent its failures, sign-in is refused (password unchecked) until the window ends. The address
 * is the one TRUSTED_PROXIES lets the app believe; with none trusted there is no address, and
 * only the per-account limit applies.
 */
export class RateLimitedSignIn implements SignInLimiter {
  constructor(
    private readonly perAccount: RateLimiterAbstract,
    private readonly perAddress: RateLimiterAbstract,
    /** Keys the counts: a keyed hash, so the backend never holds an account name or an address in clear. */
    private readonly secret: string,
    private readonly limits: { perAccount: number; perAddress: number } = SIGN_IN_LIMITS,
  ) {}

  /** Accounts are case-insensitive for counting: "Alice" and "alice" share one count. */
  private key(kind: "account" | "address", value: string): string {
    return createHmac("sha256", this.secret).update(`${kind}:${value.toLowerCase()}`).digest("base64url");
  }

  async blocked(account: string, address: string | null): Promise<number | null> {
    const [byAccount, byAddress] = await Promise.all([this.perAccount.get(this.key("account", account)), address ? this.perAddress.get(this.key("address", address)) : null]);
    const waits = [byAccount && byAccount.consumedPoints >= this.limits.perAccount ? seconds(byAccount) : 0, byAddress && byAddress.consumedPoints >= this.limits.perAddress ? seconds(byAddress) : 0];
    const wait = Math.max(...waits);
    return wait > 0 ? wait : null;
  }

  async failed(account: string, address: string | null): Promise<number | null> {
    const results = await Promise.all([consume(this.perAccount, this.key("account", account)), address ? consume(this.perAddress, this.key("address", address)) : null]);
    const wait = Math.max(0, ...results.filter((r): r is RateLimiterRes => r !== null && r.remainingPoints === 0).map(seconds));
    return wait > 0 ? wait : null;
  }

  async succeeded(account: string): Promise<void> {
    await this.perAccount.delete(this.key("account", account));
  }
}

/** Counts one; over the limit the library rejects with the RateLimiterRes, which says the same thing. */
function consume(limiter: RateLimiterAbstract, limitKey: string): Promise<RateLimiterRes> {
  return limiter.consume(limitKey).catch((rejection: unknown) => {
    if (rejection instanceof RateLimiterRes) return rejection;
    throw rejection;
  });
}

let limiter: Promise<SignInLimiter> | undefined;

/** The process's sign-in limiter, built on first use on the app's limiter backend (limiter-factory.ts). */
export function signInLimiter(): Promise<SignInLimiter> {
  limiter ??= Promise.all([
    createLimiter({ name: "sign-in-account", points: SIGN_IN_LIMITS.perAccount, durationSeconds: SIGN_IN_LIMITS.windowSeconds }),
    createLimiter({ name: "sign-in-address", points: SIGN_IN_LIMITS.perAddress, durationSeconds: SIGN_IN_LIMITS.windowSeconds }),
  ]).then(([account, address]) => new RateLimitedSignIn(account, address, webEnv().sessionSecret));
  limiter.catch(() => (limiter = undefined));
  return limiter;
}
