import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "~": fileURLToPath(new URL("./src", import.meta.url)) } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // No socket or DNS lookup leaves the machine, here or in a process a test starts.
    setupFiles: ["../../tooling/network-guard/guard.mjs"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
