import { describe, expect, it } from "vitest";
import { parseTrustedProxies } from "~/settings";
import { clientAddress } from "./client-address";

const forwardedFor = (value: string | null) => new Headers(value === null ? {} : { "x-forwarded-for": value });
const NONE = parseTrustedProxies(undefined);
const ONE_HOP = parseTrustedProxies("1");

describe("client address for audit rows", () => {
  it("with no trusted proxy (the default) believes no header: the address is unknown", () => {
    // Next 16 gives a route handler no socket address; its X-Forwarded-For is the client's own
    // words whenever the client sends one, so nothing is recorded rather than a claim.
    for (const value of ["6.6.6.6", "198.51.100.7, 203.0.113.9", null]) expect(clientAddress(forwardedFor(value), NONE)).toBeNull();
    expect(clientAddress(new Headers({ "x-real-ip": "192.0.2.1" }), NONE)).toBeNull();
    for (const unset of ["", " ", "0", "none"]) expect(parseTrustedProxies(unset)).toEqual(NONE);
  });

  it("with a count of trusted hops takes the entry that many from the right", () => {
    expect(clientAddress(forwardedFor("198.51.100.7, 203.0.113.9"), ONE_HOP)).toBe("203.0.113.9");
    expect(clientAddress(forwardedFor("2001:db8::1"), ONE_HOP)).toBe("2001:db8::1");
    expect(clientAddress(forwardedFor("6.6.6.6, 198.51.100.7, 10.0.0.2"), parseTrustedProxies("2"))).toBe("198.51.100.7");
    // Fewer entries than proxies: the request did not come through them all.
    expect(clientAddress(forwardedFor("198.51.100.7"), parseTrustedProxies("2"))).toBeNull();
    // X-Real-IP is not read: one header to reason about.
    expect(clientAddress(new Headers({ "x-real-ip": "192.0.2.1" }), ONE_HOP)).toBeNull();
  });

  it("with trusted proxy addresses skips them from the right and takes the first other address", () => {
    const ranges = parseTrustedProxies("10.0.0.0/8, 192.168.1.10, fd00::/8");
    expect(clientAddress(forwardedFor("6.6.6.6, 198.51.100.7, 10.1.2.3, 192.168.1.10"), ranges)).toBe("198.51.100.7");
    expect(clientAddress(forwardedFor("198.51.100.7, fd00::5"), ranges)).toBe("198.51.100.7");
    expect(clientAddress(forwardedFor("::ffff:10.0.0.9, 203.0.113.4"), ranges)).toBe("203.0.113.4");
    expect(clientAddress(forwardedFor("203.0.113.4, ::ffff:10.0.0.9"), ranges)).toBe("203.0.113.4");
    // Only trusted proxies in the chain: the leftmost is where the request came from.
    expect(clientAddress(forwardedFor("10.0.0.7, 10.0.0.8"), ranges)).toBe("10.0.0.7");
    // An entry that is not an address ends the walk: nothing left of it can be believed.
    expect(clientAddress(forwardedFor("6.6.6.6, garbage, 10.0.0.1"), ranges)).toBeNull();
  });

  it("keeps nothing that is not a plain IP address: no zone id, no free text, however long", () => {
    expect(clientAddress(forwardedFor("fe80::1%I-was-never-here.example"), ONE_HOP)).toBeNull();
    expect(clientAddress(forwardedFor("fe80::1%eth0"), ONE_HOP)).toBeNull();
    expect(clientAddress(forwardedFor(`=HYPERLINK("http://evil")${"A".repeat(5000)}`), ONE_HOP)).toBeNull();
    expect(clientAddress(forwardedFor("10.0.0.1, not-an-ip"), ONE_HOP)).toBeNull();
    expect(clientAddress(forwardedFor("203.0.113.9:4711"), ONE_HOP)).toBeNull();
    expect(clientAddress(forwardedFor(""), ONE_HOP)).toBeNull();
  });

  it("refuses a setting that is neither a count nor addresses, naming the variable and the entry's place", () => {
    expect(() => parseTrustedProxies("loopback")).toThrow("TRUSTED_PROXIES: entry 1 is not a hop count (1-10), an IP address or a CIDR range.");
    expect(() => parseTrustedProxies("10.0.0.1, 10.0.0.0/33")).toThrow(/entry 2 /);
    expect(() => parseTrustedProxies("fe80::1%eth0")).toThrow(/TRUSTED_PROXIES/);
    expect(() => parseTrustedProxies("-1")).toThrow(/TRUSTED_PROXIES/);
    expect(() => parseTrustedProxies("100")).toThrow(/TRUSTED_PROXIES/);
  });
});
