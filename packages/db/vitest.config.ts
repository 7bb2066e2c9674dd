import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // No socket or DNS lookup leaves the machine, here or in a process a test starts.
    setupFiles: ["../../tooling/network-guard/guard.mjs"],
    globalSetup: ["./test/global-setup.ts"],
    // PGlite runs PostgreSQL in WebAssembly: about 6 s for a migration alone, several times that on a
    // busy 2-vCPU machine.
    testTimeout: 90_000,
    hookTimeout: 60_000,
  },
});
