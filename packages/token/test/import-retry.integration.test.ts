// `pnpm token:import`'s engine (bulkImport) retrying what a transient failure refused, against
// real PostgreSQL and the simulator's faults over HTTP: a 503 or a 429 with Retry-After is
// waited out and the record imported; a permanent refusal is tried once; and a record whose
// refresh rotated its refresh token before the failure is never tried again with the spent one.
import { Readable } from "node:stream";
import type { MintedGrant } from "@tokenvault/simulator";
import { afterEach, describe, expect, it } from "vitest";
import { bulkImport, type LineReport } from "../src/import/bulk-import";
import { PROVIDER_ALIASES } from "../src/providers/registry";
import type { TokenService } from "../src/token-service";
import { useHarness, type Harness } from "./harness";

let h: Harness;
let company: string;
useHarness((context) => ({ h, company } = context));
afterEach(() => h.sim.clearFaults());

/** The service tries each provider call once: a fault surfaces as the record's refusal at once. */
const oneTry = () => h.service({ retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 } });
const FAST_RETRY = { attempts: 4, baseDelayMs: 20, maxDelayMs: 100 };

async function importRecords(service: TokenService, records: object[]): Promise<LineReport[]> {
  const reports: LineReport[] = [];
  await bulkImport(Readable.from(records.map((record) => JSON.stringify(record))) as AsyncIterable<string>, {
    importOne: (record) => service.importConnection(record as never, { userId: "import" }),
    providerId: (name) => PROVIDER_ALIASES.get(name) ?? name,
    paceOf: () => ({ concurrency: 5, perMinute: 1_000 }),
    report: (report) => reports.push(report),
    progressPath: null,
    inputSize: 0,
    retry: FAST_RETRY,
  });
  return reports.sort((a, b) => a.line - b.line);
}

const mint = async (provider: "xero" | "intuit", accessToken = true): Promise<MintedGrant> => (await h.sim.mintGrants({ provider, count: 1, accessToken }))[0]!;
const live = (g: MintedGrant) => ({ accessToken: g.accessToken!, refreshToken: g.refreshToken, expiresAt: g.accessTokenExpiresAt });

describe("bulkImport retries", () => {
  it("imports a record the provider refused with a 503 once, on its second attempt", async () => {
    const grant = await mint("xero");
    await h.sim.addFault({ kind: "error", status: 503, provider: "xero", endpoint: "api", count: 1 });
    const [report] = await importRecords(oneTry(), [{ companyId: company, provider: "xero", ...live(grant) }]);
    expect(report).toMatchObject({ outcome: "imported", attempts: 2, providerCalls: 2 });
  });

  it("waits out a 429's Retry-After before the next attempt", async () => {
    const grant = await mint("xero");
    await h.sim.addFault({ kind: "rate_limit", retryAfterSeconds: 1, provider: "xero", endpoint: "api", count: 1 });
    const started = Date.now();
    const [report] = await importRecords(oneTry(), [{ companyId: company, provider: "xero", ...live(grant) }]);
    expect(report).toMatchObject({ outcome: "imported", attempts: 2, providerCalls: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000); // the backoff alone is at most 20 ms
  });

  it("refuses after the policy's attempts, saying how many", async () => {
    const grant = await mint("xero");
    await h.sim.addFault({ kind: "error", status: 503, provider: "xero", endpoint: "api" });
    const [report] = await importRecords(oneTry(), [{ companyId: company, provider: "xero", ...live(grant) }]);
    expect(report).toMatchObject({ outcome: "refused", code: "PROVIDER_UNAVAILABLE", attempts: 4, providerCalls: 4 });
    expect(await h.db.prisma.oAuthGrant.count({ where: { companyId: company } })).toBe(0);
  });

  it("never retries a permanent refusal (a revoked refresh token)", async () => {
    const grant = await mint("intuit", false);
    await h.sim.revokeGrant(grant.grantId);
    const [report] = await importRecords(oneTry(), [{ companyId: company, provider: "qbo", refreshToken: grant.refreshToken, realmId: grant.realmId }]);
    expect(report).toMatchObject({ outcome: "refused", code: "REAUTH_REQUIRED", attempts: 1, providerCalls: 1 });
  });

  it("retries after a refresh that kept the refresh token (Intuit within the day), but never after one that rotated it (Xero)", async () => {
    const qbo = await mint("intuit", false);
    const xero = await mint("xero", false);
    // The identity call after the refresh fails once for each provider.
    await h.sim.addFault({ kind: "error", status: 503, provider: "intuit", endpoint: "api", count: 1 });
    await h.sim.addFault({ kind: "error", status: 503, provider: "xero", endpoint: "api", count: 1 });
    const [intuitReport, xeroReport] = await importRecords(oneTry(), [
      { companyId: company, provider: "qbo", refreshToken: qbo.refreshToken, realmId: qbo.realmId },
      { companyId: company, provider: "xero", refreshToken: xero.refreshToken },
    ]);
    expect(intuitReport).toMatchObject({ outcome: "imported", attempts: 2, providerCalls: 4 });
    // Xero answered a new refresh token, then /connections failed: the old one is spent, so no second attempt.
    expect(xeroReport).toMatchObject({ outcome: "refused", code: "PROVIDER_UNAVAILABLE", attempts: 1, providerCalls: 2 });
    expect(xeroReport!.reason).toContain("Not retried: its refresh may have rotated the refresh token");
    expect((await h.sim.getGrant(xero.grantId))?.counters).toMatchObject({ refreshSuccess: 1, invalidGrant: 0 });
  });
});
