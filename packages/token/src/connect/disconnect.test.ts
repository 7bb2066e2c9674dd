import { describe, expect, it } from "vitest";
import { TokenError } from "@tokenvault/vault";
import { keepConnections } from "./disconnect";

/** Records the ids it is asked to disconnect; refuses `refuse` with NOT_FOUND, as disconnect does another company's id. */
function recorder(refuse?: string) {
  const asked: string[] = [];
  const disconnectOne = (id: string) => {
    asked.push(id);
    return id === refuse ? Promise.reject(new TokenError("NOT_FOUND", "Connection not found.")) : Promise.resolve();
  };
  return { asked, disconnectOne };
}

describe("keepConnections", () => {
  it("disconnects the offered ids not kept, in order, each once", async () => {
    const { asked, disconnectOne } = recorder();
    expect(await keepConnections({ companyId: "acme", offered: ["a", "b", "c", "b"], keep: ["c"] }, disconnectOne)).toEqual({ kept: ["c"], removed: ["a", "b"] });
    expect(asked).toEqual(["a", "b"]);
  });

  it("refuses a kept id that was not offered before disconnecting anything", async () => {
    const { asked, disconnectOne } = recorder();
    await expect(keepConnections({ companyId: "acme", offered: ["a", "b"], keep: ["z"] }, disconnectOne)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(asked).toEqual([]);
  });

  it("stops at the first refusal and throws it", async () => {
    const { asked, disconnectOne } = recorder("b");
    await expect(keepConnections({ companyId: "acme", offered: ["a", "b", "c"], keep: [] }, disconnectOne)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(asked).toEqual(["a", "b"]);
  });
});
