import { TRPCError } from "@trpc/server";

const tooLarge = () => new TRPCError({ code: "PAYLOAD_TOO_LARGE", message: "The request is too large." });

/** Refuses a request whose Content-Length is over the limit, without reading a byte of it. */
export function refuseDeclaredOversize(request: Request, maxBytes: number): void {
  const declared = request.headers.get("content-length");
  if (declared !== null && !(/^\d+$/.test(declared) && Number(declared) <= maxBytes)) throw tooLarge();
}

/**
 * The request with its body capped at maxBytes, for tRPC: reading the body fails with
 * PAYLOAD_TOO_LARGE (tRPC answers 413 in its own shape) at once when Content-Length is over the
 * limit, and as soon as the bytes counted pass it when the body is chunked. The body is read as
 * it is consumed, so no more than the limit (and one chunk) is ever held. `refused()` says
 * whether it was refused: the answer must then close the connection (see closeConnection).
 */
export function limitBody(request: Request, maxBytes: number): { request: Request; refused: () => boolean } {
  if (!request.body) return { request, refused: () => false };
  let refused = false;
  let body: ReadableStream<Uint8Array>;
  try {
    refuseDeclaredOversize(request, maxBytes);
    body = counted(request.body, maxBytes, () => (refused = true));
  } catch (error) {
    refused = true;
    body = new ReadableStream({ start: (controller) => controller.error(error) });
  }
  // `duplex` is required by Node's fetch for a stream body; the DOM typings do not know it yet.
  const init: RequestInit & { duplex: "half" } = { method: request.method, headers: request.headers, body, signal: request.signal, duplex: "half" };
  return { request: new Request(request.url, init), refused: () => refused };
}

/**
 * Headers of an answer to a refused body: the rest of it is never read, so the connection cannot
 * carry another request (the next one would wait behind the unread bytes); Node closes it once
 * the answer is sent instead of reading megabytes it will throw away.
 */
export const closeConnection = { connection: "close" } as const;

function counted(source: ReadableStream<Uint8Array>, maxBytes: number, onRefused: () => void): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let received = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      received += value.byteLength;
      if (received > maxBytes) {
        // Left unread, not cancelled: cancelling destroys the socket before the 413 is sent.
        onRefused();
        return controller.error(tooLarge());
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
