import { createEnv } from "@t3-oss/env-core";
import { developmentEncryptionKey, envSource, kitEnv, optionalHttpUrl, optionalText, vaultKeyVariables } from "@tokenvault/kit";
import { KeyConfigError, keyRingFromVariables, type KeyRing } from "@tokenvault/vault";
import { z } from "zod";
import type { ClientCredentialsConfig } from "./client-credentials";
import { requireServiceToken, ServiceTokenError } from "./service-token-error";

/** The only place this package reads the environment, on the kit's (runtime mode) and the vault key's variables. */
function readStoreEnv() {
  return createEnv({
    extends: [kitEnv()],
    server: {
      ...vaultKeyVariables,
      // The token-store design's name for the same key.
      TOKEN_STORE_ENCRYPTION_KEY: optionalText,
      // Which backend: unset means the app's own database (embedded or PostgreSQL).
      TOKEN_STORE: z.enum(["memory", "redis", "upstash", "postgres"]).optional(),
      REDIS_URL: optionalText.refine((v) => v === undefined || /^rediss?:\/\/[^\s]+$/.test(v), { message: "must be a redis:// or rediss:// URL" }),
      // A Redis Cluster instead of one Redis: some of its nodes, comma-separated redis:// URLs.
      REDIS_CLUSTER_NODES: optionalText.refine((v) => v === undefined || v.split(",").every((url) => /^rediss?:\/\/[^\s,]+$/.test(url.trim())), {
        message: "must be comma-separated redis:// or rediss:// URLs",
      }),
      UPSTASH_REDIS_REST_URL: optionalHttpUrl,
      UPSTASH_REDIS_REST_TOKEN: optionalText,
    },
    ...envSource("token store", KeyConfigError.fromEnv),
  });
}
type StoreEnv = ReturnType<typeof readStoreEnv>;

let parsedEnv: StoreEnv | undefined;

function readEnv(): StoreEnv {
  parsedEnv ??= readStoreEnv();
  return parsedEnv;
}

export type StoreSettings =
  | { backend: "memory" }
  | { backend: "postgres" }
  | { backend: "redis"; url: string }
  | { backend: "redis"; clusterNodes: string[] }
  | { backend: "upstash"; url: string; token: string };

/** Which backend this process's token store uses, validated: a backend without its settings names the missing variable. */
export function storeSettingsFromEnv(): StoreSettings {
  const env = readEnv();
  switch (env.TOKEN_STORE ?? "postgres") {
    case "memory":
      return { backend: "memory" };
    case "postgres":
      return { backend: "postgres" };
    case "redis":
      if (env.REDIS_CLUSTER_NODES) {
        if (env.REDIS_URL) throw new KeyConfigError("REDIS_CLUSTER_NODES", "and REDIS_URL are both set: set one (a Redis Cluster or one Redis).");
        return { backend: "redis", clusterNodes: env.REDIS_CLUSTER_NODES.split(",").map((url) => url.trim()) };
      }
      if (!env.REDIS_URL) throw new KeyConfigError("REDIS_URL", "is not set: TOKEN_STORE=redis needs it (or REDIS_CLUSTER_NODES for a Redis Cluster).");
      return { backend: "redis", url: env.REDIS_URL };
    case "upstash":
      if (!env.UPSTASH_REDIS_REST_URL) throw new KeyConfigError("UPSTASH_REDIS_REST_URL", "is not set: TOKEN_STORE=upstash needs it.");
      if (!env.UPSTASH_REDIS_REST_TOKEN) throw new KeyConfigError("UPSTASH_REDIS_REST_TOKEN", "is not set: TOKEN_STORE=upstash needs it.");
      return { backend: "upstash", url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN };
  }
}

/** The Redis the tests and benchmarks use when REDIS_URL is unset. */
export function redisUrlForTests(): string {
  return readEnv().REDIS_URL ?? "redis://127.0.0.1:6379";
}

let keyRing: KeyRing | undefined;

/**
 * The key ring the stores seal with: the vault's own key (TOKEN_ENCRYPTION_KEY, or its aliases
 * ENCRYPTION_KEY and TOKEN_STORE_ENCRYPTION_KEY). Never plaintext: without a key the stores
 * refuse to work, except in development or test on the embedded database, where the same
 * generated development key as the token service's is used (the kit's developmentEncryptionKey).
 */
export function storeKeyRingFromEnv(): KeyRing {
  if (keyRing) return keyRing;
  const env = readEnv();
  keyRing = keyRingFromVariables(
    {
      TOKEN_ENCRYPTION_KEY: env.TOKEN_ENCRYPTION_KEY,
      TOKEN_ENCRYPTION_KEYS_PREVIOUS: env.TOKEN_ENCRYPTION_KEYS_PREVIOUS,
      aliases: { TOKEN_STORE_ENCRYPTION_KEY: env.TOKEN_STORE_ENCRYPTION_KEY, ENCRYPTION_KEY: env.ENCRYPTION_KEY },
    },
    {
      fallback: developmentEncryptionKey,
      warn: (message) => console.warn(message),
    },
  );
  return keyRing;
}

// The service token (service-token.ts). The token variables are not trimmed: whitespace in a
// token is refused, not cut. Empty means unset, as everywhere in the project.
function readServiceVariables(source?: Record<string, string | undefined>) {
  return createEnv({
    server: {
      TOKENVAULT_SERVICE_TOKEN: z.string().optional(),
      // The design documents' name, accepted as an alias; the project's name wins.
      HEMERA_SERVICE_TOKEN: z.string().optional(),
      TOKENVAULT_SERVICE_TOKEN_ENDPOINT: optionalText,
      TOKENVAULT_SERVICE_CLIENT_ID: optionalText,
      TOKENVAULT_SERVICE_CLIENT_SECRET: optionalText,
      TOKENVAULT_SERVICE_SCOPE: optionalText,
      TOKENVAULT_SERVICE_AUDIENCE: optionalText,
    },
    ...envSource("service token", (_variables, message) => configError(message), source),
  });
}

export interface ServiceTokenEnv {
  /** A pre-provisioned token, and the variable it came from (to name in messages, never the value). */
  override?: { token: string; variable: "TOKENVAULT_SERVICE_TOKEN" | "HEMERA_SERVICE_TOKEN" };
  /** The default minter's settings, when the endpoint and client are configured. */
  clientCredentials?: ClientCredentialsConfig;
  /** Said once at start-up (names only). */
  warnings: string[];
}

const configError = (detail: string) => new ServiceTokenError("CONFIGURATION", detail);

/** Validates the service token variables of `source`; errors name the variable, never its value. */
export function parseServiceTokenEnv(source: Record<string, string | undefined>): ServiceTokenEnv {
  return serviceTokenEnvFrom(readServiceVariables(source));
}

function serviceTokenEnvFrom(env: ReturnType<typeof readServiceVariables>): ServiceTokenEnv {
  const result: ServiceTokenEnv = { warnings: [] };
  const own = env.TOKENVAULT_SERVICE_TOKEN || undefined;
  const alias = env.HEMERA_SERVICE_TOKEN || undefined;
  if (own !== undefined) result.override = { token: requireServiceToken("TOKENVAULT_SERVICE_TOKEN", own), variable: "TOKENVAULT_SERVICE_TOKEN" };
  else if (alias !== undefined) result.override = { token: requireServiceToken("HEMERA_SERVICE_TOKEN", alias), variable: "HEMERA_SERVICE_TOKEN" };
  if (own !== undefined && alias !== undefined && own !== alias) {
    result.warnings.push("TOKENVAULT_SERVICE_TOKEN and HEMERA_SERVICE_TOKEN are both set and differ; TOKENVAULT_SERVICE_TOKEN is used");
  }
  const { TOKENVAULT_SERVICE_TOKEN_ENDPOINT: endpoint, TOKENVAULT_SERVICE_CLIENT_ID: clientId, TOKENVAULT_SERVICE_CLIENT_SECRET: clientSecret } = env;
  if ((clientId === undefined) !== (clientSecret === undefined)) throw configError("TOKENVAULT_SERVICE_CLIENT_ID and TOKENVAULT_SERVICE_CLIENT_SECRET must be set together");
  if (clientId !== undefined && endpoint === undefined) throw configError("TOKENVAULT_SERVICE_TOKEN_ENDPOINT is required with TOKENVAULT_SERVICE_CLIENT_ID");
  if (endpoint !== undefined && clientId === undefined) throw configError("TOKENVAULT_SERVICE_CLIENT_ID and TOKENVAULT_SERVICE_CLIENT_SECRET are required with TOKENVAULT_SERVICE_TOKEN_ENDPOINT");
  if (endpoint !== undefined && (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol))) throw configError("TOKENVAULT_SERVICE_TOKEN_ENDPOINT must be an http(s) URL");
  for (const name of ["TOKENVAULT_SERVICE_SCOPE", "TOKENVAULT_SERVICE_AUDIENCE"] as const) {
    if (env[name] !== undefined && clientId === undefined) throw configError(`${name} is set but TOKENVAULT_SERVICE_CLIENT_ID is not`);
  }
  if (endpoint !== undefined && clientId !== undefined && clientSecret !== undefined) {
    result.clientCredentials = { tokenEndpoint: endpoint, clientId, clientSecret, scope: env.TOKENVAULT_SERVICE_SCOPE, audience: env.TOKENVAULT_SERVICE_AUDIENCE };
  }
  return result;
}

let serviceEnv: { value: ServiceTokenEnv } | { error: unknown } | undefined;

/** The service token variables of the process, parsed once (a malformed one fails every time, the same way). */
export function serviceTokenEnv(): ServiceTokenEnv {
  if (!serviceEnv) {
    try {
      serviceEnv = { value: serviceTokenEnvFrom(readServiceVariables()) };
    } catch (error) {
      serviceEnv = { error };
    }
  }
  if ("error" in serviceEnv) throw serviceEnv.error;
  return serviceEnv.value;
}
