import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { checkAsAlice, checkRows, startConnectedServer, type Cleanups } from "./connected-server";

/** The process and every process under it (Linux /proc), children before their own children. */
function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    try {
      const children = readFileSync(`/proc/${tree[i]}/task/${tree[i]}/children`, "utf8").trim();
      if (children) tree.push(...children.split(" ").map(Number));
    } catch {
      // Gone already.
    }
  }
  return tree;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// A process manager (and the test helper) signals the process `pnpm start` started. That one
// must be the server, or pass the signal on: otherwise the server is left running, orphaned,
// and its shutdown (which writes the audit rows still queued) never runs.
describe("SIGTERM to what `pnpm start` started", () => {
  const cleanups: Cleanups = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("stops the server: the port closes, no process of it remains, queued audit rows are written", async () => {
    const { server, db } = await startConnectedServer("web-start-script", cleanups);
    const tree = processTree(server.pid);
    // Whatever is left (the old script orphaned the server) does not outlive the test.
    cleanups.push(() => Promise.resolve(tree.filter(alive).forEach((pid) => process.kill(pid, "SIGKILL"))));
    expect(await checkAsAlice(server)).toBe(200);

    const signalledAt = Date.now();
    await server.stop(); // SIGTERM to exactly server.pid, which then exits
    const exitedMs = Date.now() - signalledAt;
    console.log(`SIGTERM to the start script's process: exited after ${exitedMs} ms`);
    // The shutdown is bounded to 10 s (closeOnShutdown); the port is closed once the process has gone.
    expect(exitedMs).toBeLessThan(12_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(tree.filter(alive), `processes left of ${JSON.stringify(tree)}`).toEqual([]);
    const answer = await fetch(server.url, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => `answered ${response.status}`,
      () => "closed",
    );
    expect(answer).toBe("closed");
    // The server's shutdown ran: the token read it still queued was written.
    expect(await checkRows(db)).toEqual(["CHECK", "TOKEN_READ"]);
    expect(server.output()).not.toContain("shutdown: a close step failed");
  });
});
