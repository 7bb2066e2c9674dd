import { createServer, connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { IoWatermark } from "./io-watermark";

const block = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until); // a long synchronous task
};

describe("IoWatermark", () => {
  it("is not recent after the loop was held up, and recent again once a poll has run", async () => {
    const io = new IoWatermark(20);
    io.start();
    expect(io.recent).toBe(true);
    block(30);
    expect(io.recent).toBe(false);
    await io.nextPoll();
    expect(io.recent).toBe(true);
    io.stop();
  });

  it("nextPoll resolves only after bytes that reached a socket while the loop was held up have been read", async () => {
    // A socket pair on loopback: what the peer writes during the stall sits unread in the kernel.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
    const client = connect(port, "127.0.0.1");
    await new Promise((resolve) => client.once("connect", resolve));
    const peer = await accepted;
    const received: string[] = [];
    client.on("data", (chunk) => received.push(chunk.toString()));
    const io = new IoWatermark(20);
    io.start();
    try {
      for (let round = 0; round < 20; round++) {
        const text = `notice ${round}`;
        peer.write(text);
        block(25); // the notice arrives while nothing reads
        await io.nextPoll();
        expect(received.join("")).toContain(text);
      }
    } finally {
      io.stop();
      client.destroy();
      peer.destroy();
      server.close();
    }
  });

  it("callers in one turn share a wait; a caller after that turn's poll began waits for the next", async () => {
    const io = new IoWatermark(20);
    const first = io.nextPoll();
    expect(io.nextPoll()).toBe(first);
    let later: Promise<void> | undefined;
    setImmediate(() => {
      later = io.nextPoll();
    });
    await first;
    expect(later).toBeDefined();
    expect(later).not.toBe(first);
    await later;
  });
});
