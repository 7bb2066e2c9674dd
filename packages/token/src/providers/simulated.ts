import type { GenericProviderConfig } from "./generic-oidc";
import { quickbooksAdapter } from "./quickbooks";
import type { ProviderAdapter, ProviderEndpoints } from "./types";
import { xeroAdapter } from "./xero";

/**
 * Everything about the provider simulator (packages/simulator) in one place: its endpoints and
 * built-in clients. Used when a provider has no credentials outside production (a fresh clone
 * connects offline) and by tests. The real adapters hold real endpoints only.
 */

/** The simulator's built-in clients. Not secrets: they open nothing real. */
export const SIMULATOR_CLIENTS = {
  quickbooks: { clientId: "sim-intuit-client", clientSecret: "sim-intuit-secret" },
  xero: { clientId: "sim-xero-client", clientSecret: "sim-xero-secret" },
  oidc: { clientId: "sim-oidc-client", clientSecret: "sim-oidc-secret" },
} as const;

export function simulatorQuickbooksEndpoints(simulatorUrl: string): ProviderEndpoints {
  return {
    authorization: `${simulatorUrl}/intuit/connect/oauth2`,
    token: `${simulatorUrl}/intuit/oauth2/v1/tokens/bearer`,
    revocation: `${simulatorUrl}/intuit/oauth2/v1/tokens/revoke`,
    api: `${simulatorUrl}/intuit`,
    jwks: `${simulatorUrl}/intuit/op/v1/jwks`,
  };
}

export function simulatorXeroEndpoints(simulatorUrl: string): ProviderEndpoints {
  return {
    authorization: `${simulatorUrl}/xero/identity/connect/authorize`,
    token: `${simulatorUrl}/xero/identity/connect/token`,
    revocation: `${simulatorUrl}/xero/identity/connect/revocation`,
    api: `${simulatorUrl}/xero/api`,
  };
}

export function simulatedQuickbooks(simulatorUrl: string): ProviderAdapter {
  return quickbooksAdapter({ ...SIMULATOR_CLIENTS.quickbooks, environment: "sandbox", endpoints: simulatorQuickbooksEndpoints(simulatorUrl) });
}

export function simulatedXero(simulatorUrl: string): ProviderAdapter {
  return xeroAdapter({ ...SIMULATOR_CLIENTS.xero, endpoints: simulatorXeroEndpoints(simulatorUrl) });
}

/** QuickBooks and Xero, both simulated at `simulatorUrl`. */
export function simulatedAdapters(simulatorUrl: string): ProviderAdapter[] {
  return [simulatedQuickbooks(simulatorUrl), simulatedXero(simulatorUrl)];
}

/**
 * The simulator's OpenID Connect issuer as a generic provider ("acme-idp"), declared as the data an
 * OIDC_PROVIDERS entry holds (strict refresh-token rotation, no grace; found by discovery).
 */
export function simulatorOidcProvider(simulatorUrl: string): GenericProviderConfig {
  return { id: "acme-idp", displayName: "Acme Identity", issuer: `${simulatorUrl}/oidc`, ...SIMULATOR_CLIENTS.oidc, scopes: ["openid", "offline_access"] };
}
