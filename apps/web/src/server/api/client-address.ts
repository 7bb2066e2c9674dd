import { isIPv4, isIPv6 } from "node:net";
import type { TrustedProxies } from "~/settings";

/**
 * A plain IP address, or null: no zone id ("fe80::1%anything" passes isIP), no port, no text.
 * An IPv4-mapped IPv6 address is written as the IPv4 address it is.
 */
function plainAddress(entry: string | undefined): string | null {
  const address = entry?.trim().toLowerCase() ?? "";
  if (isIPv4(address)) return address;
  if (!isIPv6(address) || address.includes("%")) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1];
  return mapped && isIPv4(mapped) ? mapped : address;
}

/**
 * The client address for audit rows, from X-Forwarded-For as the trusted proxies wrote it.
 *
 * Next 16 gives a route handler no socket address (there is no request.ip in the Node
 * runtime); it fills X-Forwarded-For with the socket address only when the request has none, so
 * with no proxy in front the header is whatever the client chose to send. Without trusted
 * proxies the address is therefore unknown (null), never a claim. Behind proxies the app must be
 * reachable only through them: it cannot see that the request came from one.
 */
export function clientAddress(headers: Headers, trusted: TrustedProxies): string | null {
  if (trusted.kind === "none") return null;
  const chain = (headers.get("x-forwarded-for") ?? "").split(",");
  if (trusted.kind === "hops") return chain.length >= trusted.hops ? plainAddress(chain[chain.length - trusted.hops]) : null;
  // From the nearest hop leftwards: skip the proxies' own addresses; the first other one is the client.
  let address: string | null = null;
  for (let i = chain.length - 1; i >= 0; i--) {
    address = plainAddress(chain[i]);
    if (!address || !trusted.isProxy(address)) return address;
  }
  return address;
}
