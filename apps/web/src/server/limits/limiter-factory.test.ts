import { describe, expect, it } from "vitest";
import { limiterBackend } from "./limiter-factory";

// One backend decision for every limit, following where sessions live.
describe("limiter backend", () => {
  it("counts in Redis when the token store is Redis, in memory for the memory store, otherwise in the app's database", () => {
    expect(limiterBackend({ backend: "redis", url: "redis://127.0.0.1:6379" })).toEqual({ kind: "redis", url: "redis://127.0.0.1:6379" });
    expect(limiterBackend({ backend: "redis", clusterNodes: ["redis://127.0.0.1:7000"] })).toEqual({ kind: "redis-cluster", nodes: ["redis://127.0.0.1:7000"] });
    expect(limiterBackend({ backend: "memory" })).toEqual({ kind: "memory" });
    expect(limiterBackend({ backend: "postgres" })).toEqual({ kind: "database" });
    // The library has no Upstash REST backend: the database keeps limits across processes.
    expect(limiterBackend({ backend: "upstash", url: "https://example.upstash.io", token: "t" })).toEqual({ kind: "database" });
  });
});
