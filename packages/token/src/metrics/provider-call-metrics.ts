import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** How a provider call ended, as a metric label (fixed words; never a tenant, URL or token). */
export type CallOutcome = "success" | "provider_error" | "rate_limited" | "limited_here" | "unavailable" | "reauth_required" | "invalid";

/** 2xx, 4xx, 5xx, or "none" when no answer came (network failure, timeout, refused before sending). */
export const statusClass = (status: number | null) => (status === null ? "none" : `${Math.floor(status / 100)}xx`);

/**
 * tokenService.fetch's metrics: calls by provider, outcome and status class; their duration;
 * the time spent waiting for a turn under the limits; and, per provider, the smallest fraction
 * of a tenant's daily budget left among the tenants called lately (near 0: a tenant is about to
 * be refused for the rest of its day).
 */
export class ProviderCallMetrics {
  readonly calls: Counter<"provider" | "outcome" | "status_class">;
  readonly callSeconds: Histogram<"provider" | "outcome">;
  readonly limitWaitSeconds: Histogram<"provider">;
  readonly attempts: Counter<"provider" | "reason">;
  private readonly budgets = new Map<string, Map<string, number>>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.calls = new Counter({ name: "tokenvault_provider_calls_total", help: "tokenService.fetch calls, by provider, outcome and the status class of the last answer.", labelNames: ["provider", "outcome", "status_class"], registers });
    this.callSeconds = new Histogram({
      name: "tokenvault_provider_call_duration_seconds",
      help: "tokenService.fetch from the call to its answer, waits and retries included.",
      labelNames: ["provider", "outcome"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.limitWaitSeconds = new Histogram({
      name: "tokenvault_provider_call_limit_wait_seconds",
      help: "How long a provider call waited for its turn under the shared limits.",
      labelNames: ["provider"],
      buckets: [0, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.attempts = new Counter({ name: "tokenvault_provider_call_retries_total", help: "Extra attempts of provider calls, by why (unauthorized, rate_limited, server_error, network).", labelNames: ["provider", "reason"], registers });
    const budgets = this.budgets;
    new Gauge({
      name: "tokenvault_provider_daily_budget_remaining_ratio",
      help: "Per provider, the smallest fraction of a tenant's daily call budget left among the tenants this process called (1: untouched, 0: spent).",
      labelNames: ["provider"],
      registers,
      collect() {
        this.reset();
        for (const [provider, tenants] of budgets) this.set({ provider }, Math.min(...tenants.values()));
      },
    });
  }

  /** Records what a tenant has left of its daily budget after a call. */
  budgetLeft(provider: string, tenant: string, fraction: number): void {
    let tenants = this.budgets.get(provider);
    if (!tenants) this.budgets.set(provider, (tenants = new Map<string, number>()));
    tenants.delete(tenant); // re-inserted last: the oldest entries go first when bounded
    tenants.set(tenant, fraction);
    if (tenants.size > 1_000) tenants.delete(tenants.keys().next().value!);
  }
}
