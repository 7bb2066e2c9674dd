import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createHarness, type Harness } from "./harness";
import { join } from "node:path";
import { LineProcess } from "@tokenvault/db/testing";

const HERD_WORKER = join(import.meta.dirname, "herd-worker.ts");
const PACKAGE_ROOT = join(import.meta.dirname, "..");
const PROCESSES = 4;
const CALLERS = 50;
const CYCLES = 20;

interface CycleReport {
  cycle: number;
  tokens: string[];
  count: number;
  errors: string[];
  warnings: string[];
}

describe("refresh exactly once across processes (herd)", () => {
  let h: Harness;
  const herd: LineProcess[] = [];
  beforeAll(async () => {
    h = await createHarness(inject("databaseUrl"), { strict: true });
  });
  afterAll(async () => {
    await Promise.all(herd.map((p) => p.stop()));
    await h.close();
  });

  // Callers name connections by id. Xero: one consent granting three organisations, three
  // connections of one grant, the callers spread over them: still one refresh per cycle.
  it.each(["xero", "quickbooks"] as const)(
    `%s: ${PROCESSES} processes x ${CALLERS} callers over ${CYCLES} expiry cycles, by connection id, strict mode: one refresh per grant per cycle, everyone gets the fresh token`,
    async (provider) => {
      const company = `herd-${provider}`;
      const service = h.service();
      if (provider === "xero") await h.sim.updateSettings({ xeroTenantsPerAuthorization: 3 });
      try {
        await h.connect(service, company, provider);
      } finally {
        await h.sim.updateSettings({ xeroTenantsPerAuthorization: 1 });
      }
      const connections = await h.db.prisma.connection.findMany({ where: { companyId: company, provider } });
      expect(connections).toHaveLength(provider === "xero" ? 3 : 1);
      expect(new Set(connections.map((c) => c.grantId)).size).toBe(1);
      const ids = connections.map((c) => c.id);
      const [grant] = await h.sim.listGrants(provider === "xero" ? { tenantId: connections[0]!.externalId } : { realmId: connections[0]!.externalId });
      expect(grant).toBeDefined();

      const workers = Array.from(
        { length: PROCESSES },
        () =>
          new LineProcess(HERD_WORKER, {
            HERD_DATABASE_URL: inject("databaseUrl"),
            HERD_SIMULATOR_URL: h.sim.url,
            HERD_KEY: h.keyHex,
            HERD_COMPANY: company,
            HERD_PROVIDER: provider,
            HERD_CONNECTIONS: ids.join(","),
            HERD_CALLERS: String(CALLERS),
          }, PACKAGE_ROOT),
      );
      herd.push(...workers);
      // Four processes compile and start at once: on a loaded machine that alone can take a while.
      await Promise.all(workers.map((w) => w.next<{ ready: number }>(120_000)));

      let previous = (await service.getValidToken({ connectionId: ids[0]! }, { userId: "setup" })).accessToken;
      const warnings: string[] = [];
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        await h.expire(company, provider); // expired: every caller waits for the one refresh
        if (provider === "quickbooks" && cycle % 5 === 0) await h.sim.advanceClock(25 * 3600 * 1000); // make the refresh value rotate too
        for (const w of workers) w.send(`go ${cycle}`);
        const reports = await Promise.all(workers.map((w) => w.next<CycleReport>()));
        warnings.push(...reports.flatMap((r) => r.warnings.map((w) => `cycle ${cycle}: ${w}`)));
        const tokens = new Set(reports.flatMap((r) => r.tokens));
        expect(reports.flatMap((r) => r.errors), `cycle ${cycle}`).toEqual([]);
        expect(reports.reduce((n, r) => n + r.count, 0)).toBe(PROCESSES * CALLERS);
        expect(tokens.size, `cycle ${cycle}: every caller holds the same token`).toBe(1);
        const [fresh] = [...tokens];
        expect(fresh, `cycle ${cycle}: the token is new`).not.toBe(previous);
        previous = fresh!;
      }
      const after = await h.sim.getGrant(grant!.id);
      expect(after?.status).toBe("active");
      expect(after?.counters, `the herd's warnings: ${warnings.join("; ") || "none"}`).toEqual({ refreshSuccess: CYCLES, refreshFailed: 0, invalidGrant: 0 });
      expect((await h.sim.stats()).totals.reuseDetected).toBe(0);
      const refreshRows = await h.db.prisma.auditLog.count({ where: { companyId: company, action: "REFRESH", outcome: "SUCCESS" } });
      expect(refreshRows).toBe(CYCLES);
      await Promise.all(workers.map((w) => w.stop()));
    },
    240_000,
  );
});
