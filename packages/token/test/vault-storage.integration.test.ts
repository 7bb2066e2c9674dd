import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openDatabase, type Database, type TokenKind } from "@tokenvault/db";
import { createTestDatabase } from "@tokenvault/db/testing";
import { ProviderRegistry } from "../src/providers/registry";
import { TokenService } from "../src/token-service";
import { silentLogger, type Logger } from "../src/logger";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { recordEncryptions, WARN_AT } from "../src/secrets/key-usage";
import { formatRotationReport } from "../src/secrets/rotation-report";
import { rotateKeys } from "../src/key-rotation";
import { keyHoldings } from "../src/secrets/rotation";
import { SecretStore, type SecretWrite } from "../src/secrets/secret-store";
import { createHarness, REDIRECT, registryFor, TEST_OPTIONS } from "./harness";

const noProviders = new ProviderRegistry([]);
const [key1, key2, key3] = [randomBytes(32), randomBytes(32), randomBytes(32)];

function secretsFor(companyId: string, count: number): SecretWrite[] {
  const kinds: TokenKind[] = ["ACCESS_TOKEN", "REFRESH_TOKEN", "API_KEY", "WEBHOOK_SECRET"];
  return Array.from({ length: count }, (_, i) => ({
    companyId,
    provider: i % 2 ? "xero" : "quickbooks",
    kind: kinds[i % kinds.length]!,
    externalId: `ext-${i}`,
    value: `value-${companyId}-${i}-${randomUUID()}`,
  }));
}

describe("vault storage (PostgreSQL)", () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ databaseUrl: inject("databaseUrl") });
  });
  afterAll(() => db.close());

  async function readAll(vault: Vault, companyId: string, database: Database = db): Promise<Map<string, string>> {
    const store = new SecretStore(vault, silentLogger);
    const rows = await database.prisma.tokenSecret.findMany({ where: { companyId } });
    return new Map(rows.map((row) => [`${row.provider}/${row.kind}/${row.externalId}`, store.open(row)]));
  }

  it("moves a connect in progress to the new key: it completes after the old key is removed", async () => {
    const database = await createTestDatabase("rotate-pending");
    const h = await createHarness(database.url);
    try {
      const { url } = await h.service().getAuthorizationUrl({ companyId: "acme", provider: "xero", userId: "alice", redirectUri: REDIRECT("xero") });
      const callbackUrl = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
      const oldKey = Buffer.from(h.keyHex, "hex");
      const report = await rotateKeys({ prisma: h.db.prisma, vault: new Vault(createKeyRing(key2, [oldKey])), logger: silentLogger });
      expect(report.pendingConnects).toBe(1);
      expect(formatRotationReport(report)).toContain("Connects in progress moved to the current key: 1");
      const newKeyOnly = new TokenService({
        prisma: h.db.prisma,
        vault: new Vault(createKeyRing(key2)),
        providers: registryFor(h.sim.url),
        logger: silentLogger,
        options: TEST_OPTIONS,
      });
      await newKeyOnly.handleCallback({ provider: "xero", callbackUrl, companyId: "acme", context: { userId: "alice" } });
      expect((await newKeyOnly.getValidToken("acme", "xero", "alice")).tenants.length).toBeGreaterThan(0);
      await newKeyOnly.close();
    } finally {
      await h.close();
      await database.drop();
    }
  });

  it("moves a revocation still pending to the new key: it is revoked after the old key is removed", async () => {
    const database = await createTestDatabase("rotate-revocation");
    const h = await createHarness(database.url);
    try {
      const service = h.service();
      await h.pinRealm(); // the reconnect names the same QuickBooks company
      await h.connect(service, "acme", "quickbooks");
      // The reconnect's revocation of the replaced grant is refused: it stays queued, sealed under the old key.
      await h.sim.addFault({ kind: "error", provider: "intuit", endpoint: "revoke", status: 503 });
      await h.connect(service, "acme", "quickbooks");
      await h.sim.clearFaults();
      const [queued] = await h.db.prisma.pendingRevocation.findMany();
      const oldKey = Buffer.from(h.keyHex, "hex");
      const rotated = new Vault(createKeyRing(key2, [oldKey]));

      const report = await rotateKeys({ prisma: h.db.prisma, vault: rotated, logger: silentLogger });
      expect(report.pendingRevocations).toBe(1);
      expect(formatRotationReport(report)).toContain("Revocations still pending moved to the current key: 1");
      const moved = await h.db.prisma.pendingRevocation.findUniqueOrThrow({ where: { id: queued!.id } });
      expect([moved.keyId, moved.sealed.split(".")[1]]).toEqual([rotated.currentKeyId, rotated.currentKeyId]);
      // The old key holds nothing any more: removing it is safe.
      expect((await keyHoldings(h.db.prisma, rotated)).filter((k) => !k.current).map((k) => k.records)).toEqual([0]);

      const newKeyOnly = new TokenService({
        prisma: h.db.prisma,
        vault: new Vault(createKeyRing(key2)),
        providers: registryFor(h.sim.url),
        logger: silentLogger,
        options: TEST_OPTIONS,
        clock: { now: () => new Date(Date.now() + 24 * 3_600_000) },
      });
      expect(await newKeyOnly.retryPendingRevocations()).toEqual({ attempted: 1, revoked: 1, failed: 0 });
      expect(await h.db.prisma.pendingRevocation.count()).toBe(0);
      await newKeyOnly.close();
    } finally {
      await h.close();
      await database.drop();
    }
  });

  it("moves companies' webhook signing secrets to the new key: they open after the old key is removed", async () => {
    const database = await createTestDatabase("rotate-webhooks");
    const h = await createHarness(database.url);
    try {
      const { endpoint, secret } = await h.service().webhooks.endpoints.create({ companyId: "acme", url: "https://203.0.113.10/hooks" }, { userId: "alice" });
      const oldKey = Buffer.from(h.keyHex, "hex");
      const report = await rotateKeys({ prisma: h.db.prisma, vault: new Vault(createKeyRing(key2, [oldKey])), logger: silentLogger });
      expect([report.webhookEndpoints, report.unknownKey, report.failed]).toEqual([1, 0, 0]);
      expect(formatRotationReport(report)).toContain("Webhook signing secrets moved to the current key: 1");
      const newKeyOnly = new TokenService({ prisma: h.db.prisma, vault: new Vault(createKeyRing(key2)), providers: noProviders, logger: silentLogger });
      expect((await newKeyOnly.webhooks.endpoints.target(endpoint.id))?.secret).toBe(secret);
      await newKeyOnly.close();
    } finally {
      await h.close();
      await database.drop();
    }
  });

  it("rotates across three key versions with every record readable throughout", async () => {
    // Rotation covers the whole vault table: its own database, so other suites' rows stay out.
    const database = await createTestDatabase("rotate");
    const own = await openDatabase({ databaseUrl: database.url });
    try {
      const companyId = `rot-${randomUUID()}`;
      const written = secretsFor(companyId, 45);
      const expected = new Map(written.map((s) => [`${s.provider}/${s.kind}/${s.externalId}`, s.value]));

      const v1 = new Vault(createKeyRing(key1));
      await own.prisma.$transaction((tx) => new SecretStore(v1, silentLogger).write(tx, written));
      expect(await readAll(v1, companyId, own)).toEqual(expected);

      // Key 2 becomes current; key 1 is decrypt-only. Readable before, during and after rotation.
      const v2 = new Vault(createKeyRing(key2, [key1]));
      expect(await readAll(v2, companyId, own)).toEqual(expected);
      const progress: number[] = [];
      const first = await rotateKeys({
        prisma: own.prisma,
        vault: v2,
        logger: silentLogger,
        batchSize: 10,
        onProgress: ({ done }) => progress.push(done),
      });
      expect(first.reencrypted).toBe(45);
      expect(progress[0]).toBe(0);
      expect(progress.length).toBeGreaterThan(5); // batches of 10
      expect(progress.at(-1)).toBe(first.reencrypted + first.changedConcurrently + first.unknownKey + first.failed);
      expect(await readAll(v2, companyId, own)).toEqual(expected);
      expect(await own.prisma.tokenSecret.count({ where: { companyId, keyId: { not: v2.currentKeyId } } })).toBe(0);

      // Rerun: idempotent, nothing left to do.
      const again = await rotateKeys({ prisma: own.prisma, vault: v2, logger: silentLogger });
      expect(again.reencrypted).toBe(0);

      // Key 3; key 1 retired from the ring (it holds nothing any more).
      const v3 = new Vault(createKeyRing(key3, [key2]));
      const third = await rotateKeys({ prisma: own.prisma, vault: v3, logger: silentLogger, batchSize: 7 });
      expect(await readAll(v3, companyId, own)).toEqual(expected);
      const holding = third.holdings.find((h) => h.keyId === v3.currentKeyId);
      expect(holding?.records).toBeGreaterThanOrEqual(45);
      expect(third.unknownKey).toBe(0);
      expect(formatRotationReport(third)).toContain(`No record uses ${v2.currentKeyId} any more`);
        } finally {
        await own.close();
        await database.drop();
      }
    });

    it("resumes after a crash mid-rotation", async () => {
      const database = await createTestDatabase("resume");
      const isolated = await openDatabase({ databaseUrl: database.url });
      try {
        const v1 = new Vault(createKeyRing(key1));
        const written = secretsFor("resume", 30);
        await isolated.prisma.$transaction((tx) => new SecretStore(v1, silentLogger).write(tx, written));
        const v2 = new Vault(createKeyRing(key2, [key1]));
        // Crash: the progress callback throws after the second batch committed.
        let batches = 0;
        await expect(
          rotateKeys({
            prisma: isolated.prisma,
            vault: v2,
            logger: silentLogger,
            batchSize: 10,
            onProgress: ({ done }) => {
              if (done > 0 && ++batches === 2) throw new Error("simulated crash");
            },
          }),
        ).rejects.toThrow("simulated crash");
        expect(await isolated.prisma.tokenSecret.count({ where: { keyId: v2.currentKeyId } })).toBe(20);
        const resumed = await rotateKeys({ prisma: isolated.prisma, vault: v2, logger: silentLogger });
        expect(resumed.reencrypted).toBe(10);
        expect(resumed.holdings.map((h) => [h.keyId, h.records])).toEqual([[v2.currentKeyId, 30], [v1.currentKeyId, 0]]);
    } finally {
      await isolated.close();
      await database.drop();
    }
  });

  it("reports records under a removed key clearly and leaves them untouched", async () => {
    const database = await createTestDatabase("removed");
    const isolated = await openDatabase({ databaseUrl: database.url });
    try {
      const v1 = new Vault(createKeyRing(key1));
      await isolated.prisma.$transaction((tx) => new SecretStore(v1, silentLogger).write(tx, secretsFor("orphan", 5)));
      const before = await isolated.prisma.tokenSecret.findMany({ orderBy: { id: "asc" } });
      // Key 1 dropped from the ring before its records were rotated.
      const v3 = new Vault(createKeyRing(key3, [key2]));
      const report = await rotateKeys({ prisma: isolated.prisma, vault: v3, logger: silentLogger });
      expect(report.unknownKey).toBe(5);
      expect(report.reencrypted).toBe(0);
      const text = formatRotationReport(report);
      expect(text).toContain(`5 record(s) are sealed by key ${v1.currentKeyId}, which is not configured`);
      expect(text).toContain("TOKEN_ENCRYPTION_KEYS_PREVIOUS");
      expect(await isolated.prisma.tokenSecret.findMany({ orderBy: { id: "asc" } })).toEqual(before);
      expect((await keyHoldings(isolated.prisma, v3)).find((h) => h.keyId === v1.currentKeyId)).toMatchObject({ records: 5, configured: false });
    } finally {
      await isolated.close();
      await database.drop();
    }
  });

  it("counts encryptions per key in the same transaction and warns when a 2^28 step is crossed", async () => {
    const vault = new Vault(createKeyRing(randomBytes(32)));
    const store = new SecretStore(vault, silentLogger);
    await db.prisma.$transaction((tx) => store.write(tx, secretsFor(`count-${randomUUID()}`, 12)));
    const usage = await db.prisma.encryptionKeyUsage.findUnique({ where: { keyId: vault.currentKeyId } });
    expect(usage?.encryptions).toBe(12n);

    const warnings: Record<string, unknown>[] = [];
    const logger: Logger = { ...silentLogger, warn: (_message, fields) => warnings.push(fields ?? {}) };
    await db.prisma.$transaction((tx) => recordEncryptions(tx, vault.currentKeyId, Number(WARN_AT) - 20, logger));
    expect(warnings).toEqual([]);
    await db.prisma.$transaction((tx) => recordEncryptions(tx, vault.currentKeyId, 10, logger));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ keyId: vault.currentKeyId, encryptions: String(WARN_AT + 2n) });
    await db.prisma.$transaction((tx) => recordEncryptions(tx, vault.currentKeyId, 10, logger));
    expect(warnings).toHaveLength(1);
  });

  it("stores and reads static secrets through the service", async () => {
    const vault = new Vault(createKeyRing(randomBytes(32)));
    const service = new TokenService({ prisma: db.prisma, vault: vault, providers: noProviders, logger: silentLogger });
    await service.storeSecret({ companyId: "acme", provider: "stripe", kind: "API_KEY", value: "canary-api-key-value", userId: "u1" });
    expect(await service.getSecret("acme", "stripe", "API_KEY")).toBe("canary-api-key-value");
    await expect(service.getSecret("globex", "stripe", "API_KEY")).rejects.toMatchObject({ code: "NO_TOKEN" });
    // A JavaScript caller cannot ask it for an OAuth token, nor pass ids that are not ids.
    await expect(service.getSecret("acme", "quickbooks", "REFRESH_TOKEN" as "API_KEY")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(service.getSecret("acme/../x", "stripe", "API_KEY")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    const audit = await db.prisma.auditLog.findFirst({ where: { companyId: "acme", action: "SECRET_WRITE" } });
    expect(JSON.stringify(audit)).not.toContain("canary-api-key-value");

    // Without a key no Vault, and so no service, can exist: see default-service.integration.test.ts ("fails closed without a key").
    await expect(service.storeSecret({ companyId: "../evil", provider: "x", kind: "API_KEY", value: "v", userId: "u" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
  });
});

describe("database dump", () => {
  it("contains no plaintext canary after storing canary tokens", async () => {
    const database = await createTestDatabase("dump");
    const isolated = await openDatabase({ databaseUrl: database.url });
    try {
      const vault = new Vault(createKeyRing(randomBytes(32)));
      const service = new TokenService({ prisma: isolated.prisma, vault: vault, providers: noProviders, logger: silentLogger });
      const canaries = Array.from({ length: 4 }, () => `CANARY-${randomBytes(12).toString("hex")}`);
      await isolated.prisma.$transaction((tx) =>
        new SecretStore(vault, silentLogger).write(tx, [
          { companyId: "acme", provider: "quickbooks", kind: "ACCESS_TOKEN", externalId: "123", value: canaries[0]! },
          { companyId: "acme", provider: "quickbooks", kind: "REFRESH_TOKEN", externalId: "123", value: canaries[1]! },
        ]),
      );
      await service.storeSecret({ companyId: "acme", provider: "stripe", kind: "API_KEY", value: canaries[2]!, userId: "u1" });
      await service.storeSecret({ companyId: "acme", provider: "stripe", kind: "WEBHOOK_SECRET", value: canaries[3]!, userId: "u1" });
      expect(await service.getSecret("acme", "stripe", "WEBHOOK_SECRET")).toBe(canaries[3]);

      const dump = execFileSync("pg_dump", ["--data-only", "--inserts", database.url], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      expect(dump).toContain('"TokenSecret"');
      expect(dump).toMatch(/tv1\.[A-Za-z0-9_-]{8}\./);
      for (const canary of canaries) {
        expect(dump).not.toContain(canary);
        expect(dump).not.toContain(Buffer.from(canary).toString("base64"));
        expect(dump).not.toContain(Buffer.from(canary).toString("hex"));
      }
    } finally {
      await isolated.close();
      await database.drop();
    }
  });
});
