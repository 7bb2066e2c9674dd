import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMetricsServer, type MetricsServer } from "./metrics-server";

const TOKEN = randomBytes(24).toString("base64url");

describe("the worker's metrics listener", () => {
  let server: MetricsServer;
  let url: string;
  beforeAll(async () => {
    server = await startMetricsServer({ port: 0, token: TOKEN, host: "127.0.0.1" });
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.close());

  it("listens on loopback only when no host is given", async () => {
    const unbound = await startMetricsServer({ port: 0, token: TOKEN });
    try {
      expect(unbound.address).toBe("127.0.0.1");
    } finally {
      await unbound.close();
    }
  });

  it("answers 401 without the bearer or with a wrong one, 404 elsewhere", async () => {
    const answers = [
      await fetch(`${url}/metrics`),
      await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } }),
      await fetch(`${url}/metrics`, { headers: { authorization: TOKEN } }),
      await fetch(`${url}/other`, { headers: { authorization: `Bearer ${TOKEN}` } }),
    ];
    expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 404]);
    for (const answer of answers) expect(await answer.text()).not.toContain("tokenvault_");
  });

  it("serves Prometheus text with the token metrics to the right bearer", async () => {
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain("# TYPE tokenvault_refreshes_total counter");
    expect(text).toContain("# TYPE tokenvault_refresh_duration_seconds histogram");
    expect(text).toContain("process_resident_memory_bytes");
  });
});
