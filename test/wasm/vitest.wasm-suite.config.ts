/**
 * Runs every test outside test/native and test/wasm with the wasm backend selected:
 *   QKV_FORCE_WASM=1 npx vitest run --config test/wasm/vitest.wasm-suite.config.ts
 * (`npm run test:wasm`). QKV_WASM_THREADS sets its thread count (default 1). Node 20 gets the flag
 * for relaxed SIMD, so the suite runs the module browsers and newer Node pick; QKV_WASM_SIMD=simd
 * forces the plain SIMD128 one.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/**/*.test.ts"],
    // test/learning trains through the CLI, which picks its backend itself
    exclude: ["test/native/**", "test/wasm/**", "test/learning/**", "**/node_modules/**"],
    setupFiles: ["test/pool.setup.ts", "test/wasm/wasm-suite.setup.ts"],
    testTimeout: 180_000,
    pool: "forks",
    execArgv: ["--experimental-wasm-relaxed-simd"],
  },
});
