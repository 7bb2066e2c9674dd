import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetDbEnvCacheForTests } from "./env";
import { runtimeMode, runtimeModeOf } from "./runtime-mode";
import { createScratchRepository, type ScratchRepository } from "./scratch-repository";

describe("runtimeModeOf", () => {
  it("treats development and test as the development modes", () => {
    expect(runtimeModeOf("development", undefined)).toEqual({ mode: "development", development: true, production: false, database: "embedded", devSecrets: true });
    expect(runtimeModeOf("test", undefined)).toEqual({ mode: "test", development: true, production: false, database: "embedded", devSecrets: true });
  });

  it("treats production, any other value and an unset NODE_ENV as production", () => {
    for (const nodeEnv of ["production", undefined, "", "staging", "Development", " test"]) {
      expect(runtimeModeOf(nodeEnv, undefined)).toEqual({ mode: "production", development: false, production: true, database: "embedded", devSecrets: false });
    }
  });

  it("generates development secrets only in development or test on the embedded database", () => {
    expect(runtimeModeOf("development", "postgresql://db.example.com/tokenvault")).toMatchObject({ database: "server", devSecrets: false });
    expect(runtimeModeOf("test", "postgresql://db.example.com/tokenvault")).toMatchObject({ database: "server", devSecrets: false });
    expect(runtimeModeOf(undefined, "postgresql://db.example.com/tokenvault")).toMatchObject({ database: "server", production: true, devSecrets: false });
  });
});

describe("runtimeMode() read from the environment", () => {
  let repo: ScratchRepository;
  const runtimeModeModule = new URL("./runtime-mode.ts", import.meta.url).href;
  const envModule = new URL("./env.ts", import.meta.url).href;

  beforeAll(async () => {
    repo = await createScratchRepository();
  });
  afterAll(() => repo.remove());

  it("is production when NODE_ENV is unset", async () => {
    const run = await repo.run(`import { runtimeMode } from "${runtimeModeModule}";\nreport(runtimeMode());`);
    expect(run.report).toEqual({ mode: "production", development: false, production: true, database: "embedded", devSecrets: false });
  });

  it("follows NODE_ENV and DATABASE_URL", async () => {
    const run = await repo.run(`import { runtimeMode } from "${runtimeModeModule}";\nreport(runtimeMode());`, {
      NODE_ENV: "development",
      DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/unused",
    });
    expect(run.report).toEqual({ mode: "development", development: true, production: false, database: "server", devSecrets: false });
  });

  it("reads the environment once, until the cache is reset", async () => {
    const source = [
      `import { runtimeMode } from "${runtimeModeModule}";`,
      `import { resetDbEnvCacheForTests } from "${envModule}";`,
      `const first = runtimeMode().mode;`,
      `process.env.NODE_ENV = "development";`,
      `const cached = runtimeMode().mode;`,
      `resetDbEnvCacheForTests();`,
      `report({ first, cached, reset: runtimeMode().mode });`,
    ].join("\n");
    const run = await repo.run(source, { NODE_ENV: "production" });
    expect(run.report).toEqual({ first: "production", cached: "production", reset: "development" });
  });

  it("in this process (vitest sets NODE_ENV=test) is the test mode", () => {
    // Whatever earlier tests did, a fresh read of this process's environment.
    resetDbEnvCacheForTests();
    expect(runtimeMode()).toMatchObject({ mode: "test", development: true, production: false });
  });
});
