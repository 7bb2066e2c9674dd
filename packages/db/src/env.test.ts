import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchRepository, type ScratchRepository } from "./scratch-repository";

// The pool settings, read in a fresh process each (the environment is the child's own).
describe("the database pool settings from the environment", () => {
  let repo: ScratchRepository;
  const envModule = new URL("./env.ts", import.meta.url).href;
  const read = (env: Record<string, string>) => repo.run(`import { dbEnv } from "${envModule}";\nreport(await attempt(() => dbEnv().pool));`, env);

  beforeAll(async () => {
    repo = await createScratchRepository();
  });
  afterAll(() => repo.remove());

  it("defaults to a 5 s connect timeout, a 10 s query timeout and 10 connections; blank means unset", async () => {
    expect((await read({})).report).toEqual({ value: { connectTimeoutMs: 5_000, queryTimeoutMs: 10_000, max: 10 } });
    expect((await read({ DATABASE_CONNECT_TIMEOUT_MS: "", DATABASE_POOL_SIZE: " " })).report).toEqual({ value: { connectTimeoutMs: 5_000, queryTimeoutMs: 10_000, max: 10 } });
  });

  it("takes the three variables", async () => {
    const run = await read({ DATABASE_CONNECT_TIMEOUT_MS: "1500", DATABASE_QUERY_TIMEOUT_MS: "30000", DATABASE_POOL_SIZE: "4" });
    expect(run.report).toEqual({ value: { connectTimeoutMs: 1_500, queryTimeoutMs: 30_000, max: 4 } });
  });

  it("refuses a malformed value, naming the variable", async () => {
    for (const [name, value] of [
      ["DATABASE_CONNECT_TIMEOUT_MS", "5s"],
      ["DATABASE_CONNECT_TIMEOUT_MS", "0"],
      ["DATABASE_QUERY_TIMEOUT_MS", "1.5"],
      ["DATABASE_QUERY_TIMEOUT_MS", "600001"],
      ["DATABASE_POOL_SIZE", "0"],
    ] as const) {
      const { report } = (await read({ [name]: value })) as { report: { error?: { message: string } } };
      expect(report.error?.message, `${name}=${value}`).toMatch(new RegExp(`^Invalid database configuration: ${name}: `));
    }
  });
});
