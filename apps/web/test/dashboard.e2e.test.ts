import { randomBytes } from "node:crypto";
import { type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulatorOidcProvider } from "@tokenvault/token";
import { keyRingFromSettings, Vault } from "@tokenvault/vault";
import { screenshot, signInAs, startBrowserApp, type BrowserApp } from "./browser";
import type { HttpApp } from "./http-app";

// The whole dashboard flow in Chromium against the production build and the provider
// simulator: sign in, connect, provider-side revocation, check, reconnect, Xero, disconnect,
// the audit log, and what a member may not see. Screenshots land in test-results/.
const KEY = randomBytes(32).toString("hex");

describe("dashboard in a real browser", () => {
  let session: BrowserApp | undefined;
  let app: HttpApp;
  let context: BrowserContext;
  let page: Page;

  const shot = (name: string) => screenshot(page, name);
  const card = (provider: string) => page.locator(`section[data-provider="${provider}"]`);
  const status = (provider: string) => page.getByTestId(`status-${provider}`);
  const signIn = (userId: string) => signInAs(page, app.url, userId);

  async function approveOnConsentPage(name: string) {
    await page.waitForURL((url) => url.toString().startsWith(app.sim.url));
    await shot(name);
    await page.getByRole("button", { name: "Approve" }).click();
    await page.waitForURL(/\/connections\?(connected|error)=/);
    const error = new URL(page.url()).searchParams.get("error");
    if (error) throw new Error(`the connection failed: ${error}`);
  }

  beforeAll(async () => {
    session = await startBrowserApp("e2e", {
      // The key the test opens stored secrets with.
      env: (_databaseUrl, simulatorUrl) => ({
        TOKEN_ENCRYPTION_KEY: KEY,
        // A generic OpenID Connect provider besides QuickBooks and Xero: the simulator's issuer.
        OIDC_PROVIDERS: JSON.stringify([simulatorOidcProvider(simulatorUrl)]),
      }),
      // Alice's company has one QuickBooks company and one Xero organisation: a reconsent reaches
      // the same realm (its connection keeps its id), a Xero consent grants one organisation.
      simulator: { xeroTenantsPerAuthorization: 1, intuitRealmIds: ["9341452012345678"] },
      viewport: { width: 1280, height: 900 },
    });
    ({ app, context, page } = session);
  }, 120_000);
  afterAll(() => session?.close());

  it("sends a signed-out visitor to sign-in, and signs in", async () => {
    await page.goto(`${app.url}/connections`);
    await page.waitForURL(/\/sign-in/);
    await shot("01-sign-in");
    await page.getByLabel("Password").fill("wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("Unknown user or wrong password.").waitFor();
    await signIn("alice");
    // Banners come from codes: a crafted link cannot put its own words on the page.
    await page.goto(`${app.url}/connections?error=${encodeURIComponent("Your account is locked, call +1 555 0100")}`);
    await page.getByText("The connection could not be completed. Try again.").waitFor();
    expect(await page.getByText("call +1 555 0100").count()).toBe(0);
    await expect.poll(() => page.getByTestId("signed-in-as").textContent()).toContain("Alice Admin");
    await expect.poll(() => status("quickbooks").textContent()).toBe("Not connected");
    await shot("02-connections-empty");
  });

  it("connects QuickBooks through the consent page; the card shows healthy", async () => {
    await card("quickbooks").getByRole("button", { name: "Connect" }).click();
    await approveOnConsentPage("03-quickbooks-consent");
    await page.getByText("Connected. The connection is ready to use.").waitFor();
    await expect.poll(() => status("quickbooks").textContent()).toBe("Healthy");
    expect(await page.getByTestId("access-expiry-quickbooks").textContent()).toMatch(/^expires in \d+ minutes$/);
    // Intuit's 60-minute token: the worker refreshes it 10 minutes before it expires.
    expect(await page.getByTestId("next-refresh-quickbooks").textContent()).toMatch(/^in (4\d|50) minutes$/);
    expect(await page.getByTestId("idle-expiry-quickbooks").textContent()).toMatch(/^expires in 100 days$/);
    // The health history chart: an SVG for 7 days, and again for 30 after the toggle.
    const history = page.getByTestId("history-quickbooks");
    await history.locator(".chart[data-days='7'] svg.recharts-surface").first().waitFor();
    await history.getByRole("button", { name: "30 days" }).click();
    await history.locator(".chart[data-days='30'] svg.recharts-surface").first().waitFor();
    expect(await history.getByRole("button", { name: "30 days" }).getAttribute("aria-pressed")).toBe("true");
    await shot("04-quickbooks-healthy");
  });

  it("after the provider revokes the grant, Check shows expired with a Reconnect button", async () => {
    await app.sim.revokeGrants({ provider: "intuit" });
    await card("quickbooks").getByRole("button", { name: "Check" }).click();
    await expect.poll(() => status("quickbooks").textContent()).toBe("Expired");
    await expect.poll(() => page.getByTestId("error-quickbooks").textContent()).toMatch(/Reconnect QuickBooks Online/);
    expect(await card("quickbooks").getByRole("button", { name: "Reconnect" }).isVisible()).toBe(true);
    // The revoked token's nominal expiry is still in the future; the card must not show it.
    expect(await page.getByTestId("access-expiry-quickbooks").textContent()).toBe("no longer valid");
    await shot("05-quickbooks-expired");
  });

  it("reconnects QuickBooks", async () => {
    await card("quickbooks").getByRole("button", { name: "Reconnect" }).click();
    await approveOnConsentPage("06-quickbooks-reconsent");
    await expect.poll(() => status("quickbooks").textContent()).toBe("Healthy");
    await card("quickbooks").getByRole("button", { name: "Check" }).click();
    await page.getByText("Check passed: the connection works.").waitFor();
  });

  it("pauses QuickBooks after a warning that the grant would idle out, refuses its check while paused, and resumes it", async () => {
    const quickbooks = card("quickbooks");
    await quickbooks.getByRole("button", { name: "Pause" }).click();
    // It asks first, naming when QuickBooks would end the authorization; Cancel changes nothing.
    await quickbooks.getByRole("alertdialog").getByText(/ends this authorization on \d{4}-\d{2}-\d{2}/).waitFor();
    await shot("06a-quickbooks-confirm-pause");
    await quickbooks.getByRole("button", { name: "Cancel" }).click();
    expect(await page.getByTestId("paused-quickbooks").count()).toBe(0);
    await quickbooks.getByRole("button", { name: "Pause" }).click();
    await quickbooks.getByRole("button", { name: "Yes, pause" }).click();
    await page.getByTestId("paused-quickbooks").waitFor();
    await page.getByTestId("pause-warning-quickbooks").waitFor();
    await shot("06b-quickbooks-paused");
    await quickbooks.getByRole("button", { name: "Check" }).click();
    await page.getByText(/This connection is paused/).waitFor();
    await quickbooks.getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => page.getByTestId("paused-quickbooks").count()).toBe(0);
    await quickbooks.getByRole("button", { name: "Check" }).click();
    await page.getByText("Check passed: the connection works.").waitFor();
  });

  it("connects Xero, then disconnects it", async () => {
    await card("xero").getByRole("button", { name: "Connect" }).click();
    await approveOnConsentPage("07-xero-consent");
    await expect.poll(() => status("xero").textContent()).toBe("Healthy");
    await shot("08-both-connected");
    await card("xero").getByRole("button", { name: "Disconnect" }).click();
    // It asks first; Cancel changes nothing.
    await card("xero").getByRole("button", { name: "Cancel" }).click();
    expect(await status("xero").textContent()).toBe("Healthy");
    await card("xero").getByRole("button", { name: "Disconnect" }).click();
    await shot("09a-xero-confirm-disconnect");
    await card("xero").getByRole("button", { name: "Yes, disconnect" }).click();
    await expect.poll(() => status("xero").textContent()).toBe("Not connected");
    expect((await app.sim.listGrants({ provider: "xero" })).every((g) => g.status === "revoked")).toBe(true);
    await shot("09-xero-disconnected");
  });

  it("never sends a token, a ciphertext or a stack trace over HTTP", async () => {
    const vault = new Vault(keyRingFromSettings({ current: KEY, previous: undefined }));
    const secrets = await app.db.prisma.tokenSecret.findMany({ where: { companyId: "acme" } });
    expect(secrets.length).toBeGreaterThan(0);
    const values = secrets.map((s) => vault.open(s.ciphertext, s));
    const responses = await Promise.all([
      page.request.get(`${app.url}/api/trpc/connection.list`),
      page.request.get(`${app.url}/api/trpc/connection.status?input=${encodeURIComponent(JSON.stringify({ json: { provider: "quickbooks" } }))}`),
      page.request.get(`${app.url}/api/trpc/audit.list?input=${encodeURIComponent(JSON.stringify({ json: { limit: 200 } }))}`),
      page.request.post(`${app.url}/api/trpc/connection.refresh`, { data: { json: { provider: "quickbooks" } } }),
      page.request.post(`${app.url}/api/trpc/connection.check`, { data: { json: { provider: "nope" } } }),
      page.request.post(`${app.url}/api/trpc/connection.disconnect`, { data: { json: { provider: "xero" } } }),
      page.request.get(`${app.url}/api/audit/export`),
      page.request.post(`${app.url}/api/trpc/connection.connect`, { data: { json: { provider: "xero" } } }),
    ]);
    for (const response of responses) {
      const body = await response.text();
      for (const value of values) expect(body).not.toContain(value);
      expect(body).not.toMatch(/tv1\.[A-Za-z0-9_-]{8}\./);
      expect(body).not.toMatch(/"stack"|\bat \/|node_modules/);
    }
    expect(responses.map((r) => r.status())).toEqual([200, 200, 200, 200, 404, 404, 200, 200]);
  });

  it("answers bad input with a sentence and field errors, and refuses oversized batches", async () => {
    const bad = await page.request.get(`${app.url}/api/trpc/audit.list?input=${encodeURIComponent(JSON.stringify({ json: { userId: "x".repeat(500) } }))}`);
    expect(bad.status()).toBe(400);
    const { error } = (await bad.json()) as { error: { json: { message: string; data: { fieldErrors: { path: string }[] } } } };
    expect(error.json.message).toBe("Invalid input.");
    expect(error.json.data.fieldErrors.map((f) => f.path)).toEqual(["userId"]);
    const calls = (n: number) => Array.from({ length: n }, () => "connection.list").join(",");
    const batchInput = (n: number) => encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, { json: null }]))));
    expect((await page.request.get(`${app.url}/api/trpc/${calls(10)}?batch=1&input=${batchInput(10)}`)).status()).toBe(200);
    expect((await page.request.get(`${app.url}/api/trpc/${calls(11)}?batch=1&input=${batchInput(11)}`)).status()).toBe(400);
    // No page may be framed by another site.
    const headers = (await page.request.get(`${app.url}/connections`)).headers();
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  });

  it("shows the admin an audit row for each step, and exports CSV", async () => {
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.waitForURL(/\/audit/);
    await page.locator("tbody tr").first().waitFor();
    const actions = await page.locator("tbody tr").evaluateAll((rows) => rows.map((r) => `${r.getAttribute("data-action")}:${r.getAttribute("data-outcome")}`));
    for (const step of ["CONNECT:SUCCESS", "CHECK:FAILURE", "CHECK:SUCCESS", "REVOKE:SUCCESS", "DISCONNECT:SUCCESS"]) expect(actions).toContain(step);
    expect(actions.filter((a) => a === "CONNECT:SUCCESS").length).toBe(3);
    await shot("10-audit-log");
    await page.getByLabel("Action").selectOption("CHECK");
    await expect.poll(async () => new Set(await page.locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-action"))))).toEqual(new Set(["CHECK"]));
    const csv = await page.request.get(`${app.url}/api/audit/export?action=CONNECT`);
    expect(csv.headers()["content-type"]).toContain("text/csv");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toMatch(/^timestamp,userId,action/);
    expect(lines.slice(1).every((l) => l.includes(",CONNECT,"))).toBe(true);
    expect(lines).toHaveLength(4);
    // The export itself is audited: who, and with which filters.
    // (The first is the unfiltered export of the previous test.)
    const exports = await app.db.prisma.auditLog.findMany({ where: { companyId: "acme", action: "EXPORT" }, orderBy: { timestamp: "asc" } });
    expect(exports.map((e) => [e.userId, (e.details as { action: string | null }).action])).toEqual([
      ["alice", null],
      ["alice", "CONNECT"],
    ]);
  });

  it("filters the audit log by the deployment's providers, the configured OIDC provider included", async () => {
    await page.getByLabel("Action").selectOption(""); // the previous test left it on CHECK
    const filter = page.getByLabel("Connection");
    await expect.poll(() => filter.locator("option").allTextContents()).toEqual(["All", "QuickBooks Online", "Xero", "Acme Identity"]);
    await filter.selectOption("acme-idp");
    await page.getByText("No audit entries match these filters.").waitFor();
    await filter.selectOption("xero");
    await expect.poll(async () => new Set(await page.locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.children[3]?.textContent)))).toEqual(new Set(["xero"]));
    await shot("10b-audit-provider-filter");
  });

  it("keeps companies apart and keeps members out of the audit log", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/sign-in/);
    await signIn("carol"); // globex: acme's connection is invisible
    await expect.poll(() => status("quickbooks").textContent()).toBe("Not connected");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/sign-in/);

    await signIn("bob"); // acme member
    await expect.poll(() => status("quickbooks").textContent()).toBe("Healthy");
    // A member checks; connecting, reconnecting and disconnecting are the admins'.
    expect(await card("quickbooks").getByRole("button", { name: "Check" }).isVisible()).toBe(true);
    expect(await page.getByRole("button", { name: /^(Connect|Reconnect|Disconnect|Pause|Resume|Rename and tag)$/ }).count()).toBe(0);
    await card("xero").getByText("An administrator can connect Xero.").waitFor();
    for (const procedure of ["connection.connect", "connection.disconnect"]) {
      const refused = await page.request.post(`${app.url}/api/trpc/${procedure}`, { data: { json: { provider: "quickbooks" } } });
      expect([procedure, refused.status()]).toEqual([procedure, 403]);
    }
    expect(await page.getByRole("link", { name: "Audit log" }).count()).toBe(0);
    await page.goto(`${app.url}/audit`);
    await page.getByText("Only administrators can read the audit log.").waitFor();
    await shot("11-member-audit-forbidden");
    const api = await page.request.get(`${app.url}/api/trpc/audit.list?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`);
    expect(api.status()).toBe(403);
    expect((await api.json()) as unknown).toMatchObject({ error: { json: { data: { code: "FORBIDDEN" } } } });
    expect((await page.request.get(`${app.url}/api/audit/export`)).status()).toBe(403);
    const refresh = await page.request.post(`${app.url}/api/trpc/connection.refresh`, { data: { json: { provider: "quickbooks" } } });
    expect(refresh.status()).toBe(403);

    // A tampered session cookie is no session.
    const [session] = (await context.cookies()).filter((c) => c.name === "tokenvault_session" || c.name === "__Host-tokenvault_session");
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe("Lax");
    await context.addCookies([{ ...session!, value: `${session!.value.slice(0, -4)}AAAA` }]);
    expect((await page.request.get(`${app.url}/api/trpc/connection.list`)).status()).toBe(401);
    await context.clearCookies();
    expect((await page.request.get(`${app.url}/api/trpc/connection.list`)).status()).toBe(401);
  });
});
