/**
 * Runs every test outside test/native and test/wasm with the wasm backend selected:
 *   QKV_FORCE_WASM=1 npx vitest run --config test/wasm/vitest.wasm-suite.config.ts
 * (`npm run test:wasm`). QKV_WASM_THREADS sets its thread count (default 1). It runs the module
 * the engine picks by default: plain SIMD128 on Node 20 (relaxed SIMD there needs a V8 flag); the
 * runtime tests (test/wasm/vitest.config.ts) cover both.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/**/*.test.ts"],
    // test/learning trains through the CLI, which picks its backend itself
    // test/browser and the package test run in Chromium, where Node's backend plays no part (the
    // default suite runs them once).
    exclude: [
      "test/native/**",
      "test/wasm/**",
      "test/learning/**",
      "test/browser/**",
      "test/arch/package.test.ts",
      "**/node_modules/**",
    ],
    setupFiles: ["test/pool.setup.ts", "test/wasm/wasm-suite.setup.ts"],
    testTimeout: 180_000,
    pool: "forks",
  },
});
