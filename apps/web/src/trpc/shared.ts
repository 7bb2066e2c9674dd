/** Calls per batched tRPC request: the server refuses larger batches, the client's link splits at this size. */
export const MAX_BATCH_SIZE = 10;
