import { describe, expect, it } from "vitest";
import { parseReturnPath, refreshPath, safeReturnPath } from "./return-path";

describe("return paths", () => {
  it("refuses anything a browser would read as another origin, and every control character or backslash", () => {
    for (const input of ["//evil.example", "/\\evil.example", "/\t/evil.example", "/\t\\evil", "/\n/evil", "\\/evil", "https://evil.example", "evil", "", "/\u0000x", "/\u000b", "/\u007f", "/\u0085", "/\u2028", "/a\\b"]) {
      expect([JSON.stringify(input), parseReturnPath(input)]).toEqual([JSON.stringify(input), null]);
    }
  });

  it("answers a same-origin path as the parsed URL serialises it", () => {
    expect(parseReturnPath("/audit?action=REVOKE#top")).toBe("/audit?action=REVOKE#top");
    expect(parseReturnPath("/connections?q=é")).toBe("/connections?q=%C3%A9");
    expect(parseReturnPath("/a/../b")).toBe("/b");
    expect(parseReturnPath("/%2F/evil")).toBe("/%2F/evil");
  });

  it("falls back to the dashboard for a page path it cannot use", () => {
    expect(safeReturnPath(null)).toBe("/connections");
    expect(safeReturnPath("/\t/evil")).toBe("/connections");
    expect(refreshPath("/audit")).toBe("/api/auth/refresh?next=%2Faudit");
  });
});
