import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // No socket or DNS lookup leaves the machine, here or in a process a test starts.
    setupFiles: ["../../tooling/network-guard/guard.mjs"],
    // Property tests run thousands of cases: on a loaded 2-CPU machine one took 7 s (vitest's default is 5 s).
    testTimeout: 30_000,
  },
});
