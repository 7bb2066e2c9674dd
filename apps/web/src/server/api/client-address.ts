import { BlockList, isIPv4, isIPv6 } from "node:net";

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
