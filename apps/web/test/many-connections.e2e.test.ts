import { randomUUID } from "node:crypto";
import { type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot, signInAs, startBrowserApp, type BrowserApp } from "./browser";
import type { HttpApp } from "./http-app";

// In Chromium against the production build and the simulator: a Xero consent granting three
// organisations goes through the organisation picker (one unticked: disconnected at Xero too),
// each card charts its own connection's history, the CSV export names connections; and a company
// with 1,000 Xero connections pages and searches them. Screenshots land in test-results/.

describe("many connections in a real browser", () => {
  let session: BrowserApp | undefined;
  let app: HttpApp;
  let page: Page;

  const shot = (name: string) => screenshot(page, name);
  // The machine may be loaded (several suites at once): waits are generous, never skipped.
  const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 30_000, interval: 100 });
  const group = (provider: string) => page.locator(`section[data-group="${provider}"]`);
  const signIn = (userId: string) => signInAs(page, app.url, userId);

  beforeAll(async () => {
    // Consents wait for a click on Approve; each grants these three organisations.
    const simulator = { xeroTenants: ["North Ltd", "South Ltd", "East Ltd"].map((tenantName) => ({ tenantId: randomUUID(), tenantName })) };
    session = await startBrowserApp("e2e-many", { simulator, viewport: { width: 1280, height: 900 }, timeoutMs: 30_000 });
    ({ app, page } = session);
  }, 180_000);
  afterAll(() => session?.close());

  it("a consent granting three organisations: the picker shows them all ticked; the unticked one is disconnected, here and at Xero", async () => {
    await signIn("alice");
    await page.locator('section[data-provider="xero"]').getByRole("button", { name: "Connect" }).click();
    await page.waitForURL((url) => url.toString().startsWith(app.sim.url));
    const callback = page.waitForRequest((request) => request.url().includes("/api/oauth/xero/callback"));
    await page.getByRole("button", { name: "Approve" }).click();
    const callbackUrl = (await callback).url();
    await page.waitForURL(/\/connections\/organisations\?/);
    const boxes = page.getByRole("checkbox");
    await poll(() => boxes.count()).toBe(3);
    for (const box of await boxes.all()) expect(await box.isChecked()).toBe(true);
    await shot("many-01-picker");
    // The same link with another signature names no consent completed here: nothing to choose.
    const pickerUrl = page.url();
    const forged = new URL(pickerUrl);
    forged.searchParams.set("offer", `${Date.now() + 3_600_000}.${"A".repeat(43)}`);
    await page.goto(forged.toString());
    await page.getByText("This link does not come from a consent completed here").waitFor();
    expect(await page.getByRole("checkbox").count()).toBe(0);
    await page.goto(pickerUrl);
    await poll(() => boxes.count()).toBe(3);

    await page.getByLabel(/South Ltd/).uncheck();
    await page.getByRole("button", { name: "Keep 2 of 3" }).click();
    await page.getByText("Connected. The connection is ready to use. 1 unticked organisation was disconnected.").waitFor();
    await poll(() => page.getByTestId("count-xero").textContent()).toBe("2 connections");
    await poll(() => group("xero").locator("section.card").count()).toBe(2);
    const [grant] = await app.sim.listGrants({ provider: "xero" });
    expect(grant!.tenants.map((t) => t.tenantName).sort()).toEqual(["East Ltd", "North Ltd"]);
    expect(grant!.status).toBe("active");
    await shot("many-02-two-kept");

    // Each card charts its own connection's history.
    const ids = (await app.db.prisma.connection.findMany({ where: { companyId: "acme", provider: "xero" }, select: { id: true } })).map((c) => c.id);
    const charted = await group("xero").locator("figure.history").evaluateAll((figures) => figures.map((f) => f.getAttribute("data-connection-id")));
    expect(charted.sort()).toEqual([...ids].sort());

    // The callback's code is spent: replaying it changes nothing.
    const replay = await page.request.get(callbackUrl, { maxRedirects: 0 });
    expect([replay.status(), replay.headers()["location"]]).toEqual([303, "/connections?error=INVALID_STATE"]);
    expect(await app.db.prisma.connection.count({ where: { companyId: "acme", provider: "xero" } })).toBe(2);

    // The CSV export names each row's connection, and filters by it: the unticked one's removal
    // (its token read for Xero's DELETE, the REVOKE at Xero, the DISCONNECT). Token reads are
    // audited in batches (written within the audit queue's interval), so the export is read until
    // the read's row is there.
    const removed = (await app.db.prisma.auditLog.findFirst({ where: { companyId: "acme", action: "DISCONNECT" } }))!.connectionId!;
    const exported = async () => (await (await page.request.get(`${app.url}/api/audit/export?connectionId=${removed}`)).text()).trim().split("\r\n");
    expect((await exported())[0]).toBe("timestamp,userId,action,outcome,connectionType,connectionId,apiEndpoint,requestMethod,responseStatus,responseTime,ipAddress,userAgent,errorMessage");
    await poll(async () => (await exported()).slice(1).map((line) => line.split(",").slice(2, 6)).sort()).toEqual([
      ["DISCONNECT", "SUCCESS", "xero", removed],
      ["REVOKE", "SUCCESS", "xero", removed],
      ["TOKEN_READ", "SUCCESS", "xero", removed],
    ]);
  });

  it("1,000 Xero connections in one company: paged twelve at a time, searchable, each page read from the server", async () => {
    const grantId = randomUUID();
    await app.db.prisma.oAuthGrant.create({ data: { id: grantId, companyId: "globex", provider: "xero", connectedBy: "carol" } });
    const start = Date.now() - 10_000;
    await app.db.prisma.connection.createMany({
      data: Array.from({ length: 1_000 }, (_, i) => {
        const n = String(i + 1).padStart(4, "0");
        return { companyId: "globex", provider: "xero", grantId, externalId: `org-${n}`, displayName: `Org ${n}`, connectedBy: "carol", createdAt: new Date(start + i) };
      }),
    });
    await page.context().clearCookies();
    await signIn("carol");
    const pageLabel = page.getByTestId("page-xero");
    const cardsText = () => group("xero").locator("section.card").allTextContents();

    let started = Date.now();
    await poll(() => pageLabel.textContent()).toBe("Page 1 of 84 · 1–12 of 1,000");
    const firstPageMs = Date.now() - started;
    expect(await page.getByTestId("count-xero").textContent()).toBe("1,000 connections");
    expect(await group("xero").locator("section.card").count()).toBe(12);
    expect((await cardsText())[0]).toContain("org-0001");
    await shot("many-03-thousand");

    started = Date.now();
    await group("xero").getByRole("button", { name: "Next" }).click();
    await poll(() => pageLabel.textContent()).toBe("Page 2 of 84 · 13–24 of 1,000");
    const nextPageMs = Date.now() - started;
    expect((await cardsText())[0]).toContain("org-0013");
    expect((await cardsText())[11]).toContain("org-0024");

    // The search runs on the server, over all 1,000, and starts again at page 1.
    started = Date.now();
    await page.getByLabel("Search connections").fill("org-09");
    await poll(() => page.getByTestId("count-xero").textContent()).toBe("100 of 1,000 connections match");
    const searchMs = Date.now() - started;
    expect(await pageLabel.textContent()).toBe("Page 1 of 9 · 1–12 of 100");
    expect((await cardsText())[0]).toContain("org-0900");
    await page.getByLabel("Search connections").fill("ORG 0777");
    await poll(() => page.getByTestId("count-xero").textContent()).toBe("1 of 1,000 connections match");
    expect(await group("xero").locator("section.card").count()).toBe(1);
    expect((await cardsText())[0]).toContain("org-0777");
    await page.getByLabel("Search connections").fill("no such organisation");
    await page.getByText("No Xero connection matches “no such organisation”.").waitFor();
    await shot("many-04-searched");
    // The other providers' groups are there, not connected (nothing to match, so no "match" count).
    expect(await page.getByTestId("count-quickbooks").textContent()).toBe("0 connections");
    expect(await page.locator('section[data-provider="quickbooks"]').getByRole("button", { name: "Connect" }).count()).toBe(1);
    console.info(`1,000 connections: first page ${firstPageMs} ms, next page ${nextPageMs} ms, search ${searchMs} ms (incl. 300 ms typing debounce)`);
  });
});
