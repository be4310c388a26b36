/**
 * Batch-1 greedy generation with the KV cache on the small GPT (the "generation" section of
 * bench/train.ts on its own), next to PyTorch's twin in the same run. Repeats and keeps the best.
 *
 *   node --import tsx bench/generate.ts [--new-tokens 256] [--reps 5] [--backend native|cpu] [--no-torch]
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadNativeBackend, setNumThreads } from "../src/backends/native/index.js";
import { Generator, GPT, KVCache, setBackend, tensor, withNoGrad } from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const newTokens = Number(flag("new-tokens", "256"));
const reps = Number(flag("reps", "5"));
const backend = flag("backend", "native");
const bias = argv.includes("--bias");
const python = process.env.QKV_BENCH_PYTHON ?? "/usr/bin/python3";

if (backend === "native") {
  const native = loadNativeBackend();
  if (!native) {
    console.log("native backend unavailable");
    process.exit(0);
  }
  setBackend(native);
  setNumThreads(1);
}

const model = new GPT(
  { vocabSize: 65, blockSize: newTokens + 1, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias },
  { generator: new Generator(1337) },
).eval();

function run(): { tps: number; ids: number[] } {
  return withNoGrad(() => {
    const cache = new KVCache(4);
    const ids: number[] = [];
    let id = 0;
    const t0 = performance.now();
    for (let t = 0; t < newTokens; t++) {
      const { logits } = model.forward(tensor(Int32Array.of(id), { shape: [1, 1] }), null, {
        cache,
        lastOnly: true,
      });
      const row = logits.toArray();
      let best = 0;
      for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
      id = best;
      ids.push(id);
    }
    return { tps: newTokens / ((performance.now() - t0) / 1000), ids };
  });
}

let best = 0;
let ids: number[] = [];
for (let r = 0; r < reps; r++) {
  const out = run();
  best = Math.max(best, out.tps);
  ids = out.ids;
}
let torchTps = Number.NaN;
if (!argv.includes("--no-torch")) {
  for (let r = 0; r < Math.min(reps, 3); r++) {
    const p = spawnSync(
      python,
      [
        join(root, "bench/torch_gpt.py"),
        "generate",
        "--block",
        String(newTokens + 1),
        "--new-tokens",
        String(newTokens),
      ],
      { encoding: "utf8" },
    );
    if (p.status === 0) {
      const v = JSON.parse(p.stdout.trim().split("\n").pop()!).tokensPerSec as number;
      torchTps = Number.isNaN(torchTps) ? v : Math.max(torchTps, v);
    }
  }
}
console.log(
  `generation (${backend}, bias ${bias}), ${newTokens} new tokens: qkv ${best.toFixed(0)} tok/s (${(1e6 / best).toFixed(0)} µs/token), ` +
    `torch ${torchTps.toFixed(0)} tok/s, ratio ${(best / torchTps).toFixed(2)}×; tokens[0..8] ${ids.slice(0, 8).join(",")}`,
);
