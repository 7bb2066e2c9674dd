import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
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

const refused = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", 0.0.0.0 included
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // shared address space (CGNAT)
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata services
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  refused.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
] as const) {
  refused.addSubnet(network, prefix, "ipv6");
}

/** The IPv4 address an IPv6 address carries (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96), or null. */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted?.[1]) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex?.[1] || !hex[2]) return null;
  const high = parseInt(hex[1], 16);
  const low = parseInt(hex[2], 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** True for an address a production webhook must never reach; also for anything that is not an IP address. */
export function isRefusedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return refused.check(address, "ipv4");
  if (family !== 6) return true;
  const v4 = embeddedIpv4(address);
  if (v4) return refused.check(v4, "ipv4");
  return refused.check(address, "ipv6");
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
