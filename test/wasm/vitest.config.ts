/**
 * The wasm runtime tests (test/wasm/*.test.ts), with relaxed SIMD enabled in Node 20 (it is on by
 * default in current Chrome and Node ≥ 22), so both module variants are exercised, and with
 * --expose-gc for the storage lifetime test:
 *   npx vitest run --config test/wasm/vitest.config.ts
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/wasm/**/*.test.ts"],
    setupFiles: ["test/pool.setup.ts"],
    testTimeout: 120_000,
    pool: "forks",
    execArgv: ["--experimental-wasm-relaxed-simd", "--expose-gc"],
  },
});
