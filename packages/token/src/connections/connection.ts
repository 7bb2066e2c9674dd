import type { Connection, TokenKind, TokenSecret } from "@tokenvault/db";
import type { ProviderTenant } from "../types";

/** A connection row with its sealed secrets, as every module reads it. */
export type ConnectionWithSecrets = Connection & { secrets: TokenSecret[] };

export interface ConnectionMetadata {
  tenants?: ProviderTenant[];
  scope?: string;
  /** When the refresh token value last changed, for the provider's grace window. */
  refreshTokenRotatedAt?: string;
  /** When the grant ends whatever is refreshed (Intuit's 5-year cap), ISO, when the provider said. */
  refreshTokenHardExpiresAt?: string;
}

export function metadataOf(connection: Pick<Connection, "metadata">): ConnectionMetadata {
  const value = connection.metadata;
  return value && typeof value === "object" && !Array.isArray(value) ? value : {};
}

export function secretOf(connection: ConnectionWithSecrets, kind: TokenKind): TokenSecret | undefined {
  return connection.secrets.find((s) => s.kind === kind);
}
