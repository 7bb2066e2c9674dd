import { type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot, signInAs, startBrowserApp, type BrowserApp } from "./browser";
import type { HttpApp } from "./http-app";

// The Webhooks page in Chromium against the production build: an admin adds an endpoint (the
// secret is shown once), a private address is refused, a test event lands in the delivery log;
// a member gets neither the link nor the page. Delivery itself is the worker's (apps/worker tests).

describe("the webhooks page in a real browser", () => {
  let session: BrowserApp | undefined;
  let app: HttpApp;
  let page: Page;

  const signIn = (userId: string) => signInAs(page, app.url, userId);

  beforeAll(async () => {
    session = await startBrowserApp("webhooks-e2e");
    ({ app, page } = session);
  }, 120_000);
  afterAll(() => session?.close());

  it("lets an admin add an endpoint, shows its secret once, refuses a private address and queues a test event", async () => {
    await signIn("alice");
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.waitForURL(/\/webhooks/);
    await page.getByText("No endpoint yet").waitFor();

    // Production: a loopback URL is refused, and nothing is stored.
    await page.getByLabel("URL").fill("http://127.0.0.1:8080/hooks");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await page.getByRole("alert").getByText(/private, loopback or link-local/).waitFor();
    expect(await app.db.prisma.webhookEndpoint.count()).toBe(0);

    await page.getByLabel("URL").fill("https://203.0.113.10/hooks/tokenvault");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    const secret = (await page.getByTestId("new-secret").locator("code").textContent()) ?? "";
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    await screenshot(page, "20-webhook-secret-once");
    await page.getByTestId("endpoint-row").getByText("Active").waitFor();

    await page.getByRole("button", { name: "Send test event" }).click();
    await page.getByTestId("delivery-row").getByText("webhook.test").waitFor();
    expect(await page.getByTestId("delivery-row").locator("td").nth(4).textContent()).toBe("queued");

    // Once: after a reload the secret is nowhere on the page.
    await page.reload();
    await page.getByTestId("endpoint-row").waitFor();
    expect(await page.content()).not.toContain(secret.slice(6));
    await screenshot(page, "21-webhooks-page");

    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByTestId("endpoint-row").getByText("Paused").waitFor();
    expect(await page.getByRole("button", { name: "Send test event" }).isDisabled()).toBe(true);
  });

  it("keeps members out: no link, a refusal on the page and FORBIDDEN from the API", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/sign-in/);
    await signIn("bob");
    expect(await page.getByRole("link", { name: "Webhooks" }).count()).toBe(0);
    await page.goto(`${app.url}/webhooks`);
    await page.getByText("Only administrators can manage webhooks.").waitFor();
    const api = await page.request.get(`${app.url}/api/trpc/webhook.list`);
    expect(api.status()).toBe(403);
  });
});
