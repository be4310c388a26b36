import { defineConfig } from "vitest/config";

// The learning checks (`npm run test:learning`): models trained for minutes must reach their
// targets. One file at a time, so they don't compete for the two cores.
export default defineConfig({
  test: {
    include: ["test/learning/**/*.test.ts"],
    testTimeout: 900_000,
    pool: "forks",
    fileParallelism: false,
  },
});
