import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { InMemoryTokenStore } from "../src/backends/memory-store";
import { StoreMetrics, withStoreMetrics } from "../src/store-metrics";
import { testVault, tokenStoreConformance } from "./conformance";

// The wrapper changes nothing a store does: the whole conformance suite runs through it.
tokenStoreConformance("memory, through withStoreMetrics", ({ vault, clock, namespace }) => {
  const inner = new InMemoryTokenStore({ vault, clock, namespace, sweepIntervalMs: 0 });
  return Promise.resolve({ store: withStoreMetrics(inner, StoreMetrics.on(new Registry()), "memory"), lock: inner });
});

describe("withStoreMetrics", () => {
  it("counts each operation by backend and outcome, times it, and labels nothing with a key or token", async () => {
    const registry = new Registry();
    const store = withStoreMetrics(new InMemoryTokenStore({ vault: testVault(), sweepIntervalMs: 0 }), StoreMetrics.on(registry), "memory");
    const token = "tok-secret-canary-4f1c";
    await store.store(token, { id: "id-1", subject: "svc", expiresAt: new Date(Date.now() + 60_000) });
    await store.get(token);
    await store.get("unknown-token");
    await expect(store.store("", { id: "id-2", subject: "svc", expiresAt: new Date(Date.now() + 60_000) })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await store.close();

    const counts = Object.fromEntries(
      (await registry.getSingleMetric("tokenvault_store_operations_total")!.get()).values.map((v) => [`${v.labels.operation}:${v.labels.outcome}`, v.value]),
    );
    expect(counts).toEqual({ "store:ok": 1, "get:hit": 1, "get:miss": 1, "store:INVALID_INPUT": 1 });
    const durations = (await registry.getSingleMetric("tokenvault_store_operation_duration_seconds")!.get()).values.filter((v) => (v as { metricName?: string }).metricName?.endsWith("_count"));
    expect(durations.map((v) => [v.labels.operation, v.value]).sort()).toEqual([["get", 2], ["store", 2]]);
    const text = await registry.metrics();
    expect(text).toContain('backend="memory"');
    expect(text).not.toContain(token);
    expect(text).not.toContain("svc");
    // Registered once per registry: asking again returns the same metrics.
    expect(StoreMetrics.on(registry)).toBe(StoreMetrics.on(registry));
  });

  it("takes over the metrics another copy of the module registered on the same registry (Next.js bundles it more than once)", async () => {
    const registry = new Registry();
    const other = new Counter({ name: "tokenvault_store_operations_total", help: "registered by another copy", labelNames: ["backend", "operation", "outcome"], registers: [registry] });
    const store = withStoreMetrics(new InMemoryTokenStore({ vault: testVault(), sweepIntervalMs: 0 }), StoreMetrics.on(registry), "memory");
    await store.get("unknown-token");
    await store.close();
    expect((await other.get()).values.map((v) => [v.labels.operation, v.labels.outcome, v.value])).toEqual([["get", "miss", 1]]);
  });
});
