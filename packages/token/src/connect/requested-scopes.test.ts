import { TokenError } from "@tokenvault/vault";
import { describe, expect, it } from "vitest";
import { MAX_EXTRA_SCOPES } from "../validation";
import { requestedScopesFor } from "./requested-scopes";

const xero = { displayName: "Xero", scopes: ["offline_access", "accounting.settings.read"], optionalScopes: ["accounting.contacts", "files", "payroll.payruns"] };
const bare = { displayName: "Acme", scopes: ["openid", "offline_access"], optionalScopes: [] };

function refusal(run: () => unknown): TokenError {
  try {
    run();
  } catch (error) {
    if (error instanceof TokenError) return error;
    throw error;
  }
  throw new Error("expected a TokenError");
}

describe("requestedScopesFor", () => {
  it("is the configured scopes without extras, and they come first with them (duplicates dropped)", () => {
    expect(requestedScopesFor(xero, undefined)).toEqual(xero.scopes);
    expect(requestedScopesFor(xero, [])).toEqual(xero.scopes);
    expect(requestedScopesFor(xero, ["files", "accounting.contacts", "files", "offline_access"])).toEqual([...xero.scopes, "files", "accounting.contacts"]);
  });

  it("refuses a scope the provider does not declare, naming it", () => {
    const error = refusal(() => requestedScopesFor(xero, ["files", "accounting.journals.read"]));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toContain('"accounting.journals.read"');
  });

  it("refuses every extra for a provider declaring none, and says so; its configured scopes are still fine", () => {
    const error = refusal(() => requestedScopesFor(bare, ["email"]));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toContain("declares no optional scopes");
    expect(requestedScopesFor(bare, ["openid"])).toEqual(bare.scopes);
    expect(requestedScopesFor({ displayName: "Old", scopes: ["a"] }, [])).toEqual(["a"]);
  });

  it("refuses malformed input without echoing it", () => {
    for (const bad of [["two words"], ['quo"te'], ["back\\slash"], [""], ["x".repeat(129)], ["new\nline"], [42], "files"]) {
      const error = refusal(() => requestedScopesFor(xero, bad));
      expect(error.code).toBe("INVALID_INPUT");
      if (Array.isArray(bad) && typeof bad[0] === "string" && bad[0].length > 0) expect(error.message).not.toContain(bad[0]);
    }
    expect(refusal(() => requestedScopesFor(xero, Array.from({ length: MAX_EXTRA_SCOPES + 1 }, () => "files"))).code).toBe("INVALID_INPUT");
  });
});
