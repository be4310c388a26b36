/**
 * `npm run bench`: every benchmark in one run, each figure beside PyTorch's measured in the same
 * run: GEMM throughput (bench/gemm.ts), then the small GPT's training step, generation speed and
 * memory (bench/train.ts). Extra arguments (e.g. --quick, --threads 1,2) are passed to both.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
let failed = false;
for (const script of ["gemm.ts", "train.ts"]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(here, script), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  if (r.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
