import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { ProviderCallMetrics } from "./provider-call-metrics";

/**
 * Why a getValidToken call did not come from the token cache: no entry, an entry inside the
 * refresh margin, the listener down (the cache bypassed), or the event loop held up (see IoWatermark).
 */
export type CacheMissReason = "absent" | "refresh_due" | "listener_down" | "stalled";

/**
 * Why the LISTEN connection was given up: no heartbeat echo within the bound (a path that died
 * silently), the connection reported lost (error or end), or a connect attempt failed.
 */
export type ListenerFailureReason = "heartbeat_timeout" | "connection_lost" | "connect_failed";

/** Outcome label of one refresh attempt under the lease. */
export type RefreshOutcome = "success" | "failure" | "fenced";

/**
 * The token service's Prometheus metrics, registered on the registry it is given (tests pass
 * their own; the process's default service uses `defaultMetricsRegistry`). Labels are provider
 * ids and fixed outcome/kind words only: never a company, user or token.
 */
export class TokenMetrics {
  readonly refreshes: Counter<"provider" | "outcome">;
  readonly refreshSeconds: Histogram<"provider" | "outcome">;
  readonly waiters: Gauge<"provider">;
  readonly waitSeconds: Histogram<"provider">;
  readonly leaseContention: Counter<"provider">;
  readonly providerErrors: Counter<"provider" | "kind">;
  readonly vaultOperations: Counter<"operation">;
  readonly tokenCacheHits: Counter<"provider">;
  readonly tokenCacheMisses: Counter<"provider" | "reason">;
  readonly tokenCacheInvalidations: Counter<"cause">;
  readonly tokenCachePollWaits: Counter;
  readonly listenerFailures: Counter<"reason">;
  /** tokenService.fetch's calls to provider APIs. */
  readonly providerCalls: ProviderCallMetrics;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.providerCalls = new ProviderCallMetrics(registry);
    this.refreshes = new Counter({ name: "tokenvault_refreshes_total", help: "Refreshes that called the provider, by provider and outcome.", labelNames: ["provider", "outcome"], registers });
    this.refreshSeconds = new Histogram({
      name: "tokenvault_refresh_duration_seconds",
      help: "Provider refresh call (with retries) until the result was stored or refused.",
      labelNames: ["provider", "outcome"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers,
    });
    this.waiters = new Gauge({ name: "tokenvault_refresh_waiters", help: "Callers in this process waiting for another process's refresh.", labelNames: ["provider"], registers });
    this.waitSeconds = new Histogram({
      name: "tokenvault_refresh_wait_seconds",
      help: "How long a caller waited for another process's refresh.",
      labelNames: ["provider"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25],
      registers,
    });
    this.leaseContention = new Counter({ name: "tokenvault_lease_contention_total", help: "Refreshes that found the connection's lease held by another caller.", labelNames: ["provider"], registers });
    this.providerErrors = new Counter({ name: "tokenvault_provider_errors_total", help: "Failed provider refresh calls (after retries), by error kind.", labelNames: ["provider", "kind"], registers });
    this.vaultOperations = new Counter({ name: "tokenvault_vault_operations_total", help: "Vault secrets sealed (encrypted) and opened (decrypted).", labelNames: ["operation"], registers });
    this.tokenCacheHits = new Counter({ name: "tokenvault_token_cache_hits_total", help: "getValidToken calls served from the process's token cache (no database query).", labelNames: ["provider"], registers });
    this.tokenCacheMisses = new Counter({
      name: "tokenvault_token_cache_misses_total",
      help: "getValidToken calls that read the database while the token cache is configured, by reason: absent, refresh_due, listener_down, stalled.",
      labelNames: ["provider", "reason"],
      registers,
    });
    this.tokenCachePollWaits = new Counter({
      name: "tokenvault_token_cache_poll_waits_total",
      help: "getValidToken calls that found the event loop behind (no socket read for tokenCacheStallMs) and waited for its next poll before asking the token cache (each then counted as a hit or a miss).",
      registers,
    });
    this.tokenCacheInvalidations = new Counter({
      name: "tokenvault_token_cache_invalidations_total",
      help: "Token cache entries dropped: by a connection's notification (notify), by a write of this process (local), or because the listener went down or came back (listener).",
      labelNames: ["cause"],
      registers,
    });
    this.listenerFailures = new Counter({
      name: "tokenvault_listener_failures_total",
      help: "The LISTEN connection given up (the token cache cleared and bypassed until it is back), by reason: heartbeat_timeout, connection_lost, connect_failed.",
      labelNames: ["reason"],
      registers,
    });
  }
}

/**
 * The process's metrics for the default service (served by the web app at /api/metrics and by
 * the worker), with Node's process metrics (CPU, memory, event loop lag). Kept on globalThis, as
 * the default service is, so Next.js module reloads do not register the same names twice (it throws).
 */
const globalForMetrics = globalThis as unknown as { tokenvaultMetrics?: TokenMetrics };

export function defaultTokenMetrics(): TokenMetrics {
  if (!globalForMetrics.tokenvaultMetrics) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    globalForMetrics.tokenvaultMetrics = new TokenMetrics(registry);
  }
  return globalForMetrics.tokenvaultMetrics;
}

/** The default metrics in Prometheus's text format, with the content type to send them with. */
export async function defaultMetricsText(): Promise<{ body: string; contentType: string }> {
  const { registry } = defaultTokenMetrics();
  return { body: await registry.metrics(), contentType: registry.contentType };
}
