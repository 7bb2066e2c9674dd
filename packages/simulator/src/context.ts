import type { IncomingMessage } from "node:http";
import type { ClientRegistry, Provider } from "./clients";
import type { SimClock } from "./clock";
import type { Endpoint, FaultRegistry, FaultTarget } from "./faults";
import { json, type SimResponse } from "./http";
import type { SigningKeys } from "./keys";
import type { ApiLimiter, ApiLimits } from "./limits";
import type { Store } from "./state";

export interface Settings {
  /** Refresh-token reuse detection: replaying a spent refresh token revokes the whole grant. */
  strict: boolean;
  /** Skip the consent page and approve at once (headless tests). */
  autoApprove: Record<Provider, boolean>;
  /** Organisations a new Xero authorization connects. */
  xeroTenantsPerAuthorization: number;
  /**
   * The organisations the Xero user has, the same on every consent (a reconnect reaches the same
   * tenant ids); null: new ones each time (xeroTenantsPerAuthorization of them).
   */
  xeroTenants: { tenantId: string; tenantName: string }[] | null;
  /** Companies the Intuit consent page offers. */
  intuitCompaniesPerAuthorization: number;
  /**
   * The realms of the companies the Intuit consent page offers, as a real Intuit user's companies
   * stay the same from one consent to the next (a reconnect of the same company); null: new ones each time.
   */
  intuitRealmIds: string[] | null;
  /**
   * Scopes the simulated user does not grant when consenting, as a person unticking a box would:
   * the code carries the requested scopes less these, and so do the token answers that echo
   * `scope` (Xero's, the OpenID provider's; Intuit's name none). Empty: everything asked is granted.
   */
  withheldScopes: string[];
  /** A broken id_token in the OpenID provider's token responses (code exchanges and refreshes), for clients' refusal tests; null: correct ones. */
  oidcIdTokenFault: IdTokenFault | null;
}

export type IdTokenFault = "wrong_nonce" | "wrong_issuer" | "wrong_audience" | "bad_signature";

export function defaultSettings(strict: boolean): Settings {
  return {
    strict,
    autoApprove: { intuit: false, xero: false, oidc: false },
    xeroTenantsPerAuthorization: 2,
    oidcIdTokenFault: null,
    intuitCompaniesPerAuthorization: 1,
    intuitRealmIds: null,
    xeroTenants: null,
    withheldScopes: [],
  };
}

/** Everything a handler can reach: one per simulator. */
export interface SimState {
  baseUrl: string;
  clock: SimClock;
  clients: ClientRegistry;
  store: Store;
  faults: FaultRegistry;
  keys: SigningKeys;
  settings: Settings;
  /** Stable end user per provider, so refreshed id_tokens keep the same `sub`. */
  users: Record<Provider, { sub: string; email: string; givenName: string; familyName: string }>;
  initialStrict: boolean;
  /** API rate limits per app and tenant; `initialLimits` is what reset() restores. */
  limiter: ApiLimiter;
  initialLimits: ApiLimits;
}

export interface RequestContext {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  sim: SimState;
  provider: Provider | undefined;
  endpoint: Endpoint;
  /**
   * Applies matching faults once: waits out latency, returns the error response to send
   * instead (5xx/429), or marks the response to be dropped after the handler ran.
   */
  applyFaults(target?: Omit<FaultTarget, "provider" | "endpoint">): Promise<SimResponse | undefined>;
  /** Set when a "drop" fault matched. */
  drop: boolean;
  /** Set when a fault answered instead of the handler. */
  faulted: boolean;
}

/** Per-request override of strict mode, for tests sharing one simulator. */
export function isStrict(ctx: RequestContext): boolean {
  const header = ctx.req.headers["x-sim-strict"];
  if (header === "true" || header === "1") return true;
  if (header === "false" || header === "0") return false;
  return ctx.sim.settings.strict;
}

export function faultResponse(kind: "error" | "rate_limit", status: number | undefined, retryAfterSeconds: number | undefined): SimResponse {
  if (kind === "rate_limit") {
    const retryAfter = retryAfterSeconds ?? 30;
    return json(429, { error: "rate_limit_exceeded", error_description: `Too many requests (simulated); retry after ${retryAfter} seconds` }, { "retry-after": String(retryAfter) });
  }
  const code = status ?? 503;
  return json(code, {
    error: code === 503 ? "temporarily_unavailable" : "server_error",
    error_description: `Simulated provider failure (HTTP ${code})`,
  });
}
