import { randomUUID } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RequestLimits } from "~/server/limits/request-limits";
import { closeLimiters, createLimiter, type LimiterBackend } from "~/server/limits/limiter-factory";
import { until } from "../../../packages/store/test/redis-server";
import { startHttpApp, superjsonBody, type HttpApp } from "./http-app";

interface TrpcError {
  error: { json: { message: string; data: { code: string; httpStatus: number; retryAfterSeconds: number | null } } };
}

// Per-user limits of live checks and connects on the production build: over the limit, 429 with
// Retry-After and a TOO_MANY_REQUESTS error saying when to retry. Counters in the app's database
// here (TOKEN_STORE unset), as for sign-in; the Redis backend is tested below.
describe("per-user limits of checks and connects on the production build", () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await startHttpApp("web-rate-limits", { RATE_LIMIT_CHECKS_PER_MINUTE: "3", RATE_LIMIT_CONNECTS_PER_MINUTE: "2", TOKEN_STORE: undefined, REDIS_URL: undefined });
  });
  afterAll(() => app?.close());

  const check = (userId: string) => app.post("/api/trpc/connection.check", superjsonBody({ provider: "quickbooks" }), { userId });
  const connect = (userId: string) => app.post("/api/trpc/connection.connect", superjsonBody({ provider: "quickbooks" }), { userId });

  it("answers a member's fourth check within a minute with 429, Retry-After and a clear error; other users are not affected", async () => {
    for (let i = 0; i < 3; i++) expect((await check("bob")).status).not.toBe(429);
    const refused = await check("bob");
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const body = (await refused.json()) as TrpcError;
    expect(body.error.json.message).toBe(`Too many connection checks. Try again in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.`);
    expect(body.error.json.data).toMatchObject({ code: "TOO_MANY_REQUESTS", httpStatus: 429, retryAfterSeconds: retryAfter });
    // Counted in the app's database (shared by every process), the refused call included, under
    // a keyed hash: no company or user id in clear.
    const rows = await app.db.prisma.rateLimiterFlexible.findMany({ where: { key: { startsWith: "tokenvault:limit:check:" } } });
    expect(rows.map((r) => r.points)).toEqual([4]);
    expect(rows[0]!.key).toMatch(/^tokenvault:limit:check:[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(rows)).not.toMatch(/acme|bob/);
    // Another member of the same company has their own allowance.
    expect((await check("dave")).status).not.toBe(429);
  });

  it("limits connects per user, and a batch past the limit is refused for the calls over it", async () => {
    expect((await connect("alice")).status).toBe(200);
    const batch = await app.post(
      "/api/trpc/connection.connect,connection.connect,connection.connect?batch=1",
      JSON.stringify({ 0: { json: { provider: "quickbooks" } }, 1: { json: { provider: "quickbooks" } }, 2: { json: { provider: "quickbooks" } } }),
      { userId: "alice" },
    );
    expect(batch.headers.get("retry-after")).toMatch(/^\d+$/);
    const results = (await batch.json()) as ({ result: unknown } | TrpcError)[];
    // The calls of a batch run concurrently: which one took the last point does not matter.
    expect(results.map((r) => ("error" in r ? r.error.json.data.code : "OK")).sort()).toEqual(["OK", "TOO_MANY_REQUESTS", "TOO_MANY_REQUESTS"]);
    // Only the calls that passed created states.
    expect(await app.db.prisma.oAuthState.count({ where: { companyId: "acme", userId: "alice" } })).toBe(2);
  });
});

describe("limits shared through Redis", () => {
  const url = "redis://127.0.0.1:6379";
  const backend: LimiterBackend = { kind: "redis", url };
  afterAll(() => closeLimiters());

  it("two processes' limiters count against one allowance when the token store is Redis", async () => {
    const probe = createClient({ url });
    await probe.connect();
    // Counting reaches Redis once the limiters' client is ready (until then, the in-memory insurance).
    const ready = `ready-${randomUUID()}`;
    const readiness = await createLimiter({ name: ready, points: 1_000, durationSeconds: 60 }, backend);
    await until(5_000, async () => {
      await readiness.consume("probe");
      return (await probe.get(`tokenvault:limit:${ready}:probe`)) === null ? undefined : true;
    }, "the limiters' Redis client ready");
    await probe.del(`tokenvault:limit:${ready}:probe`);
    const caller = { companyId: `co-${randomUUID()}`, userId: "bob" };
    // Two RequestLimits, as two app processes build them: each with its own in-memory insurance.
    const first = await RequestLimits.create({ checksPerMinute: 2, connectsPerMinute: 1, webhookChangesPerMinute: 1 }, "test-limit-key-secret", backend);
    const second = await RequestLimits.create({ checksPerMinute: 2, connectsPerMinute: 1, webhookChangesPerMinute: 1 }, "test-limit-key-secret", backend);
    await first.take("check", caller);
    await second.take("check", caller);
    const refused = await first.take("check", caller).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(TRPCError);
    expect((refused as TRPCError).code).toBe("TOO_MANY_REQUESTS");

    try {
      const key = `tokenvault:limit:check:${first.key(caller)}`;
      expect(Number(await probe.get(key))).toBe(3);
      await probe.del(key);
    } finally {
      await probe.close();
    }
  });
});
