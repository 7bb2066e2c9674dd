import { metadataOf, secretOf, type ConnectionWithSecrets } from "../connections/connection";
import type { ProviderAdapter } from "../providers/types";
import type { ProviderTenant } from "../types";

/** What a reconnect does with the grant it replaced. */
export type ReplacedGrantPlan =
  | { action: "revoke"; tenantIds: string[] | null }
  /** Nothing to call the provider for; the reason goes into the REVOKE audit row. */
  | { action: "none"; reason: "refresh_token_expired" | "no_revocation_endpoint" | "tenants_still_served" };

/**
 * QuickBooks and generic providers: revoke the old refresh token. Xero: revoking the old token
 * would drop every tenant of that authorization, including ones the new grant still serves, so
 * only the old tenants the new grant does not list are disconnected. A token the provider
 * already refused (EXPIRED) has nothing left to revoke.
 */
export function planReplacedGrant(adapter: Pick<ProviderAdapter, "endpoints" | "disconnectTenants">, replaced: ConnectionWithSecrets, newTenants: readonly ProviderTenant[]): ReplacedGrantPlan {
  const refresh = secretOf(replaced, "REFRESH_TOKEN");
  if (!refresh || refresh.state === "EXPIRED") return { action: "none", reason: "refresh_token_expired" };
  if (adapter.disconnectTenants) {
    const served = new Set(newTenants.map((t) => t.id));
    const old = metadataOf(replaced).tenants?.map((t) => t.id) ?? (replaced.externalId ? [replaced.externalId] : []);
    const stale = [...new Set(old)].filter((id) => !served.has(id));
    return stale.length > 0 ? { action: "revoke", tenantIds: stale } : { action: "none", reason: "tenants_still_served" };
  }
  if (!adapter.endpoints.revocation) return { action: "none", reason: "no_revocation_endpoint" };
  return { action: "revoke", tenantIds: null };
}
