/** Calls per batched tRPC request: the server refuses larger batches, the client's link splits at this size. */
export const MAX_BATCH_SIZE = 10;

/** Audit actions, as the database enum spells them: the list filter and its zod schema share this. */
export const AUDIT_ACTIONS = ["CONNECT", "REFRESH", "REVOKE", "DISCONNECT", "CHECK", "TOKEN_READ", "SECRET_WRITE", "KEY_ROTATION", "EXPORT", "SESSION_END"] as const;
