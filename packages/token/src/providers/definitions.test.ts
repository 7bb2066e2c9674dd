import { describe, expect, it } from "vitest";
import { BUILT_IN_PROVIDERS, PROVIDER_ID_PATTERN, QUICKBOOKS, XERO } from "./definitions";
import { simulatedAdapters } from "./simulated";
import { SCOPE_TOKEN_PATTERN } from "../validation";

describe("provider definitions", () => {
  it("the adapters, simulated ones included, carry their definition's facts", () => {
    const adapters = simulatedAdapters("http://127.0.0.1:4010");
    for (const definition of [QUICKBOOKS, XERO]) {
      const adapter = adapters.find((a) => a.id === definition.id)!;
      expect(adapter).toMatchObject({
        displayName: definition.displayName,
        scopes: definition.scopes,
        optionalScopes: definition.optionalScopes,
        pkce: definition.pkce,
        revocationStyle: definition.revocationStyle,
        defaultAccessTokenTtlSec: definition.lifetimes.accessTtlSec,
        refreshToken: { idleTtlSec: definition.lifetimes.refreshIdleTtlSec, graceSec: definition.lifetimes.refreshGraceSec },
        limits: definition.limits,
      });
    }
  });

  it("optional scopes are RFC 6749 scope tokens, none of them already configured", () => {
    for (const definition of BUILT_IN_PROVIDERS) {
      for (const scope of definition.optionalScopes ?? []) {
        expect(scope).toMatch(SCOPE_TOKEN_PATTERN);
        expect(definition.scopes).not.toContain(scope);
      }
    }
  });

  it("every built-in id matches the provider-id pattern, which refuses what is not a short slug", () => {
    for (const { id } of BUILT_IN_PROVIDERS) expect(id).toMatch(PROVIDER_ID_PATTERN);
    for (const bad of ["X", "a", "xero!", "-xero", "a".repeat(33), "xero\n"]) expect(bad).not.toMatch(PROVIDER_ID_PATTERN);
  });
});
