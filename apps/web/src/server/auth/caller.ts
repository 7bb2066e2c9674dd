export type Role = "admin" | "member";

/** Who is calling: resolved from the request by a SessionResolver. */
export interface Caller {
  userId: string;
  companyId: string;
  role: Role;
  name: string;
  /** The handle of the Tokenvault session this request came with (the sessions page marks it); absent for a host's own auth. */
  sessionHandle?: string;
}

/**
 * Pluggable: a host app resolves its own users (Auth.js, Clerk, ...) by implementing this and
 * passing it to createContext. The shipped default reads Tokenvault's server-side session
 * (session.ts). `responseHeaders` is where a resolver may append a Set-Cookie (a renewed
 * session); it is absent where the response cannot carry one (a page render).
 */
export type SessionResolver = (request: { headers: Headers; responseHeaders?: Headers }) => Promise<Caller | null>;
