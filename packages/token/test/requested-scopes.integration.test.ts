import { describe, expect, it } from "vitest";
import { providersFromSettings } from "../src/providers/from-settings";
import { ProviderRegistry } from "../src/providers/registry";
import { silentLogger } from "../src/logger";
import { TokenService } from "../src/token-service";
import type { ProviderSettings } from "../src/env";
import { simulatorOidcProvider } from "../src/providers/simulated";
import { REDIRECT, refusal, TEST_OPTIONS, useHarness, type Harness } from "./harness";

// Per-connection requested scopes (issue 24 item 5): extras an admin chooses at connect, checked
// against the provider's optional scopes, kept with the one-time state, recorded per connection
// at the callback beside what the provider granted.

let h: Harness;
let service: TokenService;
let company: string;
useHarness((context) => ({ h, service, company } = context));

const XERO_BASE = ["offline_access", "accounting.settings.read"];
const QBO_BASE = ["com.intuit.quickbooks.accounting", "openid"];

/** The consent URL's scope parameter, and the whole consent through the (auto-approving) simulator and the callback. */
async function connectWith(on: TokenService, provider: string, scopes?: string[], tenantIds?: string[]): Promise<string[]> {
  const { url } = await on.getAuthorizationUrl({ companyId: company, provider, userId: "alice", redirectUri: REDIRECT(provider), ...(scopes ? { scopes } : {}) });
  const asked = new URL(url).searchParams.get("scope")!.split(" ");
  const consent = await fetch(url, { redirect: "manual" });
  const location = consent.headers.get("location");
  if (consent.status !== 302 || !location) throw new Error(`consent did not redirect: ${consent.status}`);
  await on.handleCallback({ provider, callbackUrl: location, companyId: company, context: { userId: "alice" }, ...(tenantIds ? { tenantIds } : {}) });
  return asked;
}

const states = () => h.db.prisma.oAuthState.count({ where: { companyId: company } });
const connected = async (on = service) => (await on.listConnections(company)).filter((v) => v.connected);

describe("requested scopes per connection", () => {
  it("asks for the configured scopes plus the extras, and the connection records them as requested and granted", async () => {
    const asked = await connectWith(service, "xero", ["accounting.contacts", "files"]);
    expect(asked).toEqual([...XERO_BASE, "accounting.contacts", "files"]);
    const [view] = await connected();
    expect(view!.requestedScopes).toEqual(asked);
    // The simulator grants what was asked and says so in the token answer.
    expect(view!.grantedScopes).toEqual(asked);
    const row = await h.db.prisma.oAuthState.findFirstOrThrow({ where: { companyId: company } });
    expect(row.requestedScopes).toEqual(asked);
    const audit = await h.db.prisma.auditLog.findFirstOrThrow({ where: { companyId: company, action: "CONNECT", outcome: "SUCCESS" } });
    expect(audit.details).toMatchObject({ requestedScopes: asked.join(" "), grantedScopes: asked.join(" ") });
  });

  it("records a grant narrower than the request, and a reconnect records the new sets", async () => {
    const [tenant] = await h.pinOrganisations(1);
    await h.sim.updateSettings({ withheldScopes: ["payroll.payruns"] });
    try {
      await connectWith(service, "xero", ["payroll.payruns", "accounting.reports.read"]);
    } finally {
      await h.sim.updateSettings({ withheldScopes: [] });
    }
    const [first] = await connected();
    expect(first!.requestedScopes).toEqual([...XERO_BASE, "payroll.payruns", "accounting.reports.read"]);
    expect(first!.grantedScopes).toEqual([...XERO_BASE, "accounting.reports.read"]);

    // The same organisation again, with other extras: the same connection, the new sets.
    await connectWith(service, "xero", ["projects"]);
    const [again] = await connected();
    expect(again!.connectionId).toBe(first!.connectionId);
    expect(again!.externalId).toBe(tenant);
    expect(again!.requestedScopes).toEqual([...XERO_BASE, "projects"]);
    expect(again!.grantedScopes).toEqual([...XERO_BASE, "projects"]);
  });

  it("lets two connections of one company hold different requested scopes (QuickBooks: no scope in the answer, so granted = requested)", async () => {
    await connectWith(service, "quickbooks", ["com.intuit.quickbooks.payment"]);
    await connectWith(service, "quickbooks", ["email", "profile"]);
    const views = await connected();
    expect(views).toHaveLength(2);
    const sets = views.map((v) => v.requestedScopes).sort((a, b) => a.length - b.length);
    expect(sets).toEqual([
      [...QBO_BASE, "com.intuit.quickbooks.payment"],
      [...QBO_BASE, "email", "profile"],
    ]);
    for (const v of views) expect(v.grantedScopes).toEqual(v.requestedScopes);
  });

  it("connects with the configured scopes alone when no extras are named", async () => {
    expect(await connectWith(service, "quickbooks")).toEqual(QBO_BASE);
    const [view] = await connected();
    expect(view!.requestedScopes).toEqual(QBO_BASE);
  });

  it("refuses an unknown or malformed scope with INVALID_INPUT and stores no state", async () => {
    const unknown = await refusal(service.getAuthorizationUrl({ companyId: company, provider: "xero", userId: "alice", scopes: ["files", "accounting.everything"] }));
    expect(unknown.code).toBe("INVALID_INPUT");
    expect(unknown.message).toContain('"accounting.everything"');
    // Another provider's scope is unknown here too.
    expect((await refusal(service.getAuthorizationUrl({ companyId: company, provider: "quickbooks", userId: "alice", scopes: ["files"] }))).code).toBe("INVALID_INPUT");
    for (const bad of [["two words"], ['a"b'], [""], ["x".repeat(129)], Array.from({ length: 21 }, () => "files")]) {
      expect((await refusal(service.getAuthorizationUrl({ companyId: company, provider: "xero", userId: "alice", scopes: bad }))).code).toBe("INVALID_INPUT");
    }
    expect(await states()).toBe(0);
    expect(await connected()).toHaveLength(0);
  });

  it("an OIDC_PROVIDERS entry declares its optional scopes; one declaring none refuses every extra, saying so", async () => {
    const settings: ProviderSettings = { production: false, quickbooks: null, xero: null, simulatorUrl: null, appUrl: "http://localhost:3000", refreshMarginMs: 300_000, checkCoalesceMs: 0, tokenCache: false, oidcProvidersJson: undefined };
    const base = simulatorOidcProvider(h.sim.url);
    const generic = await providersFromSettings({
      ...settings,
      oidcProvidersJson: JSON.stringify([
        { ...base, id: "acme-idp", displayName: "Acme Identity", optionalScopes: ["profile", "email"] },
        { ...base, id: "plain-idp", displayName: "Plain Identity" },
      ]),
    });
    const withGeneric = new TokenService({ prisma: h.db.prisma, vault: h.vault, providers: new ProviderRegistry(generic.list()), logger: silentLogger, options: TEST_OPTIONS });
    try {
      expect((await withGeneric.listProviders()).map((p) => [p.id, p.optionalScopes])).toEqual([
        ["acme-idp", ["profile", "email"]],
        ["plain-idp", []],
      ]);
      const none = await refusal(withGeneric.getAuthorizationUrl({ companyId: company, provider: "plain-idp", userId: "alice", scopes: ["email"] }));
      expect(none.code).toBe("INVALID_INPUT");
      expect(none.message).toContain("declares no optional scopes");
      expect(await states()).toBe(0);

      await h.sim.updateSettings({ autoApprove: true });
      expect(await connectWith(withGeneric, "acme-idp", ["email"])).toEqual([...base.scopes, "email"]);
      const [view] = await connected(withGeneric);
      expect(view!.requestedScopes).toEqual([...base.scopes, "email"]);
      expect(view!.grantedScopes).toEqual([...base.scopes, "email"]);
    } finally {
      await withGeneric.close();
    }
  });

  it("lists each provider's configured and optional scopes", async () => {
    const providers = await service.listProviders();
    const xero = providers.find((p) => p.id === "xero")!;
    expect(xero.scopes).toEqual(XERO_BASE);
    expect(xero.optionalScopes).toEqual(expect.arrayContaining(["accounting.transactions", "accounting.contacts", "accounting.reports.read", "files", "assets", "projects", "payroll.payruns"]));
    expect(providers.find((p) => p.id === "quickbooks")).toMatchObject({ scopes: QBO_BASE, optionalScopes: ["com.intuit.quickbooks.payment", "profile", "email", "phone", "address"] });
  });
});
