export type Role = "admin" | "member";

/** Who is calling: resolved from the request by a SessionResolver. */
export interface Caller {
  userId: string;
  companyId: string;
  role: Role;
  name: string;
}

/**
 * Pluggable: a host app resolves its own users (Auth.js, Clerk, ...) by implementing this and
 * passing it to createContext. The shipped default reads Tokenvault's signed session cookie.
 */
export type SessionResolver = (request: { headers: Headers }) => Promise<Caller | null>;
