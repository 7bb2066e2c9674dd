// Every fact about a provider Tokenvault knows, as data: the adapters (xero.ts, quickbooks.ts),
// the simulator's adapters, the worker's scheduling and limits, and the dashboard's views read
// these; none keeps its own copy. A configured OIDC provider declares its own in OIDC_PROVIDERS
// (from-settings.ts), GENERIC_PROVIDER_DEFAULTS where it does not.
import type { ApiBase, ProviderAdapter, ProviderEndpoints, ProviderLifetimes, ProviderLimits } from "./types";

export type { ApiBase, ProviderLifetimes, ProviderLimits };

/** A provider id: a short slug (also what the web API accepts before looking one up). */
export const PROVIDER_ID_PATTERN = /^[a-z][a-z0-9-]{1,31}$/;

const DAY_SEC = 24 * 3600;

/** One provider, as plain data. */
export interface ProviderDefinition {
  id: string;
  displayName: string;
  /** Production endpoints; QuickBooks by environment. */
  endpoints: ProviderEndpoints;
  /** Asked for on every consent: what the service itself needs (offline access, an identity check). */
  scopes: readonly string[];
  /**
   * The scopes one connect may add to those (tokenService.getAuthorizationUrl's `scopes`): the
   * provider's documented ones. Absent: no extras are accepted.
   */
  optionalScopes?: readonly string[];
  pkce: boolean;
  revocationStyle: "form" | "json";
  lifetimes: ProviderLifetimes;
  limits: ProviderLimits;
  /** Where API calls go below endpoints.api, per tenant (tokenService.fetch). */
  apiBase: ApiBase;
}

/**
 * Xero: access tokens 30 min; refresh tokens single-use, 60 days unused, the previous one good
 * for 30 min after a rotation. Limits per tenant: 5 concurrent calls, 60 a minute, 5,000 a day.
 */
export const XERO: ProviderDefinition = {
  id: "xero",
  displayName: "Xero",
  endpoints: {
    authorization: "https://login.xero.com/identity/connect/authorize",
    token: "https://identity.xero.com/connect/token",
    revocation: "https://identity.xero.com/connect/revocation",
    api: "https://api.xero.com",
  },
  scopes: ["offline_access", "accounting.settings.read"],
  // developer.xero.com/documentation/guides/oauth2/scopes (the broad scopes; identity scopes are
  // left out: this adapter does not check Xero id_tokens).
  optionalScopes: [
    "accounting.transactions",
    "accounting.transactions.read",
    "accounting.reports.read",
    "accounting.reports.tenninetynine.read",
    "accounting.journals.read",
    "accounting.settings",
    "accounting.contacts",
    "accounting.contacts.read",
    "accounting.attachments",
    "accounting.attachments.read",
    "accounting.budgets.read",
    "payroll.employees",
    "payroll.employees.read",
    "payroll.payruns",
    "payroll.payruns.read",
    "payroll.payslip",
    "payroll.payslip.read",
    "payroll.timesheets",
    "payroll.timesheets.read",
    "payroll.settings",
    "payroll.settings.read",
    "files",
    "files.read",
    "assets",
    "assets.read",
    "projects",
    "projects.read",
  ],
  pkce: true,
  revocationStyle: "form",
  lifetimes: { accessTtlSec: 1800, refreshIdleTtlSec: 60 * DAY_SEC, refreshHardTtlSec: null, refreshRotation: "single-use", refreshGraceSec: 30 * 60 },
  limits: { concurrency: 5, tenantConcurrency: 5, requestsPerMinute: 60, requestsPerDay: 5000, appRequestsPerMinute: 10_000 },
  // The accounting API; the organisation is named by a header, not the path.
  apiBase: { path: "/api.xro/2.0", tenantHeader: "xero-tenant-id", idempotency: { header: "Idempotency-Key" } },
};

const INTUIT_COMMON = {
  authorization: "https://appcenter.intuit.com/connect/oauth2",
  token: "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
  revocation: "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
  jwks: "https://oauth.platform.intuit.com/op/v1/jwks",
};

/** Intuit's endpoints by environment. */
export const QUICKBOOKS_ENDPOINTS = {
  production: { ...INTUIT_COMMON, api: "https://quickbooks.api.intuit.com" },
  sandbox: { ...INTUIT_COMMON, api: "https://sandbox-quickbooks.api.intuit.com" },
} satisfies Record<string, ProviderEndpoints>;

/**
 * QuickBooks Online: access tokens 1 h; the refresh token rolls for 100 days (5-year cap), its
 * value changing about once a day, the previous value valid until the new one is used. Limits per
 * app and realm: 10 concurrent calls, 500 a minute.
 */
export const QUICKBOOKS: ProviderDefinition = {
  id: "quickbooks",
  displayName: "QuickBooks Online",
  endpoints: QUICKBOOKS_ENDPOINTS.production,
  scopes: ["com.intuit.quickbooks.accounting", "openid"],
  // developer.intuit.com, OAuth 2.0 scopes: QuickBooks Payments and the OpenID user claims.
  optionalScopes: ["com.intuit.quickbooks.payment", "profile", "email", "phone", "address"],
  pkce: false,
  revocationStyle: "json",
  lifetimes: { accessTtlSec: 3600, refreshIdleTtlSec: 100 * DAY_SEC, refreshHardTtlSec: 5 * 365 * DAY_SEC, refreshRotation: "rolling", refreshGraceSec: DAY_SEC },
  limits: { concurrency: 10, tenantConcurrency: 10, requestsPerMinute: 500, requestsPerDay: null },
  // The accounting API per company (realm), on the environment's host (QUICKBOOKS_ENDPOINTS).
  apiBase: { path: "/v3/company/{realmId}", idempotency: { query: "requestid" } },
};

/** The providers with their own adapter. */
export const BUILT_IN_PROVIDERS: readonly ProviderDefinition[] = [QUICKBOOKS, XERO];

/** What a configured OIDC provider has unless its settings say otherwise (refresh tokens assumed to rotate with no grace). */
// The idle lifetime the worker keeps an undocumented refresh token alive by is the schedule's
// (options.ts, WORKER_GENERIC_IDLE_DAYS), not a provider fact.
export const GENERIC_PROVIDER_DEFAULTS: { lifetimes: ProviderLifetimes; limits: ProviderLimits } = {
  lifetimes: { accessTtlSec: 3600, refreshIdleTtlSec: null, refreshHardTtlSec: null, refreshRotation: "single-use", refreshGraceSec: 0 },
  limits: { concurrency: 5, tenantConcurrency: 5, requestsPerMinute: null, requestsPerDay: null },
};

/** What the worker schedules and limits by, per provider id: idle lifetimes (ms) and concurrency. */
export interface UpkeepFacts {
  idleMsByProvider: Record<string, number>;
  providerConcurrency: Record<string, number>;
  tenantConcurrency: Record<string, number>;
}

/** The upkeep facts of these adapters (a provider without a documented idle lifetime or limits is left out: the generic ones apply). */
export function upkeepFactsOf(adapters: readonly Pick<ProviderAdapter, "id" | "refreshToken" | "limits">[]): UpkeepFacts {
  const facts: UpkeepFacts = { idleMsByProvider: {}, providerConcurrency: {}, tenantConcurrency: {} };
  for (const adapter of adapters) {
    if (adapter.refreshToken.idleTtlSec) facts.idleMsByProvider[adapter.id] = adapter.refreshToken.idleTtlSec * 1000;
    if (adapter.limits) {
      facts.providerConcurrency[adapter.id] = adapter.limits.concurrency;
      facts.tenantConcurrency[adapter.id] = adapter.limits.tenantConcurrency;
    }
  }
  return facts;
}

/** The adapter fields a definition gives (the rest, credentials, endpoints in use and calls, the adapter adds). */
export function fromDefinition(definition: ProviderDefinition): Pick<ProviderAdapter, "id" | "displayName" | "scopes" | "optionalScopes" | "pkce" | "revocationStyle" | "defaultAccessTokenTtlSec" | "refreshToken" | "limits" | "apiBase"> {
  const { lifetimes } = definition;
  return {
    id: definition.id,
    displayName: definition.displayName,
    scopes: [...definition.scopes],
    optionalScopes: [...(definition.optionalScopes ?? [])],
    pkce: definition.pkce,
    revocationStyle: definition.revocationStyle,
    defaultAccessTokenTtlSec: lifetimes.accessTtlSec,
    refreshToken: { idleTtlSec: lifetimes.refreshIdleTtlSec, graceSec: lifetimes.refreshGraceSec },
    limits: definition.limits,
    apiBase: definition.apiBase,
  };
}

/** The built-in providers' upkeep facts, whichever endpoints and credentials they run with. */
export const BUILT_IN_UPKEEP_FACTS: UpkeepFacts = upkeepFactsOf(BUILT_IN_PROVIDERS.map(fromDefinition));
