import { PROVIDERS, type ClientRecord, type Provider, type RegisterClientInput } from "./clients";
import { defaultSettings, type Settings, type SimState, type IdTokenFault } from "./context";
import type { Fault, FaultSpec } from "./faults";
import { HttpError } from "./http";
import { patchLimits, type ApiLimits, type ApiUsage, type LimitedProvider, type LimitsPatch } from "./limits";
import { mintGrants, type MintedGrant, type MintGrantsInput } from "./mint";
import type { Grant, Stats } from "./state";

export interface ClockView {
  now: number;
  iso: string;
  offsetMs: number;
}

export type ClientView = ClientRecord;

export interface SettingsPatch {
  strict?: boolean;
  autoApprove?: boolean | Partial<Record<Provider, boolean>>;
  xeroTenantsPerAuthorization?: number;
  intuitCompaniesPerAuthorization?: number;
  /** The organisations the Xero consent offers from now on (null: new ones per consent). */
  xeroTenants?: { tenantId: string; tenantName: string }[] | null;
  /** The realms the Intuit consent offers from now on (null: new ones per consent). */
  intuitRealmIds?: string[] | null;
  oidcIdTokenFault?: IdTokenFault | null;
  /** Scopes consents grant no more from now on ([]: all that is asked). */
  withheldScopes?: string[];
}

export interface GrantFilter {
  provider?: Provider;
  clientId?: string;
  realmId?: string;
  tenantId?: string;
  /** A refresh or access token value (current or old) belonging to the grant. */
  token?: string;
  status?: "active" | "revoked";
}

export type RevokeSelector = Pick<GrantFilter, "provider" | "clientId" | "realmId" | "tenantId">;

/** Narrows the API usage report; tenantId is a Xero tenant id or an Intuit realm id. */
export interface UsageFilter {
  provider?: LimitedProvider;
  clientId?: string;
  tenantId?: string;
}

export interface RefreshTokenView {
  id: string;
  state: "current" | "grace" | "spent" | "expired";
  issuedAt: string;
  expiresAt: string;
  graceUntil: string | undefined;
}

/** What the control API shows of a grant: token ids and states, never token values. */
export interface GrantView {
  id: string;
  provider: Provider;
  clientId: string;
  subject: string;
  scope: string[];
  status: "active" | "revoked";
  createdAt: string;
  revokedAt: string | undefined;
  revokedReason: string | undefined;
  realmId: string | undefined;
  authEventId: string;
  tenants: Array<{ connectionId: string; tenantId: string; tenantName: string }>;
  currentRefreshTokenId: string | undefined;
  refreshTokens: RefreshTokenView[];
  activeAccessTokenIds: string[];
  counters: { refreshSuccess: number; refreshFailed: number; invalidGrant: number };
}

/**
 * Everything a test can do to the simulator. The same interface is served in process
 * (Simulator) and over HTTP (connectSimulator), so forked test workers drive it alike.
 */
export interface SimulatorControl {
  clock(): Promise<ClockView>;
  advanceClock(ms: number): Promise<ClockView>;
  setClock(epochMs: number): Promise<ClockView>;
  registerClient(input: RegisterClientInput): Promise<ClientView>;
  listClients(): Promise<ClientView[]>;
  getSettings(): Promise<Settings>;
  updateSettings(patch: SettingsPatch): Promise<Settings>;
  addFault(spec: FaultSpec): Promise<Fault>;
  listFaults(): Promise<Fault[]>;
  removeFault(id: string): Promise<boolean>;
  clearFaults(): Promise<void>;
  listGrants(filter?: GrantFilter): Promise<GrantView[]>;
  getGrant(id: string): Promise<GrantView | undefined>;
  /** Provider-side revocation (the user disconnected the app). */
  revokeGrant(id: string): Promise<GrantView>;
  revokeGrants(selector: RevokeSelector): Promise<GrantView[]>;
  /** Ends the grant's access tokens issued so far, keeping the grant and its refresh token: the next API call with one answers 401. */
  revokeAccessTokens(grantId: string): Promise<GrantView>;
  /** Grants as consents would have made them, with their token values (for import tests and benches; see mint.ts). */
  mintGrants(input: MintGrantsInput): Promise<MintedGrant[]>;
  /** The API rate limits in force (the providers' real ones unless changed). */
  getLimits(): Promise<ApiLimits>;
  updateLimits(patch: LimitsPatch): Promise<ApiLimits>;
  /** Calls served and refused (429, by limit) and the most in flight at once, per app and tenant. */
  apiUsage(filter?: UsageFilter): Promise<ApiUsage>;
  stats(): Promise<Stats>;
  reset(): Promise<void>;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function grantView(grant: Grant, now: number): GrantView {
  return {
    id: grant.id,
    provider: grant.provider,
    clientId: grant.clientId,
    subject: grant.subject,
    scope: [...grant.scope],
    status: grant.revokedAt === undefined ? "active" : "revoked",
    createdAt: iso(grant.createdAt)!,
    revokedAt: iso(grant.revokedAt),
    revokedReason: grant.revokedReason,
    realmId: grant.realmId,
    authEventId: grant.authEventId,
    tenants: grant.tenants.map(({ connectionId, tenantId, tenantName }) => ({ connectionId, tenantId, tenantName })),
    currentRefreshTokenId: grant.currentRefreshTokenId,
    refreshTokens: grant.refreshTokens.map((t) => ({
      id: t.id,
      state:
        now >= t.expiresAt ? "expired" : t.id === grant.currentRefreshTokenId ? "current" : t.graceUntil !== undefined && now < t.graceUntil ? "grace" : "spent",
      issuedAt: iso(t.issuedAt)!,
      expiresAt: iso(t.expiresAt)!,
      graceUntil: iso(t.graceUntil),
    })),
    activeAccessTokenIds: grant.revokedAt === undefined ? grant.accessTokens.filter((t) => t.revokedAt === undefined && now < t.expiresAt).map((t) => t.id) : [],
    counters: { ...grant.counters },
  };
}

/** Runs a state change whose validation throws, turning its message into a 400 for the control API. */
function asBadRequest<T>(change: () => T): Promise<T> {
  try {
    return Promise.resolve(change());
  } catch (error) {
    throw new HttpError(400, "invalid_request", (error as Error).message);
  }
}

function matchesFilter(grant: Grant, filter: GrantFilter, state: SimState): boolean {
  if (filter.provider && grant.provider !== filter.provider) return false;
  if (filter.clientId && grant.clientId !== filter.clientId) return false;
  if (filter.realmId && grant.realmId !== filter.realmId) return false;
  if (filter.tenantId && !grant.tenants.some((t) => t.tenantId === filter.tenantId)) return false;
  if (filter.status && (grant.revokedAt === undefined ? "active" : "revoked") !== filter.status) return false;
  if (filter.token) {
    const owner = state.store.findRefreshToken(filter.token)?.grant ?? state.store.findAccessToken(filter.token)?.grant;
    if (owner !== grant) return false;
  }
  return true;
}

/** The in-process implementation; the HTTP routes below call into it. */
export class LocalControl implements SimulatorControl {
  constructor(private readonly state: SimState) {}

  private clockView(): ClockView {
    const now = this.state.clock.now();
    return { now, iso: new Date(now).toISOString(), offsetMs: this.state.clock.offset };
  }

  clock(): Promise<ClockView> {
    return Promise.resolve(this.clockView());
  }

  advanceClock(ms: number): Promise<ClockView> {
    if (!Number.isFinite(ms)) throw new HttpError(400, "invalid_request", "ms must be a finite number");
    this.state.clock.advance(ms);
    return this.clock();
  }

  setClock(epochMs: number): Promise<ClockView> {
    if (!Number.isFinite(epochMs)) throw new HttpError(400, "invalid_request", "now must be a finite number");
    this.state.clock.set(epochMs);
    return this.clock();
  }

  registerClient(input: RegisterClientInput): Promise<ClientView> {
    return asBadRequest(() => ({ ...this.state.clients.register(input) }));
  }

  listClients(): Promise<ClientView[]> {
    return Promise.resolve(this.state.clients.list().map((c) => ({ ...c })));
  }

  getSettings(): Promise<Settings> {
    return Promise.resolve(structuredClone(this.state.settings));
  }

  updateSettings(patch: SettingsPatch): Promise<Settings> {
    const settings = this.state.settings;
    if (patch.strict !== undefined) settings.strict = patch.strict;
    if (typeof patch.autoApprove === "boolean") for (const p of PROVIDERS) settings.autoApprove[p] = patch.autoApprove;
    else if (patch.autoApprove) Object.assign(settings.autoApprove, patch.autoApprove);
    if (patch.xeroTenantsPerAuthorization !== undefined) settings.xeroTenantsPerAuthorization = patch.xeroTenantsPerAuthorization;
    if (patch.oidcIdTokenFault !== undefined) settings.oidcIdTokenFault = patch.oidcIdTokenFault;
    if (patch.intuitCompaniesPerAuthorization !== undefined) settings.intuitCompaniesPerAuthorization = patch.intuitCompaniesPerAuthorization;
    if (patch.xeroTenants !== undefined) settings.xeroTenants = patch.xeroTenants ? patch.xeroTenants.map((t) => ({ ...t })) : null;
    if (patch.intuitRealmIds !== undefined) settings.intuitRealmIds = patch.intuitRealmIds ? [...patch.intuitRealmIds] : null;
    if (patch.withheldScopes !== undefined) settings.withheldScopes = [...patch.withheldScopes];
    return this.getSettings();
  }

  addFault(spec: FaultSpec): Promise<Fault> {
    return asBadRequest(() => ({ ...this.state.faults.add(spec) }));
  }

  listFaults(): Promise<Fault[]> {
    return Promise.resolve(this.state.faults.list());
  }

  removeFault(id: string): Promise<boolean> {
    return Promise.resolve(this.state.faults.remove(id));
  }

  clearFaults(): Promise<void> {
    this.state.faults.clear();
    return Promise.resolve();
  }

  listGrants(filter: GrantFilter = {}): Promise<GrantView[]> {
    const now = this.state.clock.now();
    return Promise.resolve([...this.state.store.grants.values()].filter((g) => matchesFilter(g, filter, this.state)).map((g) => grantView(g, now)));
  }

  getGrant(id: string): Promise<GrantView | undefined> {
    const grant = this.state.store.grants.get(id);
    return Promise.resolve(grant && grantView(grant, this.state.clock.now()));
  }

  revokeGrant(id: string): Promise<GrantView> {
    const grant = this.state.store.grants.get(id);
    if (!grant) throw new HttpError(404, "not_found", `no grant "${id}"`);
    this.state.store.revokeGrant(grant, "provider_revocation", this.state.clock.now());
    return Promise.resolve(grantView(grant, this.state.clock.now()));
  }

  async revokeGrants(selector: RevokeSelector): Promise<GrantView[]> {
    if (!selector.provider && !selector.clientId && !selector.realmId && !selector.tenantId) {
      throw new HttpError(400, "invalid_request", "give at least one of provider, clientId, realmId, tenantId");
    }
    const targets = [...this.state.store.grants.values()].filter((g) => g.revokedAt === undefined && matchesFilter(g, selector, this.state));
    return Promise.all(targets.map((g) => this.revokeGrant(g.id)));
  }

  revokeAccessTokens(grantId: string): Promise<GrantView> {
    const grant = this.state.store.grants.get(grantId);
    if (!grant) throw new HttpError(404, "not_found", `no grant "${grantId}"`);
    const now = this.state.clock.now();
    for (const token of grant.accessTokens) token.revokedAt ??= now;
    return Promise.resolve(grantView(grant, now));
  }

  mintGrants(input: MintGrantsInput): Promise<MintedGrant[]> {
    return mintGrants(this.state, input);
  }

  getLimits(): Promise<ApiLimits> {
    return Promise.resolve(structuredClone(this.state.limiter.limits));
  }

  async updateLimits(patch: LimitsPatch): Promise<ApiLimits> {
    this.state.limiter.limits = await asBadRequest(() => patchLimits(this.state.limiter.limits, patch));
    return this.getLimits();
  }

  apiUsage(filter: UsageFilter = {}): Promise<ApiUsage> {
    return Promise.resolve(this.state.limiter.usage(filter));
  }

  stats(): Promise<Stats> {
    return Promise.resolve(this.state.store.stats());
  }

  reset(): Promise<void> {
    this.state.store.reset();
    this.state.faults.clear();
    this.state.clients.reset();
    this.state.clock.reset();
    this.state.limiter.reset(structuredClone(this.state.initialLimits));
    this.state.settings = defaultSettings(this.state.initialStrict);
    return Promise.resolve();
  }
}
