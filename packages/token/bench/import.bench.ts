// `pnpm bench` (import): RECORDS grants minted by the simulator (half Xero with a live access
// token, verified by one identity call; half QuickBooks with only a refresh token, verified by a
// refresh and CompanyInfo) imported through the engine of `pnpm token:import` (bulkImport), each
// provider at its default concurrency but with the per-minute pacing lifted (it would otherwise
// set the pace: 1,000 QuickBooks calls a minute). Prints records/s and provider calls per record,
// then the same file again (every record already present: what a rerun after a crash costs).
// The machine's CPU may be shared with the database and the simulator: read ratios, not absolutes.
import { Readable } from "node:stream";
import type { MintedGrant } from "@tokenvault/simulator";
import { createTestDatabase } from "@tokenvault/db/testing";
import { bulkImport, type BulkImportSummary } from "../src/import/bulk-import";
import { createHarness } from "../test/harness";

const RECORDS = Number(process.argv.find((a) => a.startsWith("--records="))?.split("=")[1] ?? 10_000);
const CONCURRENCY: Record<string, number> = { xero: 5, quickbooks: 10 };

const database = await createTestDatabase("bench-import");
const h = await createHarness(database.url);
try {
  const service = h.service({ retry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 2_000 }, providerTimeoutMs: 10_000 });
  const half = Math.floor(RECORDS / 2);
  let started = Date.now();
  const xero = await h.sim.mintGrants({ provider: "xero", count: half });
  const intuit = await h.sim.mintGrants({ provider: "intuit", count: RECORDS - half, accessToken: false });
  console.log(`\nMinted ${RECORDS} grants in the simulator in ${((Date.now() - started) / 1000).toFixed(1)} s (${half} Xero with a live access token, ${RECORDS - half} QuickBooks with a refresh token only).`);

  const lines: string[] = [];
  const line = (grant: MintedGrant, provider: "xero" | "quickbooks", n: number) =>
    JSON.stringify(
      provider === "xero"
        ? { companyId: `bench-${n}`, provider, accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAt: grant.accessTokenExpiresAt }
        : { companyId: `bench-${n}`, provider, refreshToken: grant.refreshToken, realmId: grant.realmId },
    );
  for (let i = 0; i < Math.max(xero.length, intuit.length); i++) {
    if (xero[i]) lines.push(line(xero[i]!, "xero", lines.length));
    if (intuit[i]) lines.push(line(intuit[i]!, "quickbooks", lines.length));
  }
  const callsBy: Record<string, number> = { xero: 0, quickbooks: 0 };
  const refusals: Record<string, number> = {};
  const run = async (): Promise<BulkImportSummary> =>
    bulkImport(
      Readable.from(lines) as AsyncIterable<string>,
      {
        importOne: (record) => service.importConnection(record as never, { userId: "bench" }),
        providerId: (name) => name,
        paceOf: (id) => ({ concurrency: CONCURRENCY[id] ?? 5, perMinute: Number.MAX_SAFE_INTEGER }),
        report: (report) => {
          // On a loaded machine the database may not answer in time: counted and shown, and the rerun imports them.
          if (report.outcome === "refused") refusals[`${report.code}: ${report.reason}`] = (refusals[`${report.code}: ${report.reason}`] ?? 0) + 1;
          callsBy[report.provider!]! += report.providerCalls ?? 0;
        },
        progressPath: null,
        inputSize: 0,
      },
    );

  const before = (await h.sim.stats()).totals.tokenEndpointCalls;
  started = Date.now();
  const first = await run();
  const tokenCalls = (await h.sim.stats()).totals.tokenEndpointCalls - before;
  const rate = (summary: BulkImportSummary) => (summary.imported + summary.alreadyPresent) / (summary.elapsedMs / 1000);
  console.log(`\nImport of ${RECORDS} records (Xero ${CONCURRENCY.xero} at once, QuickBooks ${CONCURRENCY.quickbooks} at once; simulator on loopback):`);
  console.log(`  ${first.imported} imported in ${(first.elapsedMs / 1000).toFixed(1)} s: ${rate(first).toFixed(1)} records/s`);
  if (first.refused > 0) console.log(`  refused: ${JSON.stringify(refusals)}`);
  console.log(`  provider calls per record: ${(first.providerCalls / RECORDS).toFixed(2)} (Xero ${(callsBy.xero! / half).toFixed(2)}, QuickBooks ${(callsBy.quickbooks! / (RECORDS - half)).toFixed(2)}); token endpoint calls seen by the simulator: ${tokenCalls}`);

  callsBy.xero = 0;
  callsBy.quickbooks = 0;
  const again = await run();
  console.log(`\nThe same file again (a rerun: every record imported above is already present${first.refused ? `, the ${first.refused} refused ones are imported now` : ""}):`);
  console.log(`  ${again.alreadyPresent} already present, ${again.imported} imported, ${again.refused} refused in ${(again.elapsedMs / 1000).toFixed(1)} s: ${rate(again).toFixed(1)} records/s, ${(again.providerCalls / RECORDS).toFixed(2)} provider calls per record`);
  const stored = await h.db.prisma.connection.count({ where: { companyId: { startsWith: "bench-" } } });
  if (stored !== RECORDS) throw new Error(`expected ${RECORDS} connections, found ${stored}`);
} finally {
  await h.close();
  await database.drop();
}
