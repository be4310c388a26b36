/**
 * Runs every test outside test/native with the native backend selected:
 *   QKV_FORCE_NATIVE=1 npx vitest run --config test/native/vitest.native-suite.config.ts
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/**/*.test.ts"],
    // test/learning trains through the CLI, which picks its backend itself
    // test/wasm has its own runs; test/browser and the package test run in Chromium, where Node's
    // backend plays no part (the default suite runs them once).
    exclude: [
      "test/native/**",
      "test/wasm/**",
      "test/learning/**",
      "test/browser/**",
      "test/arch/package.test.ts",
      "**/node_modules/**",
    ],
    setupFiles: ["test/pool.setup.ts", "test/native/native-suite.setup.ts"],
    testTimeout: 120_000,
    pool: "forks",
  },
});
