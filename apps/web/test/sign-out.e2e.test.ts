import { type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "~/server/api/root";
import { launchBrowser } from "./browser";
import { queryInput, startHttpApp, superjsonBody, type HttpApp } from "./http-app";

// Issue 12's attack, in Chromium against the production build: sign in, copy the session
// cookie, sign out, replay the copy over HTTP. Sign-out is server-side, so the copy is dead.
function flatten(record: object, prefix = ""): { path: string; type: string }[] {
  return Object.entries(record).flatMap(([key, value]: [string, unknown]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const type = (value as { _def?: { type?: unknown } })._def?.type;
    if (typeof type === "string") return [{ path, type }];
    return value && typeof value === "object" ? flatten(value, path) : [];
  });
}
const procedures = flatten(appRouter._def.procedures);

describe("sign-out in a real browser", () => {
  let app: HttpApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  const send = (cookie: string, procedure: { path: string; type: string }) =>
    procedure.type === "query"
      ? fetch(`${app.url}/api/trpc/${procedure.path}?${queryInput({ provider: "quickbooks" })}`, { headers: { cookie } })
      : fetch(`${app.url}/api/trpc/${procedure.path}`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: superjsonBody({ provider: "quickbooks" }) });

  async function signIn(userId: string) {
    await page.goto(`${app.url}/sign-in`);
    await page.getByLabel("User").selectOption(userId);
    await page.getByLabel("Password").fill("tokenvault");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/connections/);
  }

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
});
