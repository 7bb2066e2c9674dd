import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { openDatabase, type Database } from "@tokenvault/db";
import { createTestDatabase, type TestDatabase } from "@tokenvault/db/testing";
import { startSimulator, type SettingsPatch, type Simulator } from "@tokenvault/simulator";
import { startProductionServer, type RunningServer } from "./next-server";

/**
 * The production build on a database and the simulator of its own, for tests that speak HTTP to
 * it as a client would: sessions come from signing in over HTTP (demo users alice/bob of acme),
 * tRPC is called with superjson bodies.
 */
export interface HttpApp {
  server: RunningServer;
  sim: Simulator;
  db: Database;
  url: string;
  /** The Cookie header of a signed-in demo user (one session per user, started on first use). */
  cookie(userId: string): Promise<string>;
  /** POSTs a tRPC mutation (or any body) as `userId`. */
  post(path: string, body: string, init?: { userId?: string; headers?: Record<string, string> }): Promise<Response>;
  /** GETs a path as `userId` (no user: signed out). */
  get(path: string, init?: { userId?: string; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

/** The simulator's settings unless a test gives its own: one organisation per Xero consent (one Xero connection per company, which the seed signatures name), consents approved without a click. */
const DEFAULT_SIMULATOR: SettingsPatch = { autoApprove: true, xeroTenantsPerAuthorization: 1 };

/**
 * `extraEnv`: added to (and overriding) the server's environment; a function gets the test
 * database's URL and the simulator's. `simulator`: its settings, in place of the defaults.
 */
export async function startHttpApp(
  label: string,
  extraEnv: Record<string, string | undefined> | ((databaseUrl: string, simulatorUrl: string) => Record<string, string | undefined>) = {},
  simulator: SettingsPatch = DEFAULT_SIMULATOR,
): Promise<HttpApp> {
  const sim = await startSimulator({ strict: true });
  await sim.updateSettings(simulator);
  const database: TestDatabase = await createTestDatabase(label);
  const db = await openDatabase({ databaseUrl: database.url });
  const server = await startProductionServer((url) => ({
    DATABASE_URL: database.url,
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    SESSION_SECRET: randomBytes(32).toString("base64url"),
    SESSION_COOKIE_SECURE: "0",
    TOKENVAULT_DEMO_USERS: "1",
    PROVIDER_SIMULATOR_URL: sim.url,
    APP_URL: url,
    ...(typeof extraEnv === "function" ? extraEnv(database.url, sim.url) : extraEnv),
  }));
  const sessions = new Map<string, Promise<string>>();
  const cookie = (userId: string) => {
    let session = sessions.get(userId);
    if (!session) sessions.set(userId, (session = signInOverHttp(server.url, userId)));
    return session;
  };
  const headersFor = async (init?: { userId?: string; headers?: Record<string, string> }) => ({
    ...(init?.userId && { cookie: await cookie(init.userId) }),
    ...init?.headers,
  });
  return {
    server,
    sim,
    db,
    url: server.url,
    cookie,
    post: async (path, body, init) =>
      fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...(await headersFor(init)) }, body, redirect: "manual" }),
    get: async (path, init) => fetch(`${server.url}${path}`, { headers: await headersFor(init), redirect: "manual" }),
    close: async () => {
      await server.stop();
      await sim.close();
      await db.close();
      await database.drop();
    },
  };
}

/** Signs a demo user in through POST /api/auth/sign-in; resolves with the Cookie header to send. */
export async function signInOverHttp(url: string, userId: string, password = "tokenvault"): Promise<string> {
  const response = await fetch(`${url}/api/auth/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ userId, password }).toString(),
    redirect: "manual",
  });
  if (response.status !== 200) throw new Error(`sign-in of ${userId} answered ${response.status}: ${await response.text()}`);
  const setCookie = response.headers.getSetCookie()[0] ?? "";
  return setCookie.split(";")[0]!;
}

/** A tRPC input, as the client's superjson link sends it. */
export const superjsonBody = (json: unknown, meta?: unknown) => JSON.stringify(meta === undefined ? { json } : { json, meta });

/** A query string input for a tRPC GET. */
export const queryInput = (json: unknown) => `input=${encodeURIComponent(JSON.stringify({ json }))}`;

/**
 * Sends a raw HTTP request (node:http, so the path and the body are exactly as given: a path
 * fetch would normalise; a body given in chunks is sent chunked, without Content-Length). Resolves with the status and the body,
 * or with the error when the server cuts the connection before answering.
 */
export function rawRequest(
  url: string,
  options: { method: string; path: string; headers?: Record<string, string>; body?: Iterable<Buffer> | AsyncIterable<Buffer> | Buffer },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string } | { error: Error }> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const req = httpRequest({ host: target.hostname, port: target.port, method: options.method, path: options.path, headers: options.headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on("error", (error) => resolve({ error }));
    });
    req.on("error", (error) => resolve({ error }));
    const body = options.body;
    if (!body) return void req.end();
    if (Buffer.isBuffer(body)) return void req.end(body);
    void (async () => {
      try {
        for await (const chunk of body) {
          if (req.destroyed) return;
          if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
        }
        req.end();
      } catch (error) {
        req.destroy(error as Error);
      }
    })();
  });
}
