import { randomBytes } from "node:crypto";
import type { JWK } from "jose";

export type Provider = "intuit" | "xero" | "oidc";
export const PROVIDERS: readonly Provider[] = ["intuit", "xero", "oidc"];

/** Dev clients registered on every start (and after a reset), so nothing needs setting up for local work. */
export const DEFAULT_CLIENTS = {
  intuit: { clientId: "sim-intuit-client", clientSecret: "sim-intuit-secret" },
  xero: { clientId: "sim-xero-client", clientSecret: "sim-xero-secret" },
  oidc: { clientId: "sim-oidc-client", clientSecret: "sim-oidc-secret" },
} as const satisfies Record<Provider, { clientId: string; clientSecret: string }>;

export const INTUIT_CLIENT_ID = DEFAULT_CLIENTS.intuit.clientId;
export const INTUIT_CLIENT_SECRET = DEFAULT_CLIENTS.intuit.clientSecret;
export const XERO_CLIENT_ID = DEFAULT_CLIENTS.xero.clientId;
export const XERO_CLIENT_SECRET = DEFAULT_CLIENTS.xero.clientSecret;
export const OIDC_CLIENT_ID = DEFAULT_CLIENTS.oidc.clientId;
export const OIDC_CLIENT_SECRET = DEFAULT_CLIENTS.oidc.clientSecret;

export interface ClientRecord {
  provider: Provider;
  clientId: string;
  /** Undefined for a public client (PKCE, no secret), which Xero and the generic provider allow. */
  clientSecret: string | undefined;
  /** Exact redirect URIs. Empty means "any http(s) URI on localhost or 127.0.0.1", the dev default. */
  redirectUris: string[];
  name: string;
  /** Lifetime of every access token issued to this client (any grant); default the provider's access token lifetime. */
  accessTokenTtlSec: number | undefined;
  /** Public keys for private_key_jwt client authentication (RFC 7523); none: the client cannot use it. */
  jwks: JWK[] | undefined;
  /** RFC 7591 token_endpoint_auth_method: when set, the only client authentication accepted. */
  tokenEndpointAuthMethod: "client_secret_basic" | "client_secret_post" | "private_key_jwt" | undefined;
  /**
   * Its access tokens carry whole-second times, as a JWT's iat and exp do at many third-party
   * providers: one issued at 12:00:00.900 for 6 s dies at 12:00:06.000, while expires_in says 6.
   */
  wholeSecondExpiry: boolean;
}

export interface RegisterClientInput {
  provider: Provider;
  clientId?: string;
  clientSecret?: string;
  public?: boolean;
  redirectUris?: string[];
  name?: string;
  accessTokenTtlSec?: number;
  jwks?: JWK[];
  tokenEndpointAuthMethod?: "client_secret_basic" | "client_secret_post" | "private_key_jwt";
  wholeSecondExpiry?: boolean;
}

function isLoopbackUri(uri: string): boolean {
  try {
    const url = new URL(uri);
    return (url.protocol === "http:" || url.protocol === "https:") && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) && url.hash === "";
  } catch {
    return false;
  }
}

export class ClientRegistry {
  private readonly clients = new Map<string, ClientRecord>();
  /** jti of accepted client assertions until they expire: one assertion authenticates once (RFC 7523 §3). */
  readonly usedAssertionIds = new Map<string, number>();

  constructor() {
    this.reset();
  }

  private key(provider: Provider, clientId: string): string {
    return `${provider}\u0000${clientId}`;
  }

  reset(): void {
    this.clients.clear();
    this.usedAssertionIds.clear();
    for (const provider of Object.keys(DEFAULT_CLIENTS) as Provider[]) {
      const { clientId, clientSecret } = DEFAULT_CLIENTS[provider];
      this.clients.set(this.key(provider, clientId), { provider, clientId, clientSecret, redirectUris: [], name: `Simulator dev app (${provider})`, accessTokenTtlSec: undefined, jwks: undefined, tokenEndpointAuthMethod: undefined, wholeSecondExpiry: false });
    }
  }

  register(input: RegisterClientInput): ClientRecord {
    const clientId = input.clientId ?? `sim-${input.provider}-${randomBytes(6).toString("hex")}`;
    if (input.public && input.provider === "intuit") throw new Error("Intuit has no public clients: a client secret is required");
    const ttl = input.accessTokenTtlSec;
    if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 1 && ttl <= 86_400)) throw new Error("accessTokenTtlSec must be an integer from 1 to 86400");
    const record: ClientRecord = {
      provider: input.provider,
      clientId,
      clientSecret: input.public ? undefined : (input.clientSecret ?? randomBytes(18).toString("base64url")),
      redirectUris: [...(input.redirectUris ?? [])],
      name: input.name ?? clientId,
      accessTokenTtlSec: ttl,
      jwks: input.jwks?.map((key) => ({ ...key })),
      tokenEndpointAuthMethod: input.tokenEndpointAuthMethod,
      wholeSecondExpiry: input.wholeSecondExpiry ?? false,
    };
    for (const uri of record.redirectUris) {
      try {
        new URL(uri);
      } catch {
        throw new Error(`redirect URI "${uri}" is not an absolute URL`);
      }
    }
    this.clients.set(this.key(input.provider, clientId), record);
    return record;
  }

  get(provider: Provider, clientId: string | undefined): ClientRecord | undefined {
    return clientId === undefined ? undefined : this.clients.get(this.key(provider, clientId));
  }

  list(): ClientRecord[] {
    return [...this.clients.values()];
  }

  redirectAllowed(client: ClientRecord, redirectUri: string): boolean {
    if (client.redirectUris.length === 0) return isLoopbackUri(redirectUri);
    return client.redirectUris.includes(redirectUri);
  }
}
