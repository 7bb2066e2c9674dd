import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "@tokenvault/db";
import { createTestDatabase } from "@tokenvault/db/testing";
import { startSimulator } from "@tokenvault/simulator";
import { ProviderRegistry, silentLogger, simulatedAdapters, TokenService } from "@tokenvault/token";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { signInOverHttp } from "./http-app";
import { startProductionServer } from "./next-server";

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
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("stops the server: the port closes, no process of it remains, queued audit rows are written", async () => {
    const sim = await startSimulator({ strict: true });
    cleanups.push(() => sim.close());
    // One organisation per Xero consent: one Xero connection per company, which the seed signatures name.
  await sim.updateSettings({ autoApprove: true, xeroTenantsPerAuthorization: 1 });
    const database = await createTestDatabase("web-start-script");
    cleanups.push(() => database.drop());
    const db = await openDatabase({ databaseUrl: database.url });
    cleanups.push(() => db.close());
    const key = randomBytes(32);
    const service = new TokenService({ prisma: db.prisma, vault: new Vault(createKeyRing(key)), providers: new ProviderRegistry(simulatedAdapters(sim.url)), logger: silentLogger });
    const { url } = await service.getAuthorizationUrl({ companyId: "acme", provider: "quickbooks", userId: "alice" });
    const consent = await fetch(url, { redirect: "manual" });
    await service.handleCallback({ provider: "quickbooks", callbackUrl: consent.headers.get("location")!, companyId: "acme", context: { userId: "alice" } });

    const server = await startProductionServer({
      DATABASE_URL: database.url,
      TOKEN_ENCRYPTION_KEY: key.toString("hex"),
      SESSION_SECRET: randomBytes(32).toString("base64url"),
      SESSION_COOKIE_SECURE: "0",
      TOKENVAULT_DEMO_USERS: "1",
      PROVIDER_SIMULATOR_URL: sim.url,
    });
    const tree = processTree(server.pid);
    // Whatever is left (the old script orphaned the server) does not outlive the test.
    cleanups.push(() => Promise.resolve(tree.filter(alive).forEach((pid) => process.kill(pid, "SIGKILL"))));
    const cookie = await signInOverHttp(server.url, "alice");
    const check = await fetch(`${server.url}/api/trpc/connection.check`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify({ json: { provider: "quickbooks" } }),
    });
    expect(check.status).toBe(200);

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
    const rows = await db.prisma.auditLog.findMany({ where: { companyId: "acme", userId: "alice", action: { in: ["CHECK", "TOKEN_READ"] } }, select: { action: true } });
    expect(rows.map((r) => r.action).sort()).toEqual(["CHECK", "TOKEN_READ"]);
    expect(server.output()).not.toContain("shutdown: a close step failed");
  });
});
