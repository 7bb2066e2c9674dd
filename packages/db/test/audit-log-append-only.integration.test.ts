import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openDatabase, type Database } from "../src/client";

describe("AuditLog is append-only in the database itself", () => {
  let db: Database;
  const companyId = `company-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    db = await openDatabase({ databaseUrl: inject("databaseUrl") });
  });
  afterAll(() => db.close());

  const row = (overrides: Record<string, unknown> = {}) => ({
    companyId,
    userId: "user-1",
    action: "REFRESH" as const,
    outcome: "SUCCESS" as const,
    connectionType: "quickbooks",
    apiEndpoint: "/oauth2/v1/tokens/bearer",
    requestMethod: "POST",
    responseStatus: 200,
    ...overrides,
  });

  it("accepts inserts", async () => {
    const created = await db.prisma.auditLog.create({ data: row() });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await db.prisma.auditLog.count({ where: { companyId } })).toBeGreaterThanOrEqual(1);
  });

  it("refuses UPDATE, through Prisma and through raw SQL", async () => {
    const created = await db.prisma.auditLog.create({ data: row() });
    await expect(
      db.prisma.auditLog.update({ where: { id: created.id }, data: { responseStatus: 500 } }),
    ).rejects.toThrow(/append-only: UPDATE/);
    await expect(
      db.prisma.$executeRawUnsafe(`UPDATE "AuditLog" SET "outcome" = 'FAILURE' WHERE "companyId" = $1`, companyId),
    ).rejects.toThrow(/append-only: UPDATE/);
    const after = await db.prisma.auditLog.findUniqueOrThrow({ where: { id: created.id } });
    expect(after.responseStatus).toBe(200);
  });

  it("refuses DELETE and TRUNCATE", async () => {
    const created = await db.prisma.auditLog.create({ data: row() });
    await expect(db.prisma.auditLog.delete({ where: { id: created.id } })).rejects.toThrow(/append-only: DELETE/);
    await expect(db.prisma.auditLog.deleteMany({ where: { companyId } })).rejects.toThrow(/append-only: DELETE/);
    await expect(db.prisma.$executeRawUnsafe(`TRUNCATE "AuditLog"`)).rejects.toThrow(/append-only: TRUNCATE/);
    expect(await db.prisma.auditLog.findUnique({ where: { id: created.id } })).not.toBeNull();
  });

  it("lets purge_audit_log() remove old rows, and only those", async () => {
    const purgeCompany = `${companyId}-purge`;
    const old = new Date("2020-01-01T00:00:00Z");
    await db.prisma.auditLog.createMany({
      data: [row({ companyId: purgeCompany, timestamp: old }), row({ companyId: purgeCompany })],
    });
    const [{ removed }] = await db.prisma.$queryRaw<[{ removed: bigint }]>`
      SELECT purge_audit_log(${new Date("2021-01-01T00:00:00Z")}::timestamptz) AS removed`;
    expect(removed).toBe(1n);
    const left = await db.prisma.auditLog.findMany({ where: { companyId: purgeCompany } });
    expect(left).toHaveLength(1);
    expect(left[0]?.timestamp.getTime()).toBeGreaterThan(old.getTime());
    // The purge flag does not outlive the purge.
    await expect(db.prisma.auditLog.deleteMany({ where: { companyId: purgeCompany } })).rejects.toThrow(
      /append-only/,
    );
  });
});
