import { z } from "zod";
import { dbEnv, loadOrCreateDevSecret, loadRootEnvFile } from "@tokenvault/db";
import { KeyConfigError, generateKeyMaterial, keyRingFromSettings, type KeyRing } from "@tokenvault/vault";

/** The only place this package reads process.env. */
const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === "" ? undefined : v));
const optionalUrl = (name: string) =>
  optionalText.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v), { message: `${name} must be an http(s) URL` });

const schema = z.object({
  TOKEN_ENCRYPTION_KEY: z.string().optional(),
  TOKEN_ENCRYPTION_KEYS_PREVIOUS: z.string().optional(),
  NODE_ENV: z.string().optional(),
  QUICKBOOKS_CLIENT_ID: optionalText,
  QUICKBOOKS_CLIENT_SECRET: optionalText,
  QUICKBOOKS_ENVIRONMENT: z.enum(["sandbox", "production"]).default("sandbox"),
  XERO_CLIENT_ID: optionalText,
  XERO_CLIENT_SECRET: optionalText,
  OIDC_PROVIDERS: optionalText,
  PROVIDER_SIMULATOR_URL: optionalUrl("PROVIDER_SIMULATOR_URL"),
  APP_URL: optionalUrl("APP_URL"),
  PORT: z.coerce.number().int().min(1).max(65535).optional(),
  TOKEN_REFRESH_MARGIN_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
});

function readEnv() {
  loadRootEnvFile();
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    // Name the variable, never echo its value.
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new KeyConfigError(String(parsed.error.issues[0]?.path[0] ?? "environment"), `is invalid (${problems}).`);
  }
  return parsed.data;
}

export interface ProviderSettings {
  production: boolean;
  quickbooks: { clientId: string; clientSecret: string; environment: "sandbox" | "production" } | null;
  xero: { clientId: string; clientSecret: string } | null;
  /** Where providers without credentials are simulated (development and tests), or null. */
  simulatorUrl: string | null;
  /** JSON of generic OAuth / OIDC providers (see README). */
  oidcProvidersJson: string | undefined;
  appUrl: string;
  refreshMarginMs: number;
}

/** Provider credentials and URLs. In production a provider without credentials is not offered. */
export function providerSettingsFromEnv(): ProviderSettings {
  const env = readEnv();
  const production = env.NODE_ENV === "production";
  const pair = (id: string | undefined, secret: string | undefined, name: string) => {
    if (!!id !== !!secret) throw new KeyConfigError(`${name}_CLIENT_${id ? "SECRET" : "ID"}`, `is missing: set both ${name}_CLIENT_ID and ${name}_CLIENT_SECRET, or neither.`);
    return id && secret ? { clientId: id, clientSecret: secret } : null;
  };
  const qb = pair(env.QUICKBOOKS_CLIENT_ID, env.QUICKBOOKS_CLIENT_SECRET, "QUICKBOOKS");
  return {
    production,
    quickbooks: qb ? { ...qb, environment: env.QUICKBOOKS_ENVIRONMENT } : null,
    xero: pair(env.XERO_CLIENT_ID, env.XERO_CLIENT_SECRET, "XERO"),
    simulatorUrl: (env.PROVIDER_SIMULATOR_URL ?? (production ? null : "http://127.0.0.1:4010"))?.replace(/\/+$/, "") ?? null,
    oidcProvidersJson: env.OIDC_PROVIDERS,
    appUrl: (env.APP_URL ?? `http://localhost:${env.PORT ?? 3000}`).replace(/\/+$/, ""),
    refreshMarginMs: env.TOKEN_REFRESH_MARGIN_SECONDS * 1000,
  };
}

/**
 * The vault's key ring, validated: a missing or malformed key throws KeyConfigError naming
 * the variable. One convenience, for a fresh clone only: outside production and on the
 * embedded database, a missing TOKEN_ENCRYPTION_KEY is generated once into .data/.
 */
export function keyRingFromEnv(): KeyRing {
  const env = readEnv();
  let current = env.TOKEN_ENCRYPTION_KEY;
  if ((current === undefined || current.trim() === "") && env.NODE_ENV !== "production" && !dbEnv().databaseUrl) {
    current = loadOrCreateDevSecret(
      "dev-encryption-key",
      () => generateKeyMaterial().hex,
      (file) => console.warn(`TOKEN_ENCRYPTION_KEY is not set: generated a development key in ${file} (embedded database only).`),
    );
  }
  if (current === undefined || current.trim() === "") {
    throw new KeyConfigError(
      "TOKEN_ENCRYPTION_KEY",
      "is not set: the vault refuses to store or read secrets without it. Generate one with `pnpm token:generate-key`.",
    );
  }
  return keyRingFromSettings({ current, previous: env.TOKEN_ENCRYPTION_KEYS_PREVIOUS });
}
