import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "./browser";
import { startHttpApp, type HttpApp } from "./http-app";

// Issue 22's browser findings, in Chromium against the production build: an attacker's page on
// another site (localhost, while the app is 127.0.0.1) signs the victim's browser in as its own
// user through a form that Chromium posts with Origin: null, and a next= spelt with a tab sends
// a signed-in browser off the app's origin.
describe("cross-site attacks in a real browser", () => {
  let app: HttpApp;
  let attacker: Server;
  let attackerUrl: string;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    app = await startHttpApp("web-cross-site-e2e");
    attacker = createServer((request, response) => {
      const pages: Record<string, string> = {
        // no-referrer: Chromium sends Origin: null with the form post.
        "/no-referrer": `<!doctype html><meta name="referrer" content="no-referrer"><form method="post" action="${app.url}/api/auth/sign-in"><input name="userId" value="dave"><input name="password" value="tokenvault"></form><script>document.forms[0].submit()</script>`,
        "/landed-tab": "<!doctype html><title>landed</title>landed",
      };
      const page = pages[request.url ?? ""];
      response.writeHead(page ? 200 : 404, { "content-type": "text/html" }).end(page ?? "");
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    attackerUrl = `http://localhost:${(attacker.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => attacker?.close(resolve));
    await app?.close();
  });

  const sessionCookies = async () => (await context.cookies(app.url)).filter((c) => c.name === "tokenvault_session");

  it("does not sign a browser in from another site's form posted with Origin: null (login CSRF)", async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    const refused = page.waitForResponse((r) => r.url() === `${app.url}/api/auth/sign-in`);
    await page.goto(`${attackerUrl}/no-referrer`);
    const response = await refused;
    expect((await response.request().allHeaders()).origin).toBe("null");
    expect(response.status()).toBe(403);
    await page.waitForLoadState();
    expect(await sessionCookies()).toEqual([]);
    // The app still sees a signed-out visitor.
    await page.goto(`${app.url}/connections`);
    await page.waitForURL(/\/sign-in/);
    await context.close();
  });

  it("keeps a signed-in browser on the app's origin whatever next= says", async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/sign-in`);
    await page.getByLabel("User").selectOption("alice");
    await page.getByLabel("Password").fill("tokenvault");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/connections/);
    const port = new URL(attackerUrl).port;
    for (const next of [`/%09/localhost:${port}/landed-tab`, `/%09%5Clocalhost:${port}/landed-tab`]) {
      await page.goto(`${app.url}/api/auth/refresh?next=${next}`).catch(() => null);
      await page.waitForLoadState();
      expect([next, new URL(page.url()).origin]).toEqual([next, new URL(app.url).origin]);
    }
    await context.close();
  });
});
