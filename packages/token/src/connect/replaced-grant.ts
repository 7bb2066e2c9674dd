import { metadataOf, secretOf, type GrantWithSecrets } from "../connections/connection";
import type { ProviderAdapter } from "../providers/types";
import type { ProviderTenant } from "../types";

/** What a reconnect does with the grant it replaced. */
export type ReplacedGrantPlan =
  | { action: "revoke"; tenantIds: string[] | null }
  /** Nothing to call the provider for; the reason goes into the REVOKE audit row. */
  | { action: "none"; reason: "refresh_token_expired" | "no_revocation_endpoint" | "same_grant" };

/**
 * QuickBooks and generic providers: revoke the old refresh token. Xero: first disconnect the old
 * tenants the new grant does not list (the tenants it still serves are left alone), then revoke
 * the old refresh token too: that ends only the old grant (Xero's revocation endpoint revokes
 * the grant the token belongs to), which serves nothing the new one needs, and left alive it
 * would keep refreshing. `sameGrant`: the provider answered the very refresh token already held
 * (the same grant continues), so revoking it would end the new connection. A token the provider
 * already refused (EXPIRED) has nothing left to revoke.
 */
export function planReplacedGrant(
  adapter: Pick<ProviderAdapter, "endpoints" | "disconnectTenants">,
  replaced: GrantWithSecrets,
  newTenants: readonly ProviderTenant[],
  { sameGrant }: { sameGrant: boolean } = { sameGrant: false },
): ReplacedGrantPlan {
  const refresh = secretOf(replaced, "REFRESH_TOKEN");
  if (!refresh || refresh.state === "EXPIRED") return { action: "none", reason: "refresh_token_expired" };
  if (sameGrant) return { action: "none", reason: "same_grant" };
  if (adapter.disconnectTenants) {
    const served = new Set(newTenants.map((t) => t.id));
    // A grant from before connections v2 is sealed under the tenant it used; a newer one under its own id, which is no tenant.
    const legacyTenant = replaced.secretExternalId !== replaced.id ? replaced.secretExternalId : "";
    const old = metadataOf(replaced).tenants?.map((t) => t.id) ?? (legacyTenant ? [legacyTenant] : []);
    return { action: "revoke", tenantIds: [...new Set(old)].filter((id) => !served.has(id)) };
  }
  if (!adapter.endpoints.revocation) return { action: "none", reason: "no_revocation_endpoint" };
  return { action: "revoke", tenantIds: null };
}
