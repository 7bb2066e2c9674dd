import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { startHttpApp, type HttpApp } from "./http-app";

const METRICS_TOKEN = randomBytes(24).toString("base64url");

describe("/api/metrics on the production build", () => {
  let app: HttpApp | undefined;
  afterAll(() => app?.close());

  it("is off (404) without METRICS_TOKEN, even with a bearer", async () => {
    app = await startHttpApp("web-metrics-off", { METRICS_TOKEN: undefined });
    const plain = await app.get("/api/metrics");
    const withBearer = await app.get("/api/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect([plain.status, withBearer.status]).toEqual([404, 404]);
    expect(await withBearer.text()).not.toContain("tokenvault_");
    await app.close();
    app = undefined;
  });

  it("with METRICS_TOKEN: 401 without or with a wrong token, Prometheus text with the right one", async () => {
    app = await startHttpApp("web-metrics-on", { METRICS_TOKEN });
    const answers = [
      await app.get("/api/metrics"),
      await app.get("/api/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } }),
      await app.get("/api/metrics", { headers: { authorization: METRICS_TOKEN } }),
      // An admin's session is not a scraper's token.
      await app.get("/api/metrics", { userId: "alice" }),
    ];
    expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 401]);
    for (const answer of answers) expect(await answer.text()).not.toContain("tokenvault_");

    // The token service answers a request first, so the metrics come from a built service.
    expect((await app.get("/api/trpc/connection.list", { userId: "alice" })).status).toBe(200);
    const ok = await app.get("/api/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    const text = await ok.text();
    for (const name of ["tokenvault_refreshes_total", "tokenvault_refresh_duration_seconds", "tokenvault_refresh_waiters", "tokenvault_lease_contention_total", "tokenvault_provider_errors_total", "tokenvault_vault_operations_total", "tokenvault_store_operations_total", "tokenvault_store_operation_duration_seconds"]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain("process_resident_memory_bytes");
    // The request's session was read from the token store (the app's database by default).
    expect(text).toMatch(/tokenvault_store_operations_total\{backend="postgres",operation="get",outcome="hit"\} [1-9]/);
  });
});
