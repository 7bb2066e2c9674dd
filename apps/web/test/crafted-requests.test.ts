import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpApp, type HttpApp } from "./http-app";

// Requests a client crafts by hand against the production build: each must get a clear answer
// of its own (a typed 400, a page), never a 500, a cut connection or a library's words.
describe("crafted requests on the production build", () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await startHttpApp("web-crafted");
  });
  afterAll(() => app?.close());

  it("shows the generic banner for notice codes that name Object.prototype members", async () => {
    for (const code of ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty"]) {
      const signIn = await app.get(`/sign-in?error=${code}`);
      expect([code, signIn.status]).toEqual([code, 200]);
      expect(await signIn.text()).toContain("The connection could not be completed. Try again.");
    }
    const connections = await app.get("/connections?error=toString", { userId: "alice" });
    expect(connections.status).toBe(200);
    expect(await connections.text()).toContain("The connection could not be completed. Try again.");
    // A known code still shows its own text.
    expect(await (await app.get("/sign-in?error=BAD_CREDENTIALS")).text()).toContain("Unknown user or wrong password.");
  });

  it("records no client-claimed address in the audit log when no proxy is trusted", async () => {
    for (const claimed of ["6.6.6.6", "fe80::1%I-was-never-here.example"]) {
      const response = await app.get("/api/audit/export", { userId: "alice", headers: { "x-forwarded-for": claimed } });
      expect(response.status).toBe(200);
      await response.text();
    }
    const rows = await app.db.prisma.auditLog.findMany({ where: { companyId: "acme", action: "EXPORT" } });
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.ipAddress)).toEqual([null, null]);
  });
});
