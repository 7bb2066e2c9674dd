import { TokenError } from "@tokenvault/vault";
import type { ProviderAdapter } from "./types";

/** The providers this deployment can connect, by id. */
export class ProviderRegistry {
  private readonly byId: Map<string, ProviderAdapter>;

  constructor(adapters: readonly ProviderAdapter[]) {
    this.byId = new Map(adapters.map((a) => [a.id, a]));
  }

  get(id: string): ProviderAdapter {
    const adapter = typeof id === "string" ? this.byId.get(id) : undefined;
    if (!adapter) throw new TokenError("UNKNOWN_PROVIDER", "This provider is not available.");
    return adapter;
  }

  list(): ProviderAdapter[] {
    return [...this.byId.values()];
  }
}
