import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, Prisma, type Database } from "@tokenvault/db";
import { createTestDatabase, type TestDatabase } from "@tokenvault/db/testing";
import { dueConnectionsSql } from "@tokenvault/token";
import { DEFAULT_WORKER_CONFIG } from "../src/config";
import { dueCriteria } from "../src/policy";

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

// 5,000 grants, almost all fresh (refreshed 10 minutes ago), and one due per reason.
const SEED = `
  INSERT INTO "OAuthGrant" ("id", "companyId", "provider", "connectedBy", "metadata", "updatedAt")
  SELECT gen_random_uuid(), 'c' || g, CASE WHEN g % 10 = 0 THEN 'quickbooks' ELSE 'xero' END, 'seed',
         CASE WHEN g % 10 = 0 THEN jsonb_build_object('refreshTokenHardExpiresAt', to_char((now() + interval '3 years') AT TIME ZONE 'UTC', ${ISO})) ELSE '{}'::jsonb END,
         now()
    FROM generate_series(1, 5000) AS g;
  INSERT INTO "TokenSecret" ("id", "companyId", "provider", "kind", "grantId", "ciphertext", "keyId", "expiresAt", "lastRefreshedAt", "updatedAt")
  SELECT gen_random_uuid(), c."companyId", c."provider", k.kind::"TokenKind", c."id", 'sealed', 'k1',
         now() + CASE WHEN k.kind = 'ACCESS_TOKEN' THEN interval '50 minutes' ELSE interval '59 days' END,
         now() - interval '10 minutes', now()
    FROM "OAuthGrant" c CROSS JOIN (VALUES ('ACCESS_TOKEN'), ('REFRESH_TOKEN')) AS k(kind);
  UPDATE "TokenSecret" SET "expiresAt" = now() + interval '2 minutes' WHERE "companyId" = 'c1' AND "kind" = 'ACCESS_TOKEN';
  UPDATE "TokenSecret" SET "lastRefreshedAt" = now() - interval '40 days', "expiresAt" = now() + interval '20 days' WHERE "companyId" = 'c2' AND "kind" = 'REFRESH_TOKEN';
  UPDATE "TokenSecret" SET "lastRefreshedAt" = NULL WHERE "companyId" = 'c3' AND "kind" = 'REFRESH_TOKEN';
  UPDATE "TokenSecret" SET "state" = 'REVOKED' WHERE "companyId" = 'c4' AND "kind" = 'REFRESH_TOKEN';
  UPDATE "OAuthGrant" SET "incident" = 'refresh_failed', "incidentAt" = now() WHERE "companyId" = 'c5';
  UPDATE "OAuthGrant" SET "metadata" = jsonb_build_object('refreshTokenHardExpiresAt', to_char((now() + interval '10 days') AT TIME ZONE 'UTC', ${ISO})) WHERE "companyId" = 'c10';
  ANALYZE "OAuthGrant";
  ANALYZE "TokenSecret";
`;

describe("the worker's due-connection scan", () => {
  let database: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    database = await createTestDatabase("worker_due_scan");
    db = await openDatabase({ databaseUrl: database.url });
    await db.prisma.$executeRawUnsafe(`DO $$ BEGIN ${SEED.replaceAll("\n", " ")} END $$`);
  });

  afterAll(async () => {
    await db.close();
    await database.drop();
  });

  it("returns the connections due for each reason and none of the fresh ones", async () => {
    const rows = await db.prisma.$queryRaw<{ id: string }[]>(dueConnectionsSql(dueCriteria(DEFAULT_WORKER_CONFIG, new Date())));
    const companies = await db.prisma.oAuthGrant.findMany({ where: { id: { in: rows.map((r) => r.id) } }, select: { companyId: true } });
    expect(companies.map((c) => c.companyId).sort()).toEqual(["c1", "c10", "c2", "c3", "c4", "c5"]);
  });

  it("is served by index scans: no sequential scan of OAuthGrant or TokenSecret", async () => {
    const sql = dueConnectionsSql(dueCriteria(DEFAULT_WORKER_CONFIG, new Date()));
    const [row] = await db.prisma.$queryRaw<{ "QUERY PLAN": { Plan: PlanNode }[] }[]>(Prisma.sql`EXPLAIN (FORMAT JSON) ${sql}`);
    const nodes = nodesOf(row!["QUERY PLAN"][0]!.Plan);
    const seqScans = nodes.filter((n) => n["Node Type"] === "Seq Scan").map((n) => n["Relation Name"]);
    expect(seqScans).toEqual([]);
    const indexes = nodes.filter((n) => /Index/.test(n["Node Type"])).map((n) => n["Index Name"]);
    expect(indexes).toEqual(
      expect.arrayContaining([
        "TokenSecret_kind_expiresAt_idx",
        "TokenSecret_kind_lastRefreshedAt_idx",
        "TokenSecret_kind_state_idx",
        "OAuthGrant_incident_idx",
        "OAuthGrant_metadata_idx",
      ]),
    );
  });
});
