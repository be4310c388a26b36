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
    exclude: ["test/native/**", "test/learning/**", "**/node_modules/**"],
    setupFiles: ["test/pool.setup.ts", "test/native/native-suite.setup.ts"],
    testTimeout: 120_000,
    pool: "forks",
  },
});
