import { describe, expect, it } from "vitest";
import { TokenError } from "@tokenvault/vault";
import type { TokenService } from "../src/token-service";
import { useHarness, type Harness } from "./harness";

// keepConnections, the organisation picker's answer: of the connections one Xero consent made,
// the ones not kept are disconnected one by one (at Xero too), scoped to the company, stopping
// at the first refusal.

let h: Harness;
let service: TokenService;
let company: string;
useHarness((context) => ({ h, service, company } = context));

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenError);
  return (error as TokenError).code;
}

const alice = { userId: "alice" };

/** One consent granting `count` organisations: their connection ids in tenant order, and the simulator's grant. */
async function consent(companyId: string, count: number): Promise<{ ids: string[]; grantId: string }> {
  const tenants = await h.pinOrganisations(count);
  await h.connect(service, companyId, "xero");
  const views = (await service.listConnections(companyId)).filter((v) => v.provider === "xero" && v.connected);
  const [grant] = await h.sim.listGrants({ tenantId: tenants[0]! });
  return { ids: tenants.map((t) => views.find((v) => v.externalId === t)!.connectionId!), grantId: grant!.id };
}

const connectedIds = async (companyId: string) =>
  (await service.listConnections(companyId))
    .filter((v) => v.provider === "xero" && v.connected)
    .map((v) => v.connectionId!)
    .sort();

describe("keepConnections", () => {
  it("disconnects the offered connections not kept, at Xero too; the grant keeps serving the kept ones, and keeping none revokes it", async () => {
    const { ids, grantId } = await consent(company, 3);
    const [north, south, east] = ids as [string, string, string];

    // An offered id twice counts once.
    const answer = await service.keepConnections({ companyId: company, offered: [north, south, east, south], keep: [north, east] }, alice);
    expect(answer).toEqual({ kept: [north, east], removed: [south] });
    expect(await connectedIds(company)).toEqual([north, east].sort());
    const atXero = (await h.sim.getGrant(grantId))!;
    expect([atXero.status, atXero.tenants]).toMatchObject(["active", { length: 2 }]);
    expect((await service.checkConnection({ connectionId: north }, alice)).status).toBe("HEALTHY");

    expect(await service.keepConnections({ companyId: company, offered: [north, east], keep: [] }, alice)).toEqual({ kept: [], removed: [north, east] });
    expect(await connectedIds(company)).toEqual([]);
    expect((await h.sim.getGrant(grantId))!.status).toBe("revoked");
  });

  it("refuses a kept id that was not offered before changing anything; another company's id is NOT_FOUND", async () => {
    const { ids, grantId } = await consent(company, 2);
    const other = `${company}-other`;
    const untouched = async () => {
      expect(await connectedIds(company)).toEqual([...ids].sort());
      expect((await h.sim.getGrant(grantId))!.tenants).toHaveLength(2);
    };

    expect(await codeOf(service.keepConnections({ companyId: company, offered: [ids[0]!], keep: [ids[1]!] }, alice))).toBe("INVALID_INPUT");
    await untouched();
    expect(await codeOf(service.keepConnections({ companyId: other, offered: ids, keep: [] }, alice))).toBe("NOT_FOUND");
    await untouched();
  });

  it("stops at the first refusal: what was removed before it stays removed, what comes after is left", async () => {
    const mine = await consent(company, 3);
    const other = `${company}-other`;
    const [theirs] = (await consent(other, 1)).ids;
    const [first, second, third] = mine.ids as [string, string, string];

    // Another company's connection in the middle of the list: NOT_FOUND for this company.
    expect(await codeOf(service.keepConnections({ companyId: company, offered: [first, theirs!, second, third], keep: [third] }, alice))).toBe("NOT_FOUND");
    expect(await connectedIds(company)).toEqual([second, third].sort());
    expect(await connectedIds(other)).toEqual([theirs]);
  });
});
