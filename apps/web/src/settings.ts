// The web app's settings below env.ts: their types, defaults and parsers, which env.ts reads the
// environment into and the server modules take. Imports nothing of the app, so env.ts imports
// no server module.
import { BlockList, isIPv4, isIPv6 } from "node:net";

/** MAX_REQUEST_BODY_BYTES when unset: far above any input of this API (its largest is a few hundred bytes). */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 64 * 1024;

/** Per-user limits a minute (RATE_LIMIT_*_PER_MINUTE), enforced by server/limits/request-limits.ts. */
export interface RequestLimitsConfig {
  checksPerMinute: number;
  connectsPerMinute: number;
  /** webhook.create, setEnabled, remove and sendTest together. */
  webhookChangesPerMinute: number;
  /** apiKey.create and revoke together, per admin. Default DEFAULT_API_KEY_CHANGES_PER_MINUTE. */
  apiKeyChangesPerMinute?: number;
  /** /api/v1 calls per API key. Default DEFAULT_API_CALLS_PER_MINUTE. */
  apiCallsPerMinute?: number;
}

export const DEFAULT_API_KEY_CHANGES_PER_MINUTE = 20;
export const DEFAULT_API_CALLS_PER_MINUTE = 600;

/**
 * Which X-Forwarded-For entries to believe (TRUSTED_PROXIES): none (the default), the entry
 * `hops` from the right (that many proxies append to it), or the first entry from the right
 * that is not one of the proxies' addresses.
 */
export type TrustedProxies = { kind: "none" } | { kind: "hops"; hops: number } | { kind: "addresses"; isProxy: (address: string) => boolean };

const MAX_HOPS = 10;

/** The TRUSTED_PROXIES setting: unset, "", "0" or "none"; a hop count; or IP addresses and CIDR ranges, comma-separated. */
export function parseTrustedProxies(value: string | undefined): TrustedProxies {
  const text = value?.trim() ?? "";
  if (text === "" || text === "0" || text.toLowerCase() === "none") return { kind: "none" };
  const problem = (index: number) => new Error(`TRUSTED_PROXIES: entry ${index + 1} is not a hop count (1-${MAX_HOPS}), an IP address or a CIDR range.`);
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > MAX_HOPS) throw problem(0);
    return hops === 0 ? { kind: "none" } : { kind: "hops", hops };
  }
  const list = new BlockList();
  text.split(",").forEach((entry, index) => {
    const [address = "", prefix, ...rest] = entry.trim().split("/");
    const family = isIPv4(address) ? "ipv4" : isIPv6(address) && !address.includes("%") ? "ipv6" : null;
    if (!family || rest.length > 0) throw problem(index);
    if (prefix === undefined) return list.addAddress(address, family);
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!(bits <= (family === "ipv4" ? 32 : 128))) throw problem(index);
    list.addSubnet(address, bits, family);
  });
  return { kind: "addresses", isProxy: (address) => list.check(address, isIPv4(address) ? "ipv4" : "ipv6") };
}
