import type { Provider } from "./clients";
import { recordId } from "./ids";
import type { LimitProblem } from "./limits";

/** Which kind of endpoint a request hit; faults target one (default: the token endpoint) or "any". */
export type Endpoint = "authorize" | "token" | "revoke" | "userinfo" | "api" | "discovery" | "jwks";
export const ENDPOINTS: readonly Endpoint[] = ["authorize", "token", "revoke", "userinfo", "api", "discovery", "jwks"];

export type FaultKind =
  /** Wait before handling the request (combines with the others). */
  | "latency"
  /** Answer with a 5xx instead of handling the request. */
  | "error"
  /** Answer 429 with Retry-After instead of handling the request. */
  | "rate_limit"
  /** Handle the request (commit any rotation) and then destroy the socket: the response is lost. */
  | "drop";

export interface FaultSpec {
  kind: FaultKind;
  /** Omitted: every provider. */
  provider?: Provider;
  /** Omitted: "token". */
  endpoint?: Endpoint | "any";
  /** Only requests concerning this grant (token endpoint: found through the code or refresh token). */
  grantId?: string;
  clientId?: string;
  /** Only refresh requests presenting exactly this refresh token. */
  refreshToken?: string;
  latencyMs?: number;
  /** For "error": 500-599, default 503. */
  status?: number;
  /** For "rate_limit": the Retry-After header, default 30. */
  retryAfterSeconds?: number;
  /** For "rate_limit" on the api endpoint, answered in the provider's own 429 shape: the limit Xero names in X-Rate-Limit-Problem (default "minute"). */
  problem?: LimitProblem;
  /** Apply to the next N matching requests; omitted: until cleared. */
  count?: number;
}

export interface Fault extends Omit<FaultSpec, "count"> {
  id: string;
  endpoint: Endpoint | "any";
  /** Matching requests still to affect; null means until cleared. */
  remaining: number | null;
  hits: number;
}

/** What is known about a request when faults are matched. */
export interface FaultTarget {
  provider: Provider | undefined;
  endpoint: Endpoint;
  grantId?: string | undefined;
  clientId?: string | undefined;
  refreshToken?: string | undefined;
}

export interface FaultOutcome {
  latencyMs: number;
  /** The first error/rate_limit/drop fault that matched, if any. */
  terminal: Fault | undefined;
  applied: Fault[];
}

export class FaultRegistry {
  private faults: Fault[] = [];

  add(spec: FaultSpec): Fault {
    if (spec.kind === "error" && spec.status !== undefined && (spec.status < 500 || spec.status > 599)) {
      throw new Error("an error fault's status must be between 500 and 599");
    }
    if (spec.count !== undefined && (!Number.isInteger(spec.count) || spec.count < 1)) {
      throw new Error("count must be a positive integer");
    }
    const { count, ...rest } = spec;
    const fault: Fault = { ...rest, id: recordId("fault"), endpoint: spec.endpoint ?? "token", remaining: count ?? null, hits: 0 };
    this.faults.push(fault);
    return fault;
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  private matches(fault: Fault, target: FaultTarget): boolean {
    if (fault.provider !== undefined && fault.provider !== target.provider) return false;
    if (fault.endpoint !== "any" && fault.endpoint !== target.endpoint) return false;
    if (fault.grantId !== undefined && fault.grantId !== target.grantId) return false;
    if (fault.clientId !== undefined && fault.clientId !== target.clientId) return false;
    if (fault.refreshToken !== undefined && fault.refreshToken !== target.refreshToken) return false;
    return true;
  }

  /** Picks the faults for one request and consumes their counts. */
  take(target: FaultTarget): FaultOutcome {
    const outcome: FaultOutcome = { latencyMs: 0, terminal: undefined, applied: [] };
    for (const fault of this.faults) {
      if (!this.matches(fault, target)) continue;
      if (fault.kind === "latency") outcome.latencyMs += fault.latencyMs ?? 0;
      else if (outcome.terminal) continue;
      else outcome.terminal = fault;
      outcome.applied.push(fault);
    }
    for (const fault of outcome.applied) {
      fault.hits += 1;
      if (fault.remaining !== null) fault.remaining -= 1;
    }
    this.faults = this.faults.filter((f) => f.remaining === null || f.remaining > 0);
    return outcome;
  }
}
