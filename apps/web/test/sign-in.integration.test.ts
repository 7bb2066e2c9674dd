import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpApp, type HttpApp } from "./http-app";

// POST /api/auth/sign-in on the production build, its limits counted by rate-limiter-flexible
// in the app's own database (no Redis configured): per account, and per client address (one
// proxy trusted, so the last X-Forwarded-For entry is the address).
describe("sign-in and its limits over HTTP", () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await startHttpApp("web-sign-in", { TRUSTED_PROXIES: "1" });
  });
  afterAll(() => app?.close());

  const signIn = (userId: string, password: string, address: string, headers: Record<string, string> = {}) =>
    fetch(`${app.url}/api/auth/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": address, ...headers },
      body: new URLSearchParams({ userId, password }).toString(),
      redirect: "manual",
    });

  it("refuses an account after 5 failed sign-ins, the right password included, with a clear message and Retry-After", async () => {
    for (let i = 1; i <= 4; i++) {
      const response = await signIn("alice", "wrong", `198.51.100.${i}`);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: { code: "BAD_CREDENTIALS", message: "Unknown user or wrong password." } });
    }
    const limited = await signIn("alice", "wrong", "198.51.100.5");
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(await limited.json()).toEqual({ error: { code: "TOO_MANY_ATTEMPTS", message: `Too many failed sign-ins. Try again in ${retryAfter} seconds.` } });
    const right = await signIn("alice", "tokenvault", "198.51.100.6");
    expect(right.status).toBe(429);
    expect(right.headers.getSetCookie()).toEqual([]);
    // A form post (a browser) is sent back to the page, which says how long to wait.
    const form = await signIn("alice", "tokenvault", "198.51.100.6", { accept: "text/html" });
    expect(form.status).toBe(303);
    expect(form.headers.get("retry-after")).toMatch(/^\d+$/);
    const page = await fetch(new URL(form.headers.get("location")!, app.url));
    expect(await page.text()).toMatch(/Too many failed sign-ins. Try again in 1[45] minutes./);
    // Another account is not affected.
    expect((await signIn("bob", "tokenvault", "198.51.100.6")).status).toBe(200);
  });

  it("refuses a client address after 20 failures across accounts; other addresses still sign in", async () => {
    const address = "203.0.113.20";
    for (let i = 1; i <= 19; i++) expect((await signIn(`nobody-${i}`, "wrong", address)).status).toBe(401);
    expect((await signIn("nobody-20", "wrong", address)).status).toBe(429);
    expect((await signIn("dave", "tokenvault", address)).status).toBe(429);
    expect((await signIn("dave", "tokenvault", "203.0.113.21")).status).toBe(200);
  });

  it("keeps no account name or address in clear in the counters", async () => {
    const rows = JSON.stringify(await app.db.prisma.$queryRawUnsafe(`SELECT * FROM "RateLimiterFlexible"`));
    expect(rows).toContain("tokenvault:limit:sign-in-account:");
    for (const clear of ["alice", "nobody-1", "203.0.113.20", "198.51.100"]) expect(rows).not.toContain(clear);
  });

  it("refuses a sign-in form posted from another site, and a malformed one", async () => {
    const crossSite = await signIn("bob", "tokenvault", "192.0.2.1", { origin: "https://evil.example" });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.getSetCookie()).toEqual([]);
    const noPassword = await fetch(`${app.url}/api/auth/sign-in`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "userId=bob" });
    expect(noPassword.status).toBe(400);
    const huge = await signIn("bob", "x".repeat(8192), "192.0.2.2");
    expect(huge.status).toBe(400);
  });
});
