import { importJWK, type JWK } from "jose";
import { z } from "zod";
import { KeyConfigError } from "@tokenvault/vault";
import type { ProviderSettings } from "../env";
import { MAX_EXTRA_SCOPES, SCOPE_TOKEN_PATTERN } from "../validation";
import { PROVIDER_ID_PATTERN } from "./definitions";
import { genericOidcAdapter } from "./generic-oidc";
import { TOKEN_ENDPOINT_AUTH_METHODS, type ClientAuthentication } from "./openid-token-client";
import { QUICKBOOKS_ENDPOINTS, quickbooksAdapter } from "./quickbooks";
import { ProviderRegistry } from "./registry";
import { simulatedQuickbooks, simulatedXero } from "./simulated";
import type { ProviderAdapter } from "./types";
import { XERO_ENDPOINTS, xeroAdapter } from "./xero";

const genericSchema = z.array(
  z
    .object({
      id: z.string().regex(PROVIDER_ID_PATTERN),
      displayName: z.string().min(1).max(64),
      clientId: z.string().min(1),
      clientSecret: z.string().min(1).optional(),
      tokenEndpointAuthMethod: z.enum(TOKEN_ENDPOINT_AUTH_METHODS).default("client_secret_basic"),
      // private_key_jwt: the client's private key as a JWK (kid used as the assertion's header kid).
      privateKeyJwk: z.object({ kty: z.string(), d: z.string() }).loose().optional(),
      scopes: z.array(z.string().min(1)).min(1),
      // What one connect may add (connect/requested-scopes.ts); RFC 6749 scope tokens.
      optionalScopes: z.array(z.string().regex(SCOPE_TOKEN_PATTERN, "is not an RFC 6749 scope token")).max(MAX_EXTRA_SCOPES * 5).optional(),
      issuer: z.url().optional(),
      endpoints: z.object({ authorization: z.url(), token: z.url(), revocation: z.url().optional(), api: z.url().optional() }).optional(),
      checkUrl: z.url().optional(),
      // The provider's own facts where it documents them (definitions.ts has the defaults).
      refreshIdleDays: z.number().int().min(1).max(3650).optional(),
      limits: z
        .object({
          concurrency: z.number().int().min(1).max(100),
          tenantConcurrency: z.number().int().min(1).max(100),
          requestsPerMinute: z.number().int().min(1).nullable(),
          requestsPerDay: z.number().int().min(1).nullable(),
        })
        .partial()
        .optional(),
    })
    .superRefine((entry, ctx) => {
      const secretBased = entry.tokenEndpointAuthMethod !== "private_key_jwt";
      if (secretBased && !entry.clientSecret) ctx.addIssue({ code: "custom", path: ["clientSecret"], message: `is required for tokenEndpointAuthMethod ${entry.tokenEndpointAuthMethod}` });
      if (!secretBased && !entry.privateKeyJwk) ctx.addIssue({ code: "custom", path: ["privateKeyJwk"], message: "is required for tokenEndpointAuthMethod private_key_jwt" });
      if (secretBased && entry.privateKeyJwk) ctx.addIssue({ code: "custom", path: ["privateKeyJwk"], message: "is only for tokenEndpointAuthMethod private_key_jwt" });
    }),
);

/** The entry's client authentication; a private key that cannot sign is a start-up error naming the field, never showing it. */
async function clientAuthOf(entry: z.infer<typeof genericSchema>[number], index: number): Promise<ClientAuthentication> {
  if (entry.tokenEndpointAuthMethod !== "private_key_jwt") return { method: entry.tokenEndpointAuthMethod, clientSecret: entry.clientSecret! };
  const jwk = entry.privateKeyJwk!;
  const alg = typeof jwk.alg === "string" ? jwk.alg : jwk.kty === "EC" ? "ES256" : jwk.kty === "OKP" ? "EdDSA" : "RS256";
  try {
    const key = await importJWK(jwk as JWK, alg);
    if (key instanceof Uint8Array || key.type !== "private") throw new Error("not a private key");
    return { method: "private_key_jwt", privateKey: key, keyId: typeof jwk.kid === "string" ? jwk.kid : undefined };
  } catch {
    throw new KeyConfigError("OIDC_PROVIDERS", `is invalid: ${index}.privateKeyJwk is not a usable private key for ${alg}.`);
  }
}

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
    for (const [index, entry] of result.data.entries()) {
      const { id, displayName, clientId, scopes, optionalScopes, issuer, endpoints, checkUrl, refreshIdleDays, limits } = entry;
      const declared = { ...(refreshIdleDays ? { refreshIdleTtlSec: refreshIdleDays * 86_400 } : {}), ...(limits ? { limits } : {}) };
      adapters.push(await genericOidcAdapter({ id, displayName, clientId, scopes, ...(optionalScopes ? { optionalScopes } : {}), issuer, endpoints, checkUrl, ...declared, clientAuth: await clientAuthOf(entry, index), production: settings.production ?? true, simulatorUrl: settings.simulatorUrl }));
    }
  }
  return new ProviderRegistry(adapters);
}
