import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // No socket or DNS lookup leaves the machine, here or in a process a test starts.
    setupFiles: ["../../tooling/network-guard/guard.mjs"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
