import type { TokenSecret } from "@tokenvault/db";
import { describe, expect, it } from "vitest";
import type { GrantWithSecrets } from "../connections/connection";
import { planReplacedGrant } from "./replaced-grant";

const endpoints = { authorization: "https://p/authorize", token: "https://p/token", revocation: "https://p/revoke", api: "https://p/api" };

function connection(tenants: string[] | null, refreshState: TokenSecret["state"] | null = "VALID"): GrantWithSecrets {
  const secrets = refreshState ? [{ kind: "REFRESH_TOKEN", state: refreshState } as TokenSecret] : [];
  return { id: "grant-1", secretExternalId: tenants?.[0] ?? "realm-1", metadata: tenants ? { tenants: tenants.map((id) => ({ id, name: id })) } : {}, secrets } as unknown as GrantWithSecrets;
}

const xero = { endpoints, disconnectTenants: () => Promise.resolve() };

describe("planReplacedGrant", () => {
  it("revokes the token of a provider without tenants (QuickBooks, generic OpenID Connect)", () => {
    expect(planReplacedGrant({ endpoints }, connection(null), [])).toEqual({ action: "revoke", tenantIds: null });
  });

  it("cannot revoke at a generic provider with no revocation endpoint, and says so", () => {
    expect(planReplacedGrant({ endpoints: { ...endpoints, revocation: null } }, connection(null), [])).toEqual({ action: "none", reason: "no_revocation_endpoint" });
  });

  it("has nothing to revoke when the provider already refused the old token", () => {
    expect(planReplacedGrant({ endpoints }, connection(null, "EXPIRED"), [])).toEqual({ action: "none", reason: "refresh_token_expired" });
    expect(planReplacedGrant({ endpoints }, connection(null, null), [])).toEqual({ action: "none", reason: "refresh_token_expired" });
  });

  it("Xero: disconnects only the old tenants the new grant does not serve", () => {
    const plan = planReplacedGrant(xero, connection(["t-a", "t-b", "t-c"]), [{ id: "t-b", name: "B" }, { id: "t-d", name: "D" }]);
    expect(plan).toEqual({ action: "revoke", tenantIds: ["t-a", "t-c"] });
  });

  it("Xero: disconnects no tenant the new grant still serves, and still revokes the old grant's token", () => {
    expect(planReplacedGrant(xero, connection(["t-a"]), [{ id: "t-a", name: "A" }, { id: "t-z", name: "Z" }])).toEqual({ action: "revoke", tenantIds: [] });
  });

  it("revokes nothing when the provider answered the refresh token already held (the same grant)", () => {
    expect(planReplacedGrant(xero, connection(["t-a"]), [{ id: "t-a", name: "A" }], { sameGrant: true })).toEqual({ action: "none", reason: "same_grant" });
    expect(planReplacedGrant({ endpoints }, connection(null), [], { sameGrant: true })).toEqual({ action: "none", reason: "same_grant" });
  });
});
