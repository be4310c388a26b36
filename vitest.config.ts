import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Minutes-long learning checks run separately: `npm run test:learning`.
    exclude: ["test/learning/**", "**/node_modules/**"],
    setupFiles: ["test/pool.setup.ts"],
    testTimeout: 60_000,
    pool: "forks",
  },
});
