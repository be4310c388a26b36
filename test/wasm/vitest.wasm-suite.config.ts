/**
 * Runs every test outside test/native and test/wasm with the wasm backend selected:
 *   QKV_FORCE_WASM=1 npx vitest run --config test/wasm/vitest.wasm-suite.config.ts
 * (`npm run test:wasm`). QKV_WASM_THREADS sets its thread count (default 1). It runs the
 * relaxed-SIMD module, the one current browsers and Node ≥ 22 pick (Node 20 needs the V8 flag
 * below); QKV_WASM_SIMD=simd runs the plain SIMD128 module instead, which still misses one bound
 * (test/nn/module-parity: 1.7e-5 against 1e-5, GELU's derivative through a product without fused
 * multiply-adds). The runtime tests (test/wasm/vitest.config.ts) cover both modules.
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
    execArgv: ["--experimental-wasm-relaxed-simd"],
  },
});
