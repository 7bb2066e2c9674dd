// The database goes away under the running production server (a TCP proxy of the test's own
// between them refuses or black-holes its connections): the API answers 503 with a clear
// message within the configured timeouts, /api/health reports the outage, and both answer
// normally again once the database is back, without a restart.
import { randomBytes } from "node:crypto";
import { dbEnv } from "@tokenvault/db";
import { TcpProxy } from "@tokenvault/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpApp, type HttpApp } from "./http-app";

const HEALTH_TOKEN = randomBytes(24).toString("base64url");
const CONNECT_TIMEOUT_MS = 1_000;
const QUERY_TIMEOUT_MS = 1_000;
/** Twice the worst case of one call (a connect, then a query past its one-second client grace). */
const BOUND_MS = 2 * (CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS + 1_000);
const MESSAGE = "The token database is not answering. Try again shortly.";

describe("the production server when its database becomes unreachable", () => {
  let proxy: TcpProxy;
  let app: HttpApp;

  beforeAll(async () => {
    proxy = await TcpProxy.forUrl(dbEnv().pgAdminUrl);
    app = await startHttpApp("web-outage", (databaseUrl) => ({
      DATABASE_URL: proxy.urlFor(databaseUrl),
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      HEALTH_TOKEN,
    }));
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await proxy?.close();
  });

  const health = () => fetch(`${app.url}/api/health`, { headers: { authorization: `Bearer ${HEALTH_TOKEN}` } });
  const list = () => app.get("/api/trpc/connection.list", { userId: "alice" });

  async function timed(call: () => Promise<Response>): Promise<{ status: number; body: string; ms: number }> {
    const started = performance.now();
    const response = await call();
    const body = await response.text();
    return { status: response.status, body, ms: Math.round(performance.now() - started) };
  }

  async function expectOutageAnswers(): Promise<void> {
    const api = await timed(list);
    expect(api.status).toBe(503);
    expect(api.ms).toBeLessThan(BOUND_MS);
    const error = (JSON.parse(api.body) as { error: { json: { message: string; data: { code: string; tokenErrorCode: string; stack?: string } } } }).error.json;
    expect(error.message).toBe(MESSAGE);
    expect(error.data.code).toBe("SERVICE_UNAVAILABLE");
    expect(error.data.tokenErrorCode).toBe("VAULT_UNAVAILABLE");
    expect(error.data.stack).toBeUndefined();
    expect(api.body).not.toMatch(/Prisma|invocation|\.ts:|postgres(ql)?:\/\//);

    const report = await timed(health);
    expect(report.status).toBe(503);
    expect(report.ms).toBeLessThan(BOUND_MS);
    expect(JSON.parse(report.body)).toEqual({ status: "unavailable", database: null });
  }

  async function expectRecovered(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while ((await list()).status !== 200) {
      if (Date.now() > deadline) throw new Error("the API did not answer again within 15 s");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect((await health()).status).toBe(200);
  }

  it("refused connections: 503 with a clear message, health unavailable; then normal again", async () => {
    expect((await list()).status).toBe(200);
    expect((await health()).status).toBe(200);
    proxy.down();
    try {
      await expectOutageAnswers();
    } finally {
      proxy.restore();
    }
    await expectRecovered();
  });

  it("a silent database (black hole): 503 within the bound, health unavailable; then normal again", async () => {
    expect((await list()).status).toBe(200);
    proxy.setMode("blackhole");
    proxy.cutAll();
    try {
      await expectOutageAnswers();
    } finally {
      proxy.restore();
    }
    await expectRecovered();
  });
});
