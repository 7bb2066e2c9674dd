// An operator's lower limits for a provider (PROVIDER_LIMITS): applied to the adapter itself, so
// tokenService.fetch's limiter (limitSettingsOf of adapter.limits) and the worker's upkeep facts
// (concurrency, tenantConcurrency) both see them.
import { KeyConfigError } from "@tokenvault/vault";
import { GENERIC_PROVIDER_DEFAULTS } from "./definitions";
import { ProviderRegistry } from "./registry";
import type { ProviderLimits } from "./types";

/** The registry with each named provider's limits overridden; an id no configured provider has is a start-up error. */
export function withLimitOverrides(registry: ProviderRegistry, overrides: Record<string, Partial<ProviderLimits>>): ProviderRegistry {
  const byId = new Map<string, Partial<ProviderLimits>>();
  for (const [id, override] of Object.entries(overrides)) {
    let adapterId: string;
    try {
      adapterId = registry.get(id).id; // resolves aliases (qbo → quickbooks)
    } catch {
      throw new KeyConfigError("PROVIDER_LIMITS", `names provider "${id}", which is not configured here.`);
    }
    byId.set(adapterId, { ...byId.get(adapterId), ...override });
  }
  if (byId.size === 0) return registry;
  return new ProviderRegistry(
    registry.list().map((adapter) => {
      const override = byId.get(adapter.id);
      return override ? { ...adapter, limits: { ...(adapter.limits ?? GENERIC_PROVIDER_DEFAULTS.limits), ...override } } : adapter;
    }),
  );
}
