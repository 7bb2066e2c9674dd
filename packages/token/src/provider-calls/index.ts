// tokenService.fetch and its limits: what the token service and the wiring use from this folder.
import type { PrismaClient } from "@tokenvault/db";
import type { createClient } from "redis";
import type { ProviderCallMetrics } from "../metrics/provider-call-metrics";
import type { ProviderRegistry } from "../providers/registry";
import { tokenServiceCallTokens, type TokenServicePaths } from "./call-tokens";
import type { CallLimitSettings } from "./limits/call-limiter";
import { MemorySlotStore } from "./limits/memory-slots";
import { PostgresSlotStore } from "./limits/postgres-slots";
import { QueuedLimiter } from "./limits/queued-limiter";
import { RedisSlotStore } from "./limits/redis-slots";
import type { SlotStore } from "./limits/slot-store";
import { ProviderClient, type ProviderCallOptions } from "./provider-client";

export { ProviderCallError, MAX_PROVIDER_BODY, type ProviderAnswer } from "./call-errors";
export type { ConnectionRef } from "./call-tokens";
export type { CallLimitSettings, RateWindow } from "./limits/call-limiter";
export type { SlotStore } from "./limits/slot-store";
export { DEFAULT_CALL_OPTIONS, ProviderClient, type CallBudget, type ProviderCallOptions, type ProviderFetchInit } from "./provider-client";

/** Where every process of the app keeps the shared limits. */
export type CallLimitsBackend =
  | { kind: "memory" }
  | { kind: "database" }
  | {
      kind: "redis";
      client: Pick<ReturnType<typeof createClient>, "eval" | "evalSha" | "zRem" | "close" | "duplicate">;
      prefix?: string;
      /** true: the slot store closes the client on tokenService.close() (the default service's own client). */
      owned?: boolean;
    };

/** How tokenService.fetch is configured (TokenServiceDeps.providerCalls). */
export interface ProviderCallsConfig {
  /** Default: the token database (limits shared by every process of the deployment). */
  limits?: CallLimitsBackend;
  options?: Partial<ProviderCallOptions>;
  /** Per provider id: overrides of its definition's limits (budgets, concurrency, queue). */
  limitOverrides?: Record<string, Partial<CallLimitSettings>>;
  /** A fetch of the host's (instrumented, or the bench's bare one). */
  fetch?: typeof fetch;
}

export function slotStoreFor(backend: CallLimitsBackend, prisma: PrismaClient): SlotStore {
  switch (backend.kind) {
    case "memory":
      return new MemorySlotStore();
    case "database":
      return new PostgresSlotStore(prisma);
    case "redis":
      return new RedisSlotStore(backend.client, backend.owned ?? false, backend.prefix);
  }
}

export function createProviderClient(
  config: ProviderCallsConfig,
  deps: { prisma: PrismaClient; providers: ProviderRegistry; metrics: ProviderCallMetrics | null; service: TokenServicePaths },
): ProviderClient {
  const limiter = new QueuedLimiter(slotStoreFor(config.limits ?? { kind: "database" }, deps.prisma));
  return new ProviderClient({
    tokens: tokenServiceCallTokens(deps.service),
    providers: deps.providers,
    limiter,
    metrics: deps.metrics,
    ...(config.options && { options: config.options }),
    ...(config.limitOverrides && { limits: config.limitOverrides }),
    ...(config.fetch && { fetch: config.fetch }),
  });
}
