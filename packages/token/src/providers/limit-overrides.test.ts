import { describe, expect, it } from "vitest";
import { upkeepFactsOf } from "./definitions";
import { withLimitOverrides } from "./limit-overrides";
import { QUICKBOOKS_ENDPOINTS, quickbooksAdapter } from "./quickbooks";
import { ProviderRegistry } from "./registry";

const registry = () => new ProviderRegistry([quickbooksAdapter({ clientId: "id", clientSecret: "secret", environment: "sandbox", endpoints: QUICKBOOKS_ENDPOINTS.sandbox })]);

describe("withLimitOverrides (PROVIDER_LIMITS)", () => {
  it("lowers the named fields only, by id or alias, for the limiter and the worker alike", () => {
    const original = registry();
    const overridden = withLimitOverrides(original, { qbo: { requestsPerMinute: 100 }, quickbooks: { concurrency: 2 } });
    const adapter = overridden.get("quickbooks");
    expect(adapter.limits).toEqual({ ...original.get("quickbooks").limits, requestsPerMinute: 100, concurrency: 2 });
    expect(upkeepFactsOf(overridden.list()).providerConcurrency.quickbooks).toBe(2);
    // Everything else of the adapter is kept.
    expect({ ...adapter, limits: null }).toEqual({ ...original.get("quickbooks"), limits: null });
  });

  it("refuses a provider that is not configured, naming the variable", () => {
    expect(() => withLimitOverrides(registry(), { xero: { requestsPerMinute: 10 } })).toThrow('PROVIDER_LIMITS names provider "xero", which is not configured here.');
  });

  it("leaves the registry as it is without overrides", () => {
    const original = registry();
    expect(withLimitOverrides(original, {})).toBe(original);
  });
});
