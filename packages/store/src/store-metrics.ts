import { Counter, Histogram, type Registry } from "prom-client";
import { StorageError } from "./errors";
import type { TokenStore } from "./types";

/** The operations a store answers (close is not one). */
const OPERATIONS = ["store", "get", "getById", "delete", "list", "revoke", "isRevoked", "cleanup"] as const;
type Operation = (typeof OPERATIONS)[number];

const byRegistry = new WeakMap<Registry, StoreMetrics>();
const OPERATIONS_TOTAL = "tokenvault_store_operations_total";
const DURATION_SECONDS = "tokenvault_store_operation_duration_seconds";

/**
 * Token store operations in Prometheus metrics: how many by backend, operation and outcome
 * (`ok`, `hit`/`miss` for reads, or the StorageError code), and how long they took. Labels are
 * fixed words only: never a key, subject or token.
 */
export class StoreMetrics {
  readonly operations: Counter<"backend" | "operation" | "outcome">;
  readonly seconds: Histogram<"backend" | "operation">;

  private constructor(registry: Registry) {
    const registers = [registry];
    // A bundler may load this module more than once (Next.js: pages and route handlers) while the
    // registry is the process's one: take metrics another copy already registered.
    const registered = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
    this.operations = registered<Counter<"backend" | "operation" | "outcome">>(OPERATIONS_TOTAL) ?? new Counter({
      name: OPERATIONS_TOTAL,
      help: "Token store operations, by backend, operation and outcome (ok, hit, miss, or the StorageError code).",
      labelNames: ["backend", "operation", "outcome"],
      registers,
    });
    this.seconds = registered<Histogram<"backend" | "operation">>(DURATION_SECONDS) ?? new Histogram({
      name: DURATION_SECONDS,
      help: "How long token store operations took, failures included.",
      labelNames: ["backend", "operation"],
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    });
  }

  /** The metrics on `registry`, registered once (prom-client refuses a name twice, even from another copy of this module). */
  static on(registry: Registry): StoreMetrics {
    let metrics = byRegistry.get(registry);
    if (!metrics) byRegistry.set(registry, (metrics = new StoreMetrics(registry)));
    return metrics;
  }
}

function outcomeOf(operation: Operation, result: unknown): string {
  if (operation === "get" || operation === "getById") return result === null ? "miss" : "hit";
  return "ok";
}

/** `store` with each operation counted and timed under `backend` (e.g. "redis"); behaves exactly as `store`. */
export function withStoreMetrics(store: TokenStore, metrics: StoreMetrics, backend: string): TokenStore {
  const measured = { close: () => store.close() } as TokenStore;
  for (const operation of OPERATIONS) {
    const call = store[operation].bind(store) as (...args: unknown[]) => Promise<unknown>;
    (measured as unknown as Record<Operation, (...args: unknown[]) => Promise<unknown>>)[operation] = async (...args) => {
      const stop = metrics.seconds.startTimer({ backend, operation });
      try {
        const result = await call(...args);
        metrics.operations.inc({ backend, operation, outcome: outcomeOf(operation, result) });
        return result;
      } catch (error) {
        metrics.operations.inc({ backend, operation, outcome: error instanceof StorageError ? error.code : "error" });
        throw error;
      } finally {
        stop();
      }
    };
  }
  return measured;
}
