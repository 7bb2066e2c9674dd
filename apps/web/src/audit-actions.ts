/**
 * Audit actions, as the database enum spells them: the audit list's filter (a client component)
 * and its zod schema (the server's routers) share this, so it sits below both.
 */
export const AUDIT_ACTIONS = ["CONNECT", "REFRESH", "REVOKE", "DISCONNECT", "CHECK", "TOKEN_READ", "SECRET_WRITE", "KEY_ROTATION", "EXPORT", "SESSION_END", "API_KEY", "API_CALL", "DISABLE", "ENABLE", "UPDATE", "IMPORT"] as const;
