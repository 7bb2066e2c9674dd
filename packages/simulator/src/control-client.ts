import type { RegisterClientInput } from "./clients";
import type { Settings } from "./context";
import type { ClientView, ClockView, GrantFilter, GrantView, RevokeSelector, SettingsPatch, SimulatorControl, UsageFilter } from "./control";
import type { Fault, FaultSpec } from "./faults";
import type { ApiLimits, ApiUsage, LimitsPatch } from "./limits";
import type { MintedGrant, MintGrantsInput } from "./mint";
import type { Stats } from "./state";

export class SimulatorControlError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    description: string,
  ) {
    super(`${error}: ${description}`);
  }
}

/** Drives a running simulator over its /__sim HTTP API, e.g. from a forked test worker. */
export class HttpSimulatorControl implements SimulatorControl {
  constructor(readonly url: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed: unknown = text === "" ? undefined : JSON.parse(text);
    if (!response.ok) {
      const err = (parsed ?? {}) as { error?: string; error_description?: string };
      throw new SimulatorControlError(response.status, err.error ?? "error", err.error_description ?? response.statusText);
    }
    return parsed as T;
  }

  clock(): Promise<ClockView> {
    return this.call("GET", "/__sim/clock");
  }
  advanceClock(ms: number): Promise<ClockView> {
    return this.call("POST", "/__sim/clock/advance", { ms });
  }
  setClock(epochMs: number): Promise<ClockView> {
    return this.call("POST", "/__sim/clock/set", { now: epochMs });
  }
  registerClient(input: RegisterClientInput): Promise<ClientView> {
    return this.call("POST", "/__sim/clients", input);
  }
  listClients(): Promise<ClientView[]> {
    return this.call("GET", "/__sim/clients");
  }
  getSettings(): Promise<Settings> {
    return this.call("GET", "/__sim/settings");
  }
  updateSettings(patch: SettingsPatch): Promise<Settings> {
    return this.call("PATCH", "/__sim/settings", patch);
  }
  addFault(spec: FaultSpec): Promise<Fault> {
    return this.call("POST", "/__sim/faults", spec);
  }
  listFaults(): Promise<Fault[]> {
    return this.call("GET", "/__sim/faults");
  }
  async removeFault(id: string): Promise<boolean> {
    try {
      await this.call("DELETE", `/__sim/faults/${encodeURIComponent(id)}`);
      return true;
    } catch (error) {
      if (error instanceof SimulatorControlError && error.status === 404) return false;
      throw error;
    }
  }
  async clearFaults(): Promise<void> {
    await this.call("DELETE", "/__sim/faults");
  }
  listGrants(filter: GrantFilter = {}): Promise<GrantView[]> {
    const query = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === "string"));
    return this.call("GET", `/__sim/grants${query.size > 0 ? `?${query.toString()}` : ""}`);
  }
  async getGrant(id: string): Promise<GrantView | undefined> {
    try {
      return await this.call<GrantView>("GET", `/__sim/grants/${encodeURIComponent(id)}`);
    } catch (error) {
      if (error instanceof SimulatorControlError && error.status === 404) return undefined;
      throw error;
    }
  }
  revokeGrant(id: string): Promise<GrantView> {
    return this.call("POST", `/__sim/grants/${encodeURIComponent(id)}/revoke`);
  }
  revokeGrants(selector: RevokeSelector): Promise<GrantView[]> {
    return this.call("POST", "/__sim/grants/revoke", selector);
  }
  revokeAccessTokens(grantId: string): Promise<GrantView> {
    return this.call("POST", `/__sim/grants/${encodeURIComponent(grantId)}/revoke-access-tokens`);
  }
  mintGrants(input: MintGrantsInput): Promise<MintedGrant[]> {
    return this.call("POST", "/__sim/grants/mint", input);
  }
  getLimits(): Promise<ApiLimits> {
    return this.call("GET", "/__sim/limits");
  }
  updateLimits(patch: LimitsPatch): Promise<ApiLimits> {
    return this.call("PATCH", "/__sim/limits", patch);
  }
  apiUsage(filter: UsageFilter = {}): Promise<ApiUsage> {
    const query = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === "string"));
    return this.call("GET", `/__sim/limits/usage${query.size > 0 ? `?${query.toString()}` : ""}`);
  }
  stats(): Promise<Stats> {
    return this.call("GET", "/__sim/stats");
  }
  async reset(): Promise<void> {
    await this.call("POST", "/__sim/reset");
  }
}

/** Control handle for a simulator started elsewhere (another process, the CLI). */
export function connectSimulator(url: string): HttpSimulatorControl {
  return new HttpSimulatorControl(url.replace(/\/$/, ""));
}
