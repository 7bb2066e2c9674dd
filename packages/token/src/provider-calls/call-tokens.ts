// The seam between provider calls and the token service: which connection a call names, its
// current token, a forced refresh for a refused one, and marking it for reauthorization. Small
// on purpose: when connections get ids of their own (issue 24) only `tokenServiceCallTokens` changes.
import { TokenError } from "@tokenvault/vault";
import type { ValidToken } from "../types";

/** A connection, by id (ConnectionStore.loadById) or, as today, by company and provider. */
export type ConnectionRef = string | { connectionId: string } | { companyId: string; provider: string };

/** A reference resolved to what the token service reads by today. */
export interface ResolvedConnection {
  companyId: string;
  provider: string;
}

export interface CallTokens {
  resolve(ref: ConnectionRef): Promise<ResolvedConnection>;
  /** The current token (refreshed first when due), as getValidToken gives it. */
  getToken(connection: ResolvedConnection, userId: string): Promise<ValidToken>;
  /**
   * The provider refused `rejectedToken`: a newer token. Refreshes only while the stored token is
   * still the refused one (under the lease), so a herd of 401s makes one provider refresh.
   */
  forceRefresh(connection: ResolvedConnection, userId: string, rejectedToken: string): Promise<ValidToken>;
  /** A freshly refreshed token was refused too: the connection needs a person to reconnect it. */
  markForReauthorization(connection: ResolvedConnection, reason: string): Promise<void>;
}

/** What tokenServiceCallTokens needs of the service: its existing paths, nothing new. */
export interface TokenServicePaths {
  getValidToken(companyId: string, provider: string, userId: string, options?: { forceRefresh?: boolean; rejectedAccessToken?: string }): Promise<ValidToken>;
  /** The connection row by id (company and provider it belongs to), or null. */
  connectionById(connectionId: string): Promise<{ companyId: string; provider: string } | null>;
  /** Marks the connection's refresh token invalid (markTokenInvalid on its id): only a reconnect helps. */
  invalidateGrant(companyId: string, provider: string, reason: string): Promise<void>;
}

/** CallTokens over the token service. An id's company and provider never change: kept once looked up. */
export function tokenServiceCallTokens(service: TokenServicePaths): CallTokens {
  const byId = new Map<string, ResolvedConnection>();
  return {
    async resolve(ref) {
      if (typeof ref === "object" && ref !== null && "companyId" in ref) return { companyId: ref.companyId, provider: ref.provider };
      const id = typeof ref === "string" ? ref : ref?.connectionId;
      if (typeof id !== "string" || id === "") throw new TokenError("INVALID_INPUT", "A connection id, or a company and provider, is required.");
      const known = byId.get(id);
      if (known) return known;
      const row = await service.connectionById(id);
      if (!row) throw new TokenError("NO_TOKEN", "No such connection.");
      const resolved = { companyId: row.companyId, provider: row.provider };
      if (byId.size > 10_000) byId.clear(); // bounded: a lookup is one cheap query
      byId.set(id, resolved);
      return resolved;
    },
    getToken: (c, userId) => service.getValidToken(c.companyId, c.provider, userId),
    forceRefresh: (c, userId, rejectedToken) => service.getValidToken(c.companyId, c.provider, userId, { forceRefresh: true, rejectedAccessToken: rejectedToken }),
    markForReauthorization: (c, reason) => service.invalidateGrant(c.companyId, c.provider, reason),
  };
}
