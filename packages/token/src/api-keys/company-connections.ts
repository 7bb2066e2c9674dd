// The narrow seam between /api/v1 and the token service's connections: a connection named by
// its id, scoped to the caller's company (another company's id is NOT_FOUND, as an unknown one
// is), then its token, read by that id.
import { TokenError } from "@tokenvault/vault";
import type { ConnectionStore } from "../connections/connection-store";
import type { ConnectionFilterInput } from "../connections/connection-settings";
import type { ConnectionUserMetadata, ProviderTenant, TokenStatusCode, ValidToken } from "../types";
import type { ConnectionViews } from "../views/connection-views";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A connection as /api/v1 lists it: what names it, no secret. */
export interface CompanyConnection {
  id: string;
  provider: string;
  displayName: string;
  /** QuickBooks realmId, Xero tenantId; null when the provider has none. */
  externalId: string | null;
  tenants: ProviderTenant[];
  status: TokenStatusCode;
  accessTokenExpiresAt: Date | null;
  connectedAt: Date;
  tags: string[];
  metadata: ConnectionUserMetadata;
  requestedScopes: string[];
  grantedScopes: string[];
  /** Paused by an admin: its token is refused (CONNECTION_DISABLED) until resumed. */
  disabled: boolean;
}

/** The connection an id names within a company. */
export interface ConnectionRef {
  id: string;
  companyId: string;
  provider: string;
}

export interface CompanyConnectionsDeps {
  connections: Pick<ConnectionStore, "find">;
  views: Pick<ConnectionViews, "list">;
  validToken: (connectionId: string, userId: string, context: { ipAddress?: string | null; userAgent?: string | null }) => Promise<ValidToken>;
}

export class CompanyConnections {
  constructor(private readonly deps: CompanyConnectionsDeps) {}

  /** `filter`: as listConnections takes it (every tag, each metadata key=value); malformed: INVALID_INPUT. */
  async list(companyId: string, filter?: ConnectionFilterInput): Promise<CompanyConnection[]> {
    const views = await this.deps.views.list(companyId, filter);
    return views
      .flatMap((v) =>
        v.connectionId !== null && v.connectedAt !== null
          ? [
              {
                id: v.connectionId,
                provider: v.provider,
                displayName: v.name ?? v.displayName,
                externalId: v.externalId,
                tenants: v.tenants,
                status: v.status,
                accessTokenExpiresAt: v.accessTokenExpiresAt,
                connectedAt: v.connectedAt,
                tags: v.tags,
                metadata: v.metadata,
                requestedScopes: v.requestedScopes,
                grantedScopes: v.grantedScopes,
                disabled: v.disabled,
              },
            ]
          : [],
      )
      .sort((a, b) => a.connectedAt.getTime() - b.connectedAt.getTime() || a.id.localeCompare(b.id));
  }

  /** The company's connection with this id, or NOT_FOUND (a malformed id, an unknown one, another company's). */
  async require(companyId: string, connectionId: string): Promise<ConnectionRef> {
    const rows = typeof connectionId === "string" && UUID.test(connectionId) ? await this.deps.connections.find({ connectionId: connectionId.toLowerCase(), companyId }) : [];
    const row = rows[0]?.connection;
    if (!row || row.companyId !== companyId) throw new TokenError("NOT_FOUND", "No such connection.");
    return { id: row.id, companyId: row.companyId, provider: row.provider };
  }

  /** The connection's access token, valid now (refreshed first when due), as getValidToken gives it. */
  async token(companyId: string, connectionId: string, userId: string, context: { ipAddress?: string | null; userAgent?: string | null }): Promise<ValidToken & { connectionId: string }> {
    const ref = await this.require(companyId, connectionId);
    return { ...(await this.deps.validToken(ref.id, userId, context)), connectionId: ref.id };
  }
}
