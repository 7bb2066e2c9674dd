import { z } from "zod";
import { KeyConfigError } from "@tokenvault/vault";
import type { ProviderSettings } from "../env";
import { genericOidcAdapter } from "./generic-oidc";
import { QUICKBOOKS_ENDPOINTS, quickbooksAdapter } from "./quickbooks";
import { ProviderRegistry } from "./registry";
import { simulatedQuickbooks, simulatedXero } from "./simulated";
import type { ProviderAdapter } from "./types";
import { XERO_ENDPOINTS, xeroAdapter } from "./xero";

const genericSchema = z.array(
  z.object({
    id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/),
    displayName: z.string().min(1).max(64),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    scopes: z.array(z.string().min(1)).min(1),
    issuer: z.url().optional(),
    endpoints: z.object({ authorization: z.url(), token: z.url(), revocation: z.url().optional(), api: z.url().optional() }).optional(),
    checkUrl: z.url().optional(),
  }),
);

/**
 * Adapters for this deployment: real credentials where configured; otherwise, outside
 * production, the provider simulator with its built-in clients, so a fresh clone connects offline.
 */
export async function providersFromSettings(settings: ProviderSettings): Promise<ProviderRegistry> {
  const adapters: ProviderAdapter[] = [];
  if (settings.quickbooks) {
    adapters.push(quickbooksAdapter({ ...settings.quickbooks, endpoints: QUICKBOOKS_ENDPOINTS[settings.quickbooks.environment] }));
  } else if (settings.simulatorUrl) {
    adapters.push(simulatedQuickbooks(settings.simulatorUrl));
  }
  if (settings.xero) adapters.push(xeroAdapter({ ...settings.xero, endpoints: XERO_ENDPOINTS }));
  else if (settings.simulatorUrl) adapters.push(simulatedXero(settings.simulatorUrl));

  if (settings.oidcProvidersJson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(settings.oidcProvidersJson);
    } catch {
      throw new KeyConfigError("OIDC_PROVIDERS", "is not valid JSON.");
    }
    const result = genericSchema.safeParse(parsed);
    if (!result.success) throw new KeyConfigError("OIDC_PROVIDERS", `is invalid: ${result.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}.`);
    for (const config of result.data) adapters.push(await genericOidcAdapter(config));
  }
  return new ProviderRegistry(adapters);
}
