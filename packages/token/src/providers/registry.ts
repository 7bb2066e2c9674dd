import { TokenError } from "@tokenvault/vault";
import type { ProviderAdapter } from "./types";

/**
 * Other names callers use for a provider: the design documents and their seed data say "qbo".
 * An alias resolves to the adapter, whose id is what is stored, audited and returned.
 */
export const PROVIDER_ALIASES: ReadonlyMap<string, string> = new Map([["qbo", "quickbooks"]]);

/** The providers this deployment can connect, by id (or an alias of one). */
export class ProviderRegistry {
  private readonly byId: Map<string, ProviderAdapter>;

  constructor(adapters: readonly ProviderAdapter[]) {
    this.byId = new Map(adapters.map((a) => [a.id, a]));
  }

  get(id: string): ProviderAdapter {
    const adapter = typeof id === "string" ? this.byId.get(PROVIDER_ALIASES.get(id) ?? id) : undefined;
    if (!adapter) throw new TokenError("UNKNOWN_PROVIDER", "This provider is not available.");
    return adapter;
  }

  list(): ProviderAdapter[] {
    return [...this.byId.values()];
  }
}
