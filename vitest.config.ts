import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Minutes-long learning checks run separately: `npm run test:learning`.
    exclude: ["test/learning/**", "**/node_modules/**"],
    setupFiles: ["test/pool.setup.ts"],
    testTimeout: 60_000,
    pool: "forks",
    // The library picks native (or wasm) by itself when it loads; this suite is the reference
    // backend's. `npm run test:native` reruns it on native; tests of the automatic order spawn
    // processes with their own QKV_BACKEND.
    env: { QKV_BACKEND: "cpu" },
  },
});
