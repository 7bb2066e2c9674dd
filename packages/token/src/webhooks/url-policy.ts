import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { TokenError } from "@tokenvault/vault";

/**
 * Which webhook URLs may be saved and called. A webhook must not become a way into the internal
 * network: in production an address that is loopback, link-local, private, shared (CGNAT),
 * unspecified, multicast or reserved is refused, whether written literally or reached through
 * a host name (every address the name resolves to is checked, at save and again at each
 * connection, so a name re-pointed after saving — DNS rebinding — is refused too).
 * Development and test allow them: a local receiver is how webhooks are tried out.
 */
export interface WebhookUrlPolicy {
  allowPrivateNetworks: boolean;
  /** Resolves a host name to all its addresses (tests pass their own). Default: dns.lookup. */
  lookupAll?: (hostname: string) => Promise<LookupAddress[]>;
}

const MAX_URL_LENGTH = 2048;

/** The NAT64 well-known prefix (RFC 6052): its last 32 bits are the IPv4 address. */
const NAT64_WELL_KNOWN = ipaddr.IPv6.parse("64:ff9b::");

const ipv4Of = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 255, low >> 8, low & 255]);

/**
 * The IPv4 address an IPv6 address carries, by ipaddr.js's ranges: IPv4-mapped ::ffff:0:0/96,
 * SIIT ::ffff:0:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16 and IPv4-compatible ::/96. Null:
 * one is carried where it cannot be checked (local-use NAT64 64:ff9b:1::/48, whose prefix
 * length is the network's choice; Teredo); undefined: none.
 */
function embeddedIpv4(address: ipaddr.IPv6): ipaddr.IPv4 | null | undefined {
  const parts = address.parts;
  const range = address.range();
  switch (range) {
    case "ipv4Mapped":
    case "rfc6145":
      return ipv4Of(parts[6]!, parts[7]!);
    case "rfc6052":
      return address.match(NAT64_WELL_KNOWN, 96) ? ipv4Of(parts[6]!, parts[7]!) : null;
    case "6to4":
      return ipv4Of(parts[1]!, parts[2]!);
    case "teredo":
      return null;
  }
  // IPv4-compatible (deprecated) ::a.b.c.d: ipaddr.js calls it unicast. "::" and "::1" are not.
  if (range === "unicast" && parts.slice(0, 6).every((part) => part === 0)) return ipv4Of(parts[6]!, parts[7]!);
  return undefined;
}

/**
 * The documentation ranges (RFC 5737 TEST-NET-1/2/3, RFC 3849): ipaddr.js files them under
 * "reserved", but nothing routes to them, so they lead into no network. They are let through
 * as written (not when carried inside another IPv6 form), so tests can name a public target
 * that no connection can ever reach.
 */
const DOCUMENTATION = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"].map((cidr) => ipaddr.parseCIDR(cidr));

const isDocumentation = (address: ipaddr.IPv4 | ipaddr.IPv6) => DOCUMENTATION.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));

/**
 * True for an address a production webhook must never reach; also for anything that is not an
 * IP address. Only what ipaddr.js calls global unicast (and the documentation ranges) is
 * allowed: loopback, private, CGNAT, link-local, unspecified, multicast, broadcast and reserved
 * ranges are not, nor any IPv6 address that carries one of them.
 */
export function isRefusedAddress(address: string): boolean {
  // net.isIP first: ipaddr.js also parses spellings such as "0x7f.1" that a URL never holds.
  if (isIP(address) === 0) return true;
  const parsed = ipaddr.parse(address);
  if (isDocumentation(parsed)) return false;
  if (parsed.kind() === "ipv4") return parsed.range() !== "unicast";
  const embedded = embeddedIpv4(parsed as ipaddr.IPv6);
  if (embedded === null) return true;
  if (embedded) return embedded.range() !== "unicast";
  return parsed.range() !== "unicast";
}

const invalid = (why: string) => new TokenError("INVALID_INPUT", `The webhook URL ${why}`);

/** Syntax only: an absolute http(s) URL without credentials. Throws INVALID_INPUT. */
export function parseWebhookUrl(input: unknown): URL {
  if (typeof input !== "string" || input.length === 0 || input.length > MAX_URL_LENGTH) throw invalid(`must be 1-${MAX_URL_LENGTH} characters.`);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw invalid("is not a valid URL.");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw invalid("must start with http:// or https://.");
  if (url.username || url.password) throw invalid("must not contain a user name or password.");
  if (!url.hostname) throw invalid("must name a host.");
  return url;
}

/** The URL's host as an address or name, IPv6 brackets removed. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

const systemLookupAll = (hostname: string): Promise<LookupAddress[]> =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });

/**
 * The whole check, at save and before each delivery: syntax, then (in production) the literal
 * address or every address the name resolves to. Throws INVALID_INPUT; returns the parsed URL.
 */
export async function checkWebhookUrl(input: unknown, policy: WebhookUrlPolicy): Promise<URL> {
  const url = parseWebhookUrl(input);
  if (policy.allowPrivateNetworks) return url;
  const host = hostOf(url);
  if (isIP(host)) {
    if (isRefusedAddress(host)) throw invalid("points to a private, loopback or link-local address.");
    return url;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await (policy.lookupAll ?? systemLookupAll)(host);
  } catch {
    throw invalid("names a host that does not resolve.");
  }
  if (addresses.length === 0) throw invalid("names a host that does not resolve.");
  if (addresses.some((a) => isRefusedAddress(a.address))) throw invalid("resolves to a private, loopback or link-local address.");
  return url;
}

/**
 * A `lookup` for http(s).request that refuses private addresses at connection time, so the
 * address connected to is the one checked (no window between a check and the connection).
 */
export function guardedLookup(policy: WebhookUrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    (policy.lookupAll ?? systemLookupAll)(hostname).then(
      (addresses) => {
        const bad = !policy.allowPrivateNetworks && (addresses.length === 0 || addresses.some((a) => isRefusedAddress(a.address)));
        if (bad) {
          callback(Object.assign(new Error("webhook address refused"), { code: "EADDRREFUSED" }), "", 4);
          return;
        }
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (options.all) callback(null, wanted);
        else if (wanted[0]) callback(null, wanted[0].address, wanted[0].family);
        else callback(Object.assign(new Error("webhook host has no address"), { code: "ENOTFOUND" }), "", 4);
      },
      (error: NodeJS.ErrnoException) => callback(error, "", 4),
    );
  };
}
