import { type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "~/server/api/root";
import { launchBrowser, signInAs } from "./browser";
import { queryInput, signInOverHttp, startHttpApp, superjsonBody, type HttpApp } from "./http-app";

// Issue 12's attack, in Chromium against the production build: sign in, copy the session
// cookie, sign out, replay the copy over HTTP. Sign-out is server-side, so the copy is dead.
// Then the sessions page: end one, end all, an administrator ends a member's; all audited.
function flatten(record: object, prefix = ""): { path: string; type: string }[] {
  return Object.entries(record).flatMap(([key, value]: [string, unknown]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const type = (value as { _def?: { type?: unknown } })._def?.type;
    if (typeof type === "string") return [{ path, type }];
    return value && typeof value === "object" ? flatten(value, path) : [];
  });
}
const procedures = flatten(appRouter._def.procedures);

describe("sign-out and the sessions page in a real browser", () => {
  let app: HttpApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  const send = (cookie: string, procedure: { path: string; type: string }) =>
    procedure.type === "query"
      ? fetch(`${app.url}/api/trpc/${procedure.path}?${queryInput({ provider: "quickbooks" })}`, { headers: { cookie } })
      : fetch(`${app.url}/api/trpc/${procedure.path}`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: superjsonBody({ provider: "quickbooks" }) });

  const signIn = (userId: string) => signInAs(page, app.url, userId);

  const list = (cookie: string) => fetch(`${app.url}/api/trpc/connection.list?${queryInput(undefined)}`, { headers: { cookie } }).then((r) => r.status);
  const sessionEnds = async () =>
    (await app.db.prisma.auditLog.findMany({ where: { action: "SESSION_END" }, orderBy: { timestamp: "asc" } })).map((r) => ({ companyId: r.companyId, userId: r.userId, details: r.details }));

  async function savedCookie(): Promise<string> {
    const [session] = (await context.cookies()).filter((c) => c.name === "tokenvault_session");
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe("Lax");
    return `${session!.name}=${session!.value}`;
  }

  beforeAll(async () => {
    app = await startHttpApp("sign-out");
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("a cookie saved before sign-out gets 401 from every procedure and route handler, and pages send it to sign-in", async () => {
    expect(procedures.length).toBeGreaterThanOrEqual(8);
    await signIn("alice");
    const cookie = await savedCookie();
    // The copy works while the session lives: it is the browser's own cookie.
    expect((await fetch(`${app.url}/api/trpc/connection.list?${queryInput(undefined)}`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${app.url}/api/audit/export`, { headers: { cookie } })).status).toBe(200);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/sign-in/);
    expect((await context.cookies()).filter((c) => c.name === "tokenvault_session")).toEqual([]);

    for (const procedure of procedures) {
      const response = await send(cookie, procedure);
      expect([procedure.path, response.status]).toEqual([procedure.path, 401]);
    }
    expect((await fetch(`${app.url}/api/audit/export`, { headers: { cookie } })).status).toBe(401);
    expect((await fetch(`${app.url}/api/health`, { headers: { cookie } })).status).toBe(401);
    // The provider's redirect lands in a browser: it is sent to sign-in, the session named as ended.
    const callback = await fetch(`${app.url}/api/oauth/quickbooks/callback?code=x&state=y`, { headers: { cookie }, redirect: "manual" });
    expect([callback.status, callback.headers.get("location")]).toEqual([303, "/sign-in?error=SESSION_ENDED"]);
    for (const path of ["/connections", "/audit"]) {
      const response = await fetch(`${app.url}${path}`, { headers: { cookie }, redirect: "manual" });
      expect([path, response.status, new URL(response.headers.get("location") ?? "", app.url).pathname]).toEqual([path, 307, "/sign-in"]);
    }

    // The copy put back into the browser is no session either.
    const [name, value] = cookie.split("=") as [string, string];
    await context.addCookies([{ name, value, url: app.url, httpOnly: true, sameSite: "Lax" }]);
    await page.goto(`${app.url}/connections`);
    await page.waitForURL(/\/sign-in/);
  });

  it("lists the user's sessions with this one marked; ends one, then all", async () => {
    await signIn("alice");
    const [other1, other2] = [await signInOverHttp(app.url, "alice"), await signInOverHttp(app.url, "alice")];
    await page.goto(`${app.url}/sessions`);
    const rows = page.getByTestId("session-row");
    await expect.poll(() => rows.count()).toBe(3);
    const current = page.locator('[data-testid="session-row"][data-current="true"]');
    expect(await current.count()).toBe(1);
    expect(await current.textContent()).toContain("Headless Chrome on Linux");
    expect(await current.textContent()).toContain("This browser");

    await page.locator('[data-testid="session-row"][data-current="false"]').first().getByRole("button", { name: "End" }).click();
    await page.getByText("Session ended.").waitFor();
    await expect.poll(() => rows.count()).toBe(2);
    expect([await list(other1), await list(other2)].sort()).toEqual([200, 401]);

    await page.getByRole("button", { name: "End all sessions", exact: true }).click();
    await page.waitForURL(/\/sign-in/);
    expect([await list(other1), await list(other2)]).toEqual([401, 401]);
    await page.goto(`${app.url}/connections`);
    await page.waitForURL(/\/sign-in/);
    const rowsNow = await sessionEnds();
    expect(rowsNow.map((r) => (r.details as { scope: string }).scope)).toEqual(["sign-out", "one", "all"]);
    expect(rowsNow.at(-1)).toEqual({ companyId: "acme", userId: "alice", details: { scope: "all", targetUserId: "alice", sessions: 2 } });
  });

  it("an administrator ends every session of a member of their company, and no one else can", async () => {
    const [bob1, bob2] = [await signInOverHttp(app.url, "bob"), await signInOverHttp(app.url, "bob")];
    const carol = await signInOverHttp(app.url, "carol");
    // Another company's admin: not found, like an unknown user. A member: forbidden.
    const endBob = (cookie: string) => fetch(`${app.url}/api/trpc/session.endMember`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: superjsonBody({ userId: "bob" }) });
    expect((await endBob(carol)).status).toBe(404);
    expect((await endBob(bob1)).status).toBe(403);
    expect([await list(bob1), await list(bob2)]).toEqual([200, 200]);

    await signIn("alice");
    await page.goto(`${app.url}/sessions`);
    const bob = page.getByTestId("member-bob");
    await expect.poll(() => bob.textContent()).toContain("2 active sessions");
    await bob.getByRole("button", { name: "End all sessions of Bob Member" }).click();
    await page.getByText("Ended 2 sessions of bob.").waitFor();
    expect([await list(bob1), await list(bob2)]).toEqual([401, 401]);
    expect(await list(carol)).toBe(200);
    expect((await sessionEnds()).at(-1)).toEqual({ companyId: "acme", userId: "alice", details: { scope: "member", targetUserId: "bob", sessions: 2 } });
  });
});
