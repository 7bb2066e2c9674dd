// listConnections (the connections page, connection.list) reads everything it shows in one
// statement: each connection with its grant, the grant's secrets and the connection's health. It
// was three Prisma reads (four round trips: the secrets' include is a second one), most of a
// signed-in request's cost beside an anonymous one (docs/performance.md, the web API under load).
import pg from "pg";
import { describe, expect, it } from "vitest";
import type { TokenService } from "../src/token-service";
import { useHarness, type Harness } from "./harness";

let h: Harness;
let service: TokenService;
let company: string;
useHarness((context) => ({ h, service, company } = context));

/** Runs `action` counting the statements every pg client of this process sends (Prisma's adapter's included). */
async function statementsOf<T>(action: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = prototype.query;
  let statements = 0;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    statements++;
    return query.apply(this, args);
  };
  try {
    return { result: await action(), statements };
  } finally {
    prototype.query = query;
  }
}

describe("listConnections", () => {
  it("is one database round trip, and shows each connection with its grant's expiries and its health as stored", async () => {
    await h.pinOrganisations(2);
    await h.connect(service, company, "xero");
    await h.connect(service, company, "quickbooks");
    await service.getValidToken(company, "quickbooks", "alice"); // audited later; not part of the list
    await h.db.prisma.connectionHealth.updateMany({ where: { companyId: company, connectionType: "quickbooks" }, data: { status: "UNHEALTHY", errorMessage: "refused (test)" } });

    const { result: views, statements } = await statementsOf(() => service.listConnections(company));
    expect(statements).toBe(1);

    const connected = views.filter((v) => v.connected);
    const stored = await h.db.prisma.connection.findMany({ where: { companyId: company }, include: { health: true, grant: { include: { secrets: true } } }, orderBy: [{ provider: "asc" }, { createdAt: "asc" }, { id: "asc" }] });
    expect(connected.map((v) => v.connectionId).sort()).toEqual(stored.map((c) => c.id).sort());
    for (const row of stored) {
      const view = connected.find((v) => v.connectionId === row.id)!;
      expect(view.provider).toBe(row.provider);
      expect(view.externalId).toBe(row.externalId);
      expect(view.connectedAt).toEqual(row.createdAt);
      expect(view.health).toEqual({ status: row.health!.status, lastChecked: row.health!.lastChecked, errorMessage: row.health!.errorMessage });
      const access = row.grant.secrets.find((s) => s.kind === "ACCESS_TOKEN")!;
      expect(view.accessTokenExpiresAt).toEqual(access.expiresAt);
    }
    expect(connected.find((v) => v.provider === "quickbooks")!.health?.status).toBe("UNHEALTHY");
    // A company without connections: one not-connected view per provider.
    const none = await service.listConnections(`${company}-none`);
    expect(none.map((v) => [v.provider, v.connected, v.health])).toEqual(views.map((v) => v.provider).filter((p, i, all) => all.indexOf(p) === i).map((p) => [p, false, null]));
  });
});
