import { describe, expect, it } from "vitest";
import { connectionFilterOf } from "./schemas";

describe("GET /api/v1/connections' filter from the query string", () => {
  it("reads repeated tags and metadata[key]=value; no filter without them", () => {
    expect(connectionFilterOf(new URL("http://x/api/v1/connections"))).toBeUndefined();
    expect(connectionFilterOf(new URL("http://x/api/v1/connections?other=1"))).toBeUndefined();
    expect(connectionFilterOf(new URL("http://x/api/v1/connections?tag=prod&tag=eu&metadata%5Bregion%5D=eu&metadata[tier]=1"))).toEqual({
      tags: ["prod", "eu"],
      metadata: { region: "eu", tier: "1" },
    });
    expect(connectionFilterOf(new URL("http://x/api/v1/connections?metadata[a[b]]=c"))).toEqual({ metadata: { "a[b]": "c" } });
  });
});
