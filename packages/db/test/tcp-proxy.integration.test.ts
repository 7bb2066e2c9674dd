// The fault tests' TCP proxy, against an echo server of the test's own on loopback.
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TcpProxy } from "../src/tcp-proxy";

let echo: Server;
let echoPort: number;

beforeAll(async () => {
  echo = createServer((socket) => {
    socket.on("error", () => {}); // the proxy resets its side when a test cuts a connection
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoPort = (echo.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

/** Connects to the proxy; resolves with the socket and a reader of everything received. */
async function client(proxy: TcpProxy): Promise<{ socket: Socket; received: () => string; closed: Promise<string> }> {
  const socket = connect({ host: "127.0.0.1", port: proxy.port });
  let data = "";
  socket.on("data", (chunk: Buffer) => (data += chunk.toString()));
  const closed = new Promise<string>((resolve) => {
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    socket.on("close", () => resolve("closed"));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, received: () => data, closed };
}

const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));
async function receivedWithin(read: () => string, text: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (read() !== text) {
    if (Date.now() > deadline) throw new Error(`received ${JSON.stringify(read())}, expected ${JSON.stringify(text)}`);
    await settle(10);
  }
}

describe("TcpProxy", () => {
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await TcpProxy.start({ targetHost: "127.0.0.1", targetPort: echoPort });
  });
  afterAll(() => proxy.close());

  it("passes traffic both ways, and rewrites a URL to itself", async () => {
    const c = await client(proxy);
    c.socket.write("hello");
    await receivedWithin(c.received, "hello");
    expect(proxy.urlFor("postgresql://u@db.example:5432/name?x=1")).toBe(`postgresql://u@127.0.0.1:${proxy.port}/name?x=1`);
    c.socket.destroy();
  });

  it("cuts open connections; new ones pass", async () => {
    const c = await client(proxy);
    c.socket.write("a");
    await receivedWithin(c.received, "a");
    proxy.cutAll();
    expect(await c.closed).toMatch(/ECONNRESET|closed/);
    const next = await client(proxy);
    next.socket.write("b");
    await receivedWithin(next.received, "b");
    next.socket.destroy();
  });

  it("refuses new connections when down, and passes again after restore", async () => {
    proxy.down();
    try {
      const socket = connect({ host: "127.0.0.1", port: proxy.port });
      socket.on("data", () => expect.fail("a refused connection received data"));
      const outcome = await new Promise<string>((resolve) => {
        socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
        socket.on("close", () => resolve("closed"));
      });
      expect(outcome).toMatch(/ECONNRESET|closed/);
    } finally {
      proxy.restore();
    }
    const c = await client(proxy);
    c.socket.write("back");
    await receivedWithin(c.received, "back");
    c.socket.destroy();
  });

  it("black hole: open and new connections stay open and silent", async () => {
    const open = await client(proxy);
    proxy.setMode("blackhole");
    try {
      const fresh = await client(proxy);
      open.socket.write("lost");
      fresh.socket.write("lost");
      await settle(300);
      expect([open.received(), fresh.received(), open.socket.destroyed, fresh.socket.destroyed]).toEqual(["", "", false, false]);
      fresh.socket.destroy();
    } finally {
      proxy.restore();
    }
    open.socket.write("after");
    await receivedWithin(open.received, "after");
    open.socket.destroy();
  });

  it("delays traffic and keeps its order when the delay shrinks", async () => {
    const c = await client(proxy);
    proxy.setDelay(300);
    c.socket.write("1");
    await settle(50);
    proxy.setDelay(0);
    c.socket.write("2");
    await settle(100);
    expect(c.received()).toBe(""); // the first chunk is still delayed, and the second waits behind it
    await receivedWithin(c.received, "12");
    c.socket.destroy();
  });
});
