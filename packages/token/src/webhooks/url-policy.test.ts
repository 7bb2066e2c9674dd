import { describe, expect, it } from "vitest";
import { TokenError } from "@tokenvault/vault";
import { checkWebhookUrl, isRefusedAddress, parseWebhookUrl } from "./url-policy";

const production = (addresses: string[] = ["203.0.113.10"]) => ({
  allowPrivateNetworks: false,
  lookupAll: () => Promise.resolve(addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))),
});

async function refusedWith(input: string, policy = production()): Promise<string> {
  try {
    await checkWebhookUrl(input, policy);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenError);
    expect((error as TokenError).code).toBe("INVALID_INPUT");
    return (error as TokenError).message;
  }
  throw new Error(`${input} was accepted`);
}

describe("webhook URL policy", () => {
  it.each([
    "0.0.0.0", "10.1.2.3", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.255.0.9", "169.254.169.254",
    "172.16.0.1", "172.31.255.255", "192.168.1.1", "224.0.0.1", "255.255.255.255",
    "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:7f00:1", "::ffff:a9fe:a9fe", "64:ff9b::10.0.0.1",
  ])("refuses %s", (address) => {
    expect(isRefusedAddress(address)).toBe(true);
  });

  it.each([
    // IPv4-compatible, SIIT, local-use NAT64 and 6to4 spellings of loopback and private addresses.
    "::127.0.0.1", "::7f00:1", "::ffff:0:127.0.0.1", "::ffff:0:a00:1", "64:ff9b:1::7f00:1", "64:ff9b:1::8.8.8.8", "2002:7f00:1::", "2002:a00:1::1", "2002:c0a8:101::",
    "64:ff9b::7f00:1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "::a9fe:a9fe",
    // Reserved ranges, no webhook's home.
    "198.18.0.1", "240.0.0.1",
  ])("refuses %s, which carries or is a refused address", (address) => {
    expect(isRefusedAddress(address)).toBe(true);
  });

  it.each(["64:ff9b::8.8.8.8", "2002:808:808::1", "::ffff:0:8.8.8.8"])("allows %s, which carries a public IPv4 address", (address) => {
    expect(isRefusedAddress(address)).toBe(false);
  });

  it("refuses the IPv6 loopback spellings in a URL, as the URL parser normalises them", async () => {
    for (const url of ["http://[::127.0.0.1]/", "http://[::ffff:0:127.0.0.1]/", "http://[64:ff9b:1::7f00:1]/", "http://[2002:7f00:1::]/"]) {
      expect(await refusedWith(url)).toMatch(/private, loopback or link-local/);
    }
  });

  it.each(["192.0.2.10", "198.51.100.7", "203.0.113.9", "2001:db8::1"])("allows the documentation address %s, which routes nowhere (the tests' public target)", (address) => {
    expect(isRefusedAddress(address)).toBe(false);
  });

  it.each(["8.8.8.8", "100.63.255.255", "100.128.0.1", "172.15.255.255", "172.32.0.1", "2606:2800:220:1::1", "::ffff:8.8.8.8"])("allows public %s", (address) => {
    expect(isRefusedAddress(address)).toBe(false);
  });

  it("treats anything that is not an IP address as refused", () => {
    expect(isRefusedAddress("localhost")).toBe(true);
    expect(isRefusedAddress("")).toBe(true);
  });

  it("accepts http(s) only, without credentials", () => {
    expect(parseWebhookUrl("https://hooks.example.com/x").hostname).toBe("hooks.example.com");
    for (const bad of ["ftp://example.com/", "javascript:alert(1)", "file:///etc/passwd", "example.com/x", "https://user:pw@example.com/", "", "x".repeat(3000)]) {
      expect(() => parseWebhookUrl(bad)).toThrow(TokenError);
    }
  });

  it("refuses literal private addresses in production, in every spelling the URL parser normalizes", async () => {
    for (const url of ["http://127.0.0.1:3000/", "http://[::1]/", "http://0x7f.1/", "http://2130706433/", "http://[::ffff:169.254.169.254]/", "http://10.0.0.8/hook", "http://0.0.0.0/"]) {
      expect(await refusedWith(url)).toMatch(/private, loopback or link-local/);
    }
  });

  it("refuses a host name when any of its addresses is private, and one that does not resolve", async () => {
    expect(await refusedWith("https://hooks.example.com/", production(["203.0.113.10", "10.0.0.5"]))).toMatch(/resolves to a private/);
    expect(await refusedWith("https://localhost/", production(["127.0.0.1", "::1"]))).toMatch(/resolves to a private/);
    expect(await refusedWith("https://nowhere.invalid/", production([]))).toMatch(/does not resolve/);
    const failing = { allowPrivateNetworks: false, lookupAll: () => Promise.reject(new Error("ENOTFOUND")) };
    expect(await refusedWith("https://nowhere.invalid/", failing)).toMatch(/does not resolve/);
  });

  it("accepts public hosts in production, and loopback in development", async () => {
    await expect(checkWebhookUrl("https://hooks.example.com/x", production())).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl("http://127.0.0.1:4000/hook", { allowPrivateNetworks: true })).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl("ftp://127.0.0.1/", { allowPrivateNetworks: true })).rejects.toThrow(TokenError);
  });
});
