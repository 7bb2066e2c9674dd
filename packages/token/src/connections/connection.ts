import type { Connection, OAuthGrant, TokenKind, TokenSecret } from "@tokenvault/db";
import type { ProviderTenant } from "../types";

/** A grant row with its sealed secrets: what the refresher locks, fences and refreshes. */
export type GrantWithSecrets = OAuthGrant & { secrets: TokenSecret[] };

/** A connection (what a grant reaches) with its grant: what a token read is answered from. */
export interface ConnectionWithGrant {
  connection: Connection;
  grant: GrantWithSecrets;
}

export interface ConnectionMetadata {
  /** Every organisation the consent granted (Xero), whether or not each became a connection. */
  tenants?: ProviderTenant[];
  scope?: string;
  /** When the refresh token value last changed, for the provider's grace window. */
  refreshTokenRotatedAt?: string;
  /** When the grant ends whatever is refreshed (Intuit's 5-year cap), ISO, when the provider said. */
  refreshTokenHardExpiresAt?: string;
  /** Imported grants: the non-secret facts the importing system gave (tokenService.importConnection's `metadata`). */
  importedMetadata?: Record<string, string | number | boolean | null>;
}

export function metadataOf(grant: Pick<OAuthGrant, "metadata">): ConnectionMetadata {
  const value = grant.metadata;
  return value && typeof value === "object" && !Array.isArray(value) ? value : {};
}

export function secretOf(grant: GrantWithSecrets, kind: TokenKind): TokenSecret | undefined {
  return grant.secrets.find((s) => s.kind === kind);
}
