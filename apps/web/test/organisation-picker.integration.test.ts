import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oauthCallback } from "~/server/api/oauth-callback";
import { PickerOffers, type PickerOffer } from "~/server/api/picker-offers";
import type { Caller } from "~/server/auth/caller";
import { alice, bob, carol, startRouterHarness, type RouterHarness } from "./router-harness";
import { codeOf } from "./trpc-code";

// The organisation picker's server side: a consent reaching several Xero organisations lands on
// the picker with the connections it made; connection.keep disconnects the unticked ones (at
// Xero too, over HTTP to the simulator); connection.page pages and searches, company-scoped.

describe("the organisation picker and the paged connection list", () => {
  let h: RouterHarness;
  beforeAll(async () => {
    h = await startRouterHarness({ database: "picker", simulator: {} });
  });
  afterAll(() => h.close());

  const xeroIds = async (caller: Caller) => (await (await h.api(caller)).connection.page({ providers: ["xero"] }))[0]!.connections.filter((c) => c.connected).map((c) => c.connectionId!);

  /** The signed offer a picker URL carries: the ids the consent connected and their signature. */
  const offerIn = (location: string): PickerOffer => {
    const params = new URL(location, "http://x").searchParams;
    return { ids: params.get("ids")!.split(","), signature: params.get("offer")! };
  };

  /** Alice's consent granting these organisations; answers the callback's Location and the callback URL. */
  async function consent(tenants: { tenantId: string; tenantName: string }[]): Promise<{ location: string; callback: string }> {
    await h.sim.updateSettings({ xeroTenants: tenants });
    const { url } = await (await h.api(alice)).connection.connect({ provider: "xero" });
    const callback = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    const answer = await oauthCallback(h.deps(alice), new Request(callback), "xero");
    expect(answer.status).toBe(303);
    return { location: answer.headers.get("location")!, callback };
  }

  it("a consent granting three organisations lands on the picker with the three connections it made; the code is spent, no token in the URL", async () => {
    const tenants = ["North", "South", "East"].map((name) => ({ tenantId: randomUUID(), tenantName: name }));
    const { location, callback } = await consent(tenants);
    const target = new URL(location, "http://x");
    expect(target.pathname).toBe("/connections/organisations");
    expect(target.searchParams.get("provider")).toBe("xero");
    const ids = target.searchParams.get("ids")!.split(",");
    expect(ids.sort()).toEqual((await xeroIds(alice)).sort());
    expect([...target.searchParams.keys()].sort()).toEqual(["ids", "offer", "provider"]);
    // The page reads them by id, names and tenant ids as the consent gave them.
    const [group] = await (await h.api(alice)).connection.page({ providers: ["xero"], connectionIds: ids, limit: 100 });
    expect(group!.connections.map((c) => c.name).sort()).toEqual(["East", "North", "South"]);
    // Replaying the callback (a reload, a back button) cannot exchange the code again.
    const replay = await oauthCallback(h.deps(alice), new Request(callback), "xero");
    expect(replay.headers.get("location")).toBe("/connections?error=INVALID_STATE");
    expect((await xeroIds(alice)).sort()).toEqual(ids.sort());

    // A consent of one organisation goes straight back to the dashboard.
    await (await h.api(alice)).connection.keep({ offer: offerIn(location), offered: ids, keep: [] });
    const single = await consent([{ tenantId: randomUUID(), tenantName: "Solo" }]);
    expect(single.location).toBe("/connections?connected=xero");
    await (await h.api(alice)).connection.disconnect({ provider: "xero" });
  });

  it("keep: the unticked organisations are disconnected at Xero and here, the grant serves the kept ones; members, other companies and foreign ids change nothing", async () => {
    const tenants = ["North", "South", "East"].map((name) => ({ tenantId: randomUUID(), tenantName: name }));
    const offer = offerIn((await consent(tenants)).location);
    const ids = offer.ids;
    const views = (await (await h.api(alice)).connection.page({ providers: ["xero"], connectionIds: ids }))[0]!.connections;
    const idOf = (name: string) => views.find((v) => v.name === name)!.connectionId!;
    const [grant] = await h.sim.listGrants({ tenantId: tenants[0]!.tenantId });
    const untouched = async () => {
      expect((await xeroIds(alice)).sort()).toEqual([...ids].sort());
      expect((await h.sim.getGrant(grant!.id))!.tenants).toHaveLength(3);
    };

    expect(await codeOf((await h.api(bob)).connection.keep({ offer, offered: ids, keep: [idOf("North")] }))).toBe("FORBIDDEN");
    await untouched();
    expect(await codeOf((await h.api(carol)).connection.keep({ offer, offered: ids, keep: [idOf("North")] }))).toBe("FORBIDDEN");
    await untouched();
    expect(await codeOf((await h.api(alice)).connection.keep({ offer, offered: ids, keep: [randomUUID()] }))).toBe("BAD_REQUEST");
    expect(await codeOf((await h.api(alice)).connection.keep({ offer, offered: ["nope"], keep: [] }))).toBe("BAD_REQUEST");
    expect(await codeOf((await h.api(alice)).connection.keep({ offered: ids, keep: [] } as never))).toBe("BAD_REQUEST");
    await untouched();
    // A choice no consent here offered: another signature, ids beyond the signed set, an hour old.
    const forged = { ids, signature: new PickerOffers("another secret").sign("acme", ids) };
    const earlier = { ids, signature: new PickerOffers(h.pickerOfferSecret, () => Date.now() - 61 * 60_000).sign("acme", ids) };
    const another = offerIn((await consent([{ tenantId: randomUUID(), tenantName: "West" }, { tenantId: randomUUID(), tenantName: "Far West" }])).location);
    for (const refused of [
      { offer: forged, offered: ids, keep: [] },
      { offer: earlier, offered: ids, keep: [] },
      { offer: { ids: another.ids, signature: offer.signature }, offered: another.ids, keep: [] },
      { offer: another, offered: [...another.ids, idOf("South")], keep: another.ids },
    ]) {
      expect(await codeOf((await h.api(alice)).connection.keep(refused))).toBe("FORBIDDEN");
    }
    await (await h.api(alice)).connection.keep({ offer: another, offered: another.ids, keep: [] });
    await untouched();

    const answer = await (await h.api(alice)).connection.keep({ offer, offered: ids, keep: [idOf("North"), idOf("East")] });
    expect(answer).toEqual({ kept: expect.arrayContaining([idOf("North"), idOf("East")]) as unknown, removed: [idOf("South")] });
    expect((await xeroIds(alice)).sort()).toEqual([idOf("North"), idOf("East")].sort());
    const atXero = (await h.sim.getGrant(grant!.id))!;
    expect([atXero.status, atXero.tenants.map((t) => t.tenantName).sort()]).toEqual(["active", ["East", "North"]]);
    // Each kept one still works at Xero.
    for (const name of ["North", "East"]) expect((await (await h.api(alice)).connection.check({ provider: "xero", connectionId: idOf(name) })).status).toBe("HEALTHY");

    // Keeping none removes the rest; the last one revokes the grant.
    // The same offer, for what is left of it.
    await (await h.api(alice)).connection.keep({ offer, offered: [idOf("North"), idOf("East")], keep: [] });
    expect(await xeroIds(alice)).toEqual([]);
    expect((await h.sim.getGrant(grant!.id))!.status).toBe("revoked");
  });

  it("connection.page: a page per provider for the caller's company only; bad paging input is refused", async () => {
    const grantId = randomUUID();
    await h.db.prisma.oAuthGrant.create({ data: { id: grantId, companyId: "acme", provider: "xero", connectedBy: "alice" } });
    await h.db.prisma.connection.createMany({
      data: Array.from({ length: 45 }, (_, i) => ({ companyId: "acme", provider: "xero", grantId, externalId: `org-${i}`, displayName: `Org ${i}`, connectedBy: "alice", createdAt: new Date(Date.now() - 1_000 + i) })),
    });
    const [second] = await (await h.api(bob)).connection.page({ providers: ["xero"], offsets: { xero: 20 }, limit: 20 });
    expect(second).toMatchObject({ count: 45, total: 45, offset: 20 });
    expect(second!.connections.map((c) => c.externalId)).toEqual(Array.from({ length: 20 }, (_, i) => `org-${20 + i}`));
    const [searched] = await (await h.api(bob)).connection.page({ providers: ["xero"], search: "ORG 4" });
    expect(searched!.connections.map((c) => c.externalId)).toEqual(["org-4", "org-40", "org-41", "org-42", "org-43", "org-44"]);
    // Globex sees its own (none), never Acme's, even naming Acme's ids.
    const [theirs] = await (await h.api(carol)).connection.page({ providers: ["xero"], connectionIds: second!.connections.map((c) => c.connectionId!) });
    expect(theirs).toMatchObject({ count: 0, total: 0, connections: [] });
    expect((await (await h.api(carol)).connection.page({}))[1]!.connections.map((c) => c.connected)).toEqual([false]);
    for (const input of [{ limit: 101 }, { offsets: { xero: -1 } }, { search: "a\u0000" }, { search: "x".repeat(101) }, { providers: ["../x"] }]) {
      expect(await codeOf((await h.api(bob)).connection.page(input))).toBe("BAD_REQUEST");
    }
    expect(await codeOf((await h.api(null)).connection.page({}))).toBe("UNAUTHORIZED");
  });
});
