import { type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot, signInAs, startBrowserApp, type BrowserApp } from "./browser";
import type { HttpApp } from "./http-app";

// The API keys page in Chromium against the production build: an admin creates a key (shown
// once, then only its prefix), the key works on /api/v1, revoking it from the page refuses it at
// once; a member gets neither the link nor the page.

describe("the API keys page in a real browser", () => {
  let session: BrowserApp | undefined;
  let app: HttpApp;
  let page: Page;

  const signIn = (userId: string) => signInAs(page, app.url, userId);

  const listWith = (key: string) => fetch(`${app.url}/api/v1/connections`, { headers: { authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    session = await startBrowserApp("api-keys-e2e");
    ({ app, page } = session);
  }, 120_000);
  afterAll(() => session?.close());

  it("lets an admin create a key with scopes, shows it once, and revoke it", async () => {
    await signIn("alice");
    await page.getByRole("link", { name: "API keys" }).click();
    await page.waitForURL(/\/api-keys/);
    await page.getByText("No key yet.").waitFor();

    await page.getByLabel("Name").fill("billing-service");
    await page.getByRole("checkbox", { name: /tokens:read/ }).check();
    await page.getByRole("button", { name: "Create key" }).click();
    const key = (await page.getByTestId("new-api-key").locator("code").textContent()) ?? "";
    expect(key).toMatch(/^tvk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    await screenshot(page, "30-api-key-once");
    const row = page.getByTestId("api-key-row");
    await row.getByText("connections:read, tokens:read").waitFor();
    expect(await row.locator("code").textContent()).toBe(`${key.slice(0, 16)}_…`);
    expect((await listWith(key)).status).toBe(200);

    // Once: after a reload the key is nowhere on the page; its last use shows.
    await page.reload();
    await row.getByText("never").or(row.getByText(/ago|just now|now/)).first().waitFor();
    expect(await page.content()).not.toContain(key.slice(17));
    await screenshot(page, "31-api-keys-page");

    await row.getByRole("button", { name: "Revoke" }).click();
    await row.getByText(/^Revoked/).waitFor();
    expect((await listWith(key)).status).toBe(401);
  });

  it("keeps members out: no link, a refusal on the page and FORBIDDEN from the API", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/sign-in/);
    await signIn("bob");
    expect(await page.getByRole("link", { name: "API keys" }).count()).toBe(0);
    await page.goto(`${app.url}/api-keys`);
    await page.getByText("Only administrators can manage API keys.").waitFor();
    expect((await page.request.get(`${app.url}/api/trpc/apiKey.list`)).status()).toBe(403);
  });
});
