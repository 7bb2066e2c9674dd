import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest, startHttpApp, superjsonBody, type HttpApp } from "./http-app";

const MB = 1024 * 1024;

/** `total` bytes of a JSON body in 64 KB chunks, produced as they are sent (never held whole). */
function* paddedBody(total: number): Generator<Buffer> {
  const head = Buffer.from('{"json":{"provider":"quickbooks","pad":"');
  yield head;
  const chunk = Buffer.alloc(64 * 1024, "x");
  for (let sent = head.length; sent < total; sent += chunk.length) yield chunk;
  yield Buffer.from('"}}');
}

// The default limit is 64 KB (MAX_REQUEST_BODY_BYTES). A body over it is refused with 413
// before it is read whole: at once when Content-Length says so, as soon as the count passes
// the limit when the body is chunked.
describe("request body limit on the production build", () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await startHttpApp("web-body-limit");
  });
  afterAll(() => app?.close());

  const post = async (path: string, body: Iterable<Buffer> | Buffer, headers: Record<string, string> = {}, method = "POST") => {
    // Signed in before the clock starts: only the refusal is timed.
    const cookie = await app.cookie("alice");
    const started = Date.now();
    const response = await rawRequest(app.url, {
      method,
      path,
      headers: { "content-type": "application/json", cookie, ...headers },
      body,
    });
    return { response, ms: Date.now() - started };
  };

  it("refuses a 5 MB body that declares its length, at once", async () => {
    const { response, ms } = await post("/api/trpc/connection.check", Buffer.from(superjsonBody({ provider: "quickbooks", pad: "x".repeat(5 * MB) })));
    expect("status" in response && response.status).toBe(413);
    if ("status" in response) {
      const { error } = JSON.parse(response.body) as { error: { json: { message: string; data: { code: string } } } };
      expect(error.json).toMatchObject({ message: "The request is too large.", data: { code: "PAYLOAD_TOO_LARGE" } });
    }
    expect(ms).toBeLessThan(2_000);
  });

  // Retried, not loosened: the server answers 413 and closes while the client is still sending,
  // and a TCP reset can reach the client before it has read that answer (seen once in five CI
  // runs). A lingering close on the server would remove the race; until then a retry reruns it.
  it("cuts off a 5 MB chunked body without Content-Length once it passes the limit", { retry: 2 }, async () => {
    const { response, ms } = await post("/api/trpc/connection.check", paddedBody(5 * MB), { "transfer-encoding": "chunked" });
    expect("status" in response && response.status).toBe(413);
    expect(ms).toBeLessThan(2_000);
    // The rest is never read: the connection closes rather than carry the next request behind it.
    expect("status" in response && response.headers.connection).toBe("close");
  });

  it("refuses a batch whose body is over the limit, and a route handler's", async () => {
    const batch = Buffer.from(JSON.stringify({ 0: { json: { provider: "quickbooks", pad: "x".repeat(100 * 1024) } } }));
    const { response } = await post("/api/trpc/connection.check?batch=1", batch);
    expect("status" in response && response.status).toBe(413);
    // Route handlers here are GETs; one sent a body anyway is refused the same way.
    const { response: exported } = await post("/api/audit/export", Buffer.alloc(MB, "x"), { "content-length": String(MB) }, "GET");
    expect("status" in exported && exported.status).toBe(413);
  });

  it("still serves a request under the limit, chunked or not", async () => {
    const small = Buffer.from(superjsonBody({ provider: "quickbooks", pad: "x".repeat(32 * 1024) }));
    for (const body of [small, [small]]) {
      const { response } = await post("/api/trpc/connection.check", body);
      // Not connected: the body was read and the procedure ran.
      expect("status" in response && [response.status, (JSON.parse(response.body) as { error: { json: { message: string } } }).error.json.message]).toEqual([
        404,
        "This provider is not connected.",
      ]);
    }
    expect((await app.get("/api/trpc/connection.list", { userId: "alice" })).status).toBe(200);
  });
});
