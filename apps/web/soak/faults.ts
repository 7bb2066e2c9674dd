// The faults `pnpm soak` injects, in turn, and when. Each starts and ends at known times: a
// participant's time to recover is counted from the end.
import { terminateServiceBackends, type TcpProxy } from "@tokenvault/db/testing";
import type { Simulator } from "@tokenvault/simulator";
import type { RedisServer } from "../../../packages/store/test/redis-server";

export const FAULT_KINDS = ["database silent", "database refused", "backends terminated", "provider slow", "redis killed"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** Faults that cut the database: the worker logs the loss and the return of these. */
export const DATABASE_FAULTS: readonly FaultKind[] = ["database silent", "database refused"];

/** Every participant must succeed again within this of a fault's end (the slowest path: a call on a silent connection times out, 2 s + 1 s, then a retry). */
export const RECOVERY_BOUND_MS = 10_000;
const PROVIDER_LATENCY_MS = 3_000;

export interface Schedule {
  intervalMs: number;
  faultMs: number;
  count: number;
}

/** Load after the last fault's end, before the run stops: time to recover from it. */
const TAIL_MS = RECOVERY_BOUND_MS;

/**
 * A fault every `intervalMs` (a tenth of the run, 8 to 60 s) lasting a fifth of that (3 to 12 s),
 * as many as fit before the run's last 10 s: 9 in 10 minutes, 5 (one of each kind) in 60 s.
 */
export function scheduleFor(durationMs: number): Schedule {
  const intervalMs = Math.min(60_000, Math.max(8_000, durationMs / 10));
  const faultMs = Math.min(12_000, Math.max(3_000, intervalMs / 5));
  return { intervalMs, faultMs, count: Math.max(0, Math.floor((durationMs - faultMs - TAIL_MS) / intervalMs)) };
}

export interface FaultTargets {
  proxy: TcpProxy;
  databaseName: string;
  sim: Simulator;
  redis: RedisServer;
}

/** Starts a fault; resolves with what ends it. */
export async function startFault(kind: FaultKind, t: FaultTargets): Promise<() => Promise<void>> {
  switch (kind) {
    case "database silent":
      // Accepts, never forwards; afterwards forwards again, but connections accepted meanwhile stay silent.
      t.proxy.setMode("blackhole");
      return () => Promise.resolve(t.proxy.restore());
    case "database refused":
      t.proxy.down();
      return () => Promise.resolve(t.proxy.restore());
    case "backends terminated":
      await terminateServiceBackends(t.databaseName);
      return () => Promise.resolve();
    case "provider slow":
      await t.sim.addFault({ kind: "latency", endpoint: "token", latencyMs: PROVIDER_LATENCY_MS }); // every provider
      return () => t.sim.clearFaults();
    case "redis killed":
      await t.redis.kill();
      return () => t.redis.restart();
  }
}
