import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { Webhook } from "standardwebhooks";
import { openDatabase, type Database, type OAuthGrant } from "@tokenvault/db";
import { createTestDatabase } from "@tokenvault/db/testing";
import { startSimulator, type Simulator } from "@tokenvault/simulator";
import { ProviderRegistry, silentLogger, simulatedAdapters, TokenService, type Clock } from "@tokenvault/token";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { QUEUES } from "../src/boss";
import { DEFAULT_WORKER_CONFIG, type WorkerConfig } from "../src/config";
import { TokenvaultWorker } from "../src/worker";

export const REDIRECT = (provider: string) => `http://127.0.0.1:3999/api/oauth/${provider}/callback`;

/** Fast everything: no jitter, quick polling and retries; otherwise the defaults. */
export const TEST_CONFIG: WorkerConfig = {
  ...DEFAULT_WORKER_CONFIG,
  jitterSeconds: 0,
  pollingIntervalSeconds: 0.5,
  retryLimit: 2,
  retryDelaySeconds: 1,
  webhookRetryLimit: 3,
  webhookRetryDelaySeconds: 1,
  webhookOutboxPollMs: 300,
  allowPrivateWebhookTargets: true,
  stopTimeoutMs: 3_000,
};

/** A clock a test moves: the worker counts failing days by it. */
export class MovableClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advanceDays(days: number): void {
    this.offsetMs += days * 86_400_000;
  }
}

export const DAY = 86_400_000;

export interface Harness {
  databaseUrl: string;
  db: Database;
  sim: Simulator;
  /** The service's clock (at real time until a test moves it with `advance`). */
  clock: MovableClock;
  service: TokenService;
  /** Moves the service's clock and the simulator's together (the worker's too, when given `h.clock`). */
  advance(ms: number): Promise<void>;
  /** Another process's token service: its own database pool and LISTEN connection, the same key, providers and clock. */
  /** `providerTimeoutMs`: of one provider call (default 2 s); a refresh that times out is sent again, and the provider counts both. */
  newService(providerTimeoutMs?: number): Promise<TokenService>;
  /** A token service like `service` (same key, providers and clock) over another Prisma client (a proxied database). */
  serviceOver(prisma: Database["prisma"]): TokenService;
  /** The vault key as TOKEN_ENCRYPTION_KEY, for a worker in a child process. */
  encryptionKeyHex: string;
  connect(companyId: string, provider: "xero" | "quickbooks"): Promise<string>;
  /** The grant serving a connection (its lease, failing days, incident, metadata). */
  grantOf(connectionId: string): Promise<OAuthGrant>;
  /** The simulator's grant for the newest connection of `provider` (intuit / xero). */
  newestGrantId(provider: "intuit" | "xero"): Promise<string>;
  expireSoon(companyId: string, provider: string, inMs?: number): Promise<void>;
  worker(config?: Partial<WorkerConfig>, clock?: Clock, storeCleanup?: () => Promise<number>): TokenvaultWorker;
  /** Raw SQL on the test database (pg-boss's tables, checks). */
  sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** Each test file its own fresh database: a scan sees only that file's connections. */
export async function createHarness(label: string): Promise<Harness> {
  const database = await createTestDatabase(`worker_${label}`);
  const databaseUrl = database.url;
  const db = await openDatabase({ databaseUrl });
  const sim = await startSimulator({ strict: true });
  // One organisation per Xero consent: one Xero connection per company, which the seed signatures name.
  await sim.updateSettings({ autoApprove: true, xeroTenantsPerAuthorization: 1 });
  const key = randomBytes(32);
  const vault = new Vault(createKeyRing(key));
  const clock = new MovableClock();
  const serviceOver = (prisma: Database["prisma"], listenDatabaseUrl?: string, providerTimeoutMs = 2_000) =>
    new TokenService({
      prisma,
      vault,
      clock,
      listenDatabaseUrl,
      providers: new ProviderRegistry(simulatedAdapters(sim.url)),
      logger: silentLogger,
      options: { retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 50 }, providerTimeoutMs, leaseMs: 10_000, redirectUriFor: REDIRECT, allowPrivateWebhookTargets: true },
    });
  const service = serviceOver(db.prisma);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const workers: TokenvaultWorker[] = [];
  const others: { service: TokenService; db: Database }[] = [];
  return {
    databaseUrl,
    db,
    sim,
    clock,
    service,
    encryptionKeyHex: key.toString("hex"),
    async advance(ms) {
      clock.offsetMs += ms;
      await sim.advanceClock(ms);
    },
    serviceOver: (prisma) => serviceOver(prisma),
    async newService(providerTimeoutMs) {
      const own = await openDatabase({ databaseUrl });
      const other = serviceOver(own.prisma, databaseUrl, providerTimeoutMs);
      others.push({ service: other, db: own });
      return other;
    },
    async connect(companyId, provider) {
      const { url } = await service.getAuthorizationUrl({ companyId, provider, userId: "alice", redirectUri: REDIRECT(provider) });
      const consent = await fetch(url, { redirect: "manual" });
      const location = consent.headers.get("location");
      if (consent.status !== 302 || !location) throw new Error(`consent did not redirect: ${consent.status}`);
      await service.handleCallback({ provider, callbackUrl: location, companyId, context: { userId: "alice" } });
      const row = await db.prisma.connection.findFirstOrThrow({ where: { companyId, provider } });
      return row.id;
    },
    async grantOf(connectionId) {
      const { grantId } = await db.prisma.connection.findUniqueOrThrow({ where: { id: connectionId } });
      return db.prisma.oAuthGrant.findUniqueOrThrow({ where: { id: grantId } });
    },
    async newestGrantId(provider) {
      const grants = await sim.listGrants({ provider });
      const newest = grants.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1);
      if (!newest) throw new Error("no grant");
      return newest.id;
    },
    async expireSoon(companyId, provider, inMs = 60_000) {
      await db.prisma.tokenSecret.updateMany({
        where: { companyId, provider, kind: "ACCESS_TOKEN" },
        data: { expiresAt: new Date(Date.now() + inMs), lastRefreshedAt: new Date(Date.now() - 3_600_000) },
      });
    },
    worker(config = {}, clock, storeCleanup) {
      const worker = new TokenvaultWorker({ target: { connectionString: databaseUrl }, service, config: { ...TEST_CONFIG, ...config }, clock, logger: silentLogger, storeCleanup });
      workers.push(worker);
      return worker;
    },
    async sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
      return (await pool.query<T>(text, values)).rows;
    },
    async close() {
      for (const worker of workers) await worker.stop();
      for (const other of others) {
        await other.service.close();
        await other.db.close();
      }
      await service.close();
      await pool.end();
      await sim.close();
      await db.close();
      await database.drop();
    },
  };
}

/** A real HTTP receiver that verifies every delivery with the standardwebhooks library. */
export interface Receiver {
  url: string;
  secret: string;
  /** Verified deliveries, in arrival order (retries of one event share its webhook-id). */
  verified: { id: string; type: string; data: Record<string, unknown> }[];
  /** Requests whose signature did not verify. */
  rejected: number;
  /** Answer 500 to the next N requests (after verifying them). */
  failNext: number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const secret = `whsec_${randomBytes(24).toString("base64")}`;
  const verifier = new Webhook(secret);
  const receiver = { verified: [], rejected: 0, failNext: 0 } as unknown as Receiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      try {
        const payload = verifier.verify(body, headersOf(req.headers)) as { type: string; data: Record<string, unknown> };
        receiver.verified.push({ id: String(req.headers["webhook-id"]), type: payload.type, data: payload.data });
      } catch {
        receiver.rejected++;
        res.writeHead(400).end();
        return;
      }
      if (receiver.failNext > 0) {
        receiver.failNext--;
        res.writeHead(500).end();
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receiver.secret = secret;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}

function headersOf(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) if (typeof value === "string") out[key] = value;
  return out;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000, what = "condition"): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A connection's refresh jobs, waiting, running or done (pg-boss's job and archive tables). */
export function refreshJobsOf(h: Harness, connectionId: string) {
  return h.sql<{ state: string; retry_count: number; output: { outcome?: string } | null }>(
    `SELECT state, retry_count, output FROM pgboss.job WHERE name = $1 AND singleton_key = $2
     UNION ALL SELECT state, retry_count, output FROM pgboss.archive WHERE name = $1 AND singleton_key = $2`,
    [QUEUES.refresh, connectionId],
  );
}
