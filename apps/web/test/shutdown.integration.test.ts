import { afterAll, describe, expect, it } from "vitest";
import { checkAsAlice, checkRows, startConnectedServer, type Cleanups } from "./connected-server";

// The production server owns the token service: on SIGTERM it writes the audit rows it still
// queues (token reads are written in batches, a second apart) before it exits.
describe("production server shutdown", () => {
  const cleanups: Cleanups = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("a check followed at once by SIGTERM leaves both its CHECK and TOKEN_READ rows", async () => {
    const { server, db } = await startConnectedServer("web-sigterm", cleanups);
    expect(await checkAsAlice(server)).toBe(200);
    await server.stop(); // SIGTERM, at once: the read is still queued

    // Both rows of the check: the CHECK written with its health, the TOKEN_READ queued until shutdown.
    expect(await checkRows(db)).toEqual(["CHECK", "TOKEN_READ"]);
    expect(server.output()).not.toContain("shutdown: a close step failed");
  });
});
