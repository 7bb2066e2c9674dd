import { createScratchRepository, type ScratchRepository } from "@tokenvault/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const validateModule = new URL("./validate-environment.ts", import.meta.url).href;
const probe = `import { validateEnvironment } from "${validateModule}";\nvalidateEnvironment();\nreport("started");`;
const valid = { SESSION_SECRET: "s".repeat(40), TOKEN_ENCRYPTION_KEY: "a".repeat(64) };

describe("the web server's start-up check, in a fresh process", () => {
  let repo: ScratchRepository;
  beforeAll(async () => {
    repo = await createScratchRepository();
  });
  afterAll(() => repo.remove());

  it("starts with a valid environment", async () => {
    const run = await repo.run(probe, valid);
    expect(run.report, run.stderr).toBe("started");
  });

  it("refuses to start on a bad TOKEN_STORE, naming it and not its value (it started and failed later, on the first session)", async () => {
    const run = await repo.run(probe, { ...valid, TOKEN_STORE: "nonsense-store" });
    expect(run.report).toBeUndefined();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Tokenvault cannot start: Invalid token store configuration: TOKEN_STORE:");
    expect(run.stderr).not.toContain("nonsense-store");
  });
});
