import { describe, expect, it } from "vitest";
import { answeredHeaders, forwardedHeaders, idempotencyKeyOf, proxyPath } from "./proxy-request";

const id = "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab";
const at = (rest: string) => `http://127.0.0.1:3000/api/v1/connections/${id}/proxy/${rest}`;

describe("the proxy's path", () => {
  it("keeps a path below the base as sent, percent-encoding and query included", () => {
    expect(proxyPath(at("Invoices"), id)).toBe("/Invoices");
    expect(proxyPath(at("companyinfo/123?minorversion=75"), id)).toBe("/companyinfo/123?minorversion=75");
    expect(proxyPath(at("query?query=select%20*%20from%20Invoice"), id)).toBe("/query?query=select%20*%20from%20Invoice");
    expect(proxyPath(at("Contacts/"), id)).toBe("/Contacts/");
  });

  it.each([
    ["an empty path", ""],
    ["an encoded slash", "a%2F..%2Fb"],
    ["an encoded slash (lower case)", "a%2fb"],
    ["an encoded backslash", "a%5cb"],
    ["a NUL", "a%00b"],
    ["an empty segment", "a//b"],
    ["an absolute URL", "https:/evil.example/x"],
    ["an encoded absolute URL", "https%3A//evil.example/x"],
    ["bad percent-encoding", "a%zz"],
  ])("refuses %s", (_label, rest) => {
    expect(() => proxyPath(at(rest), id)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
  });

  it("refuses dot segments that reach it (a URL parser removes most before)", () => {
    // new URL() resolves ".." itself: the path then no longer starts with the proxy's, which is refused too.
    expect(() => proxyPath(at("../../other"), id)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    expect(() => proxyPath(at("%2e%2e/x"), id)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
  });
});

describe("the proxy's headers", () => {
  it("never forwards the client's key, cookies, addresses or hop-by-hop headers", () => {
    const incoming = new Headers({
      authorization: "Bearer tvk_secret",
      cookie: "a=b",
      connection: "keep-alive, x-hop",
      "x-hop": "1",
      "keep-alive": "timeout=5",
      "transfer-encoding": "chunked",
      te: "trailers",
      upgrade: "websocket",
      "proxy-authorization": "Basic x",
      "x-forwarded-for": "198.51.100.1",
      "xero-tenant-id": "another-org",
      host: "127.0.0.1",
      accept: "application/json",
      "content-type": "application/json",
      "if-modified-since": "Sun, 06 Dec 2026 00:00:00 GMT",
    });
    expect([...forwardedHeaders(incoming).keys()].sort()).toEqual(["accept", "content-type", "if-modified-since"]);
  });

  it("answers the provider's headers less hop-by-hop ones, cookies and encodings, marked as the provider's", () => {
    const provider = new Headers({ "content-type": "application/json", "set-cookie": "s=1", connection: "close, x-hop", "x-hop": "1", "content-encoding": "gzip", "content-length": "10", "x-rate-limit-problem": "minute" });
    const answered = answeredHeaders(provider);
    expect([...answered.keys()].sort()).toEqual(["content-type", "tokenvault-source", "x-rate-limit-problem"]);
    expect(answered.get("tokenvault-source")).toBe("provider");
  });

  it("takes a printable Idempotency-Key of at most 200 characters", () => {
    expect(idempotencyKeyOf(new Headers({ "idempotency-key": "abc-123" }))).toBe("abc-123");
    expect(idempotencyKeyOf(new Headers())).toBeUndefined();
    expect(() => idempotencyKeyOf(new Headers({ "idempotency-key": "x".repeat(201) }))).toThrow();
  });
});
