// The seam between provider calls and the token service: which connection a call names, its
// current token, a forced refresh for a refused one, and marking it for reauthorization. Small
// on purpose: only `tokenServiceCallTokens` knows the service's paths.
import { TokenError } from "@tokenvault/vault";
import type { ConnectionSelector } from "../connections/connection-store";
import type { ValidToken } from "../types";

/** A connection: its id, or a company and provider (with a realm, tenant or identifier when it has several). */
export type ConnectionRef = string | ConnectionSelector;

/** A reference resolved to the connection it names. */
export interface ResolvedConnection {
  connectionId: string;
  companyId: string;
  provider: string;
  /** The realm / organisation it calls (whose budgets it spends), null when the provider has none. */
  externalId: string | null;
}

export interface CallTokens {
  resolve(ref: ConnectionRef): Promise<ResolvedConnection>;
  /**
   * The current token (refreshed first when due), as getValidToken gives it, for a reference not
   * yet resolved: the token names its connection, and a warm token cache answers without the
   * database (resolving first cost a query per call).
   */
  getToken(ref: ConnectionRef, userId: string): Promise<ValidToken>;
  /**
   * The provider refused `rejectedToken`: a newer token. Refreshes only while the stored token is
   * still the refused one (under the lease), so a herd of 401s makes one provider refresh.
   */
  forceRefresh(connection: ResolvedConnection, userId: string, rejectedToken: string): Promise<ValidToken>;
  /** A freshly refreshed token was refused too: the connection's grant needs a person to reconnect it. */
  markForReauthorization(connection: ResolvedConnection, reason: string): Promise<void>;
}

/** What tokenServiceCallTokens needs of the service: its existing paths, nothing new. */
export interface TokenServicePaths {
  getValidToken(target: ConnectionSelector, options?: { userId?: string; forceRefresh?: boolean; rejectedAccessToken?: string }): Promise<ValidToken>;
  /** The connection a selector names (NOT_FOUND, NO_TOKEN or AMBIGUOUS_CONNECTION otherwise). */
  resolveConnection(selector: ConnectionSelector): Promise<{ id: string; companyId: string; provider: string; externalId: string | null }>;
  /** Marks the grant serving the connection invalid (its refresh token): only a reconnect helps. */
  invalidateGrant(connectionId: string, reason: string): Promise<void>;
}

/** A reference as the service's selector; an empty or non-string id is refused before any lookup. */
function selectorOf(ref: ConnectionRef): ConnectionSelector {
  if (typeof ref === "object" && ref !== null && !("connectionId" in ref)) return ref;
  const id = typeof ref === "string" ? ref : ref?.connectionId;
  if (typeof id !== "string" || id === "") throw new TokenError("INVALID_INPUT", "A connection id, or a company and provider, is required.");
  return typeof ref === "object" && ref.companyId !== undefined ? { connectionId: id, companyId: ref.companyId } : { connectionId: id };
}

/** The connection a token was read for (ValidToken names it). */
export const connectionOfToken = (token: ValidToken): ResolvedConnection => ({ connectionId: token.connectionId, companyId: token.companyId, provider: token.provider, externalId: token.externalId });

const resolvedOf = (row: { id: string; companyId: string; provider: string; externalId: string | null }): ResolvedConnection => ({
  connectionId: row.id,
  companyId: row.companyId,
  provider: row.provider,
  externalId: row.externalId || null, // "" as the token reader reads it: no tenant
});

/** CallTokens over the token service. An id's company and provider never change: kept once looked up. */
export function tokenServiceCallTokens(service: TokenServicePaths): CallTokens {
  const byId = new Map<string, ResolvedConnection>();
  return {
    async resolve(ref) {
      if (typeof ref === "object" && ref !== null && !("connectionId" in ref)) {
        const row = await service.resolveConnection(ref);
        return resolvedOf(row);
      }
      const id = typeof ref === "string" ? ref : ref?.connectionId;
      if (typeof id !== "string" || id === "") throw new TokenError("INVALID_INPUT", "A connection id, or a company and provider, is required.");
      const scope = typeof ref === "object" ? ref.companyId : undefined;
      const known = byId.get(id);
      if (known && (scope === undefined || known.companyId === scope)) return known;
      const row = await service.resolveConnection(scope === undefined ? { connectionId: id } : { connectionId: id, companyId: scope });
      const resolved = resolvedOf(row);
      if (byId.size > 10_000) byId.clear(); // bounded: a lookup is one cheap query
      byId.set(id, resolved);
      return resolved;
    },
    getToken: (ref, userId) => service.getValidToken(selectorOf(ref), { userId }),
    forceRefresh: (c, userId, rejectedToken) => service.getValidToken({ connectionId: c.connectionId }, { userId, forceRefresh: true, rejectedAccessToken: rejectedToken }),
    markForReauthorization: (c, reason) => service.invalidateGrant(c.connectionId, reason),
  };
}
