import { describe, expect, it } from "vitest";
import { clientAddress } from "./trpc";

const headers = (entries: Record<string, string>) => new Headers(entries);

describe("client address for audit rows", () => {
  it("takes the address the nearest proxy saw: the last X-Forwarded-For entry", () => {
    expect(clientAddress(headers({ "x-forwarded-for": "198.51.100.7, 203.0.113.9" }))).toBe("203.0.113.9");
    expect(clientAddress(headers({ "x-forwarded-for": "2001:db8::1" }))).toBe("2001:db8::1");
    expect(clientAddress(headers({ "x-real-ip": "192.0.2.1" }))).toBe("192.0.2.1");
  });

  it("keeps nothing that is not an IP address, however long or formula-like", () => {
    expect(clientAddress(headers({ "x-forwarded-for": `=HYPERLINK("http://evil")${"A".repeat(5000)}` }))).toBeNull();
    expect(clientAddress(headers({ "x-forwarded-for": "10.0.0.1, not-an-ip", "x-real-ip": "also bad" }))).toBeNull();
    expect(clientAddress(headers({}))).toBeNull();
  });
});
