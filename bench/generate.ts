/**
 * Batch-1 greedy generation with the KV cache on the small GPT (the "generation" section of
 * bench/train.ts on its own), next to PyTorch's twin in the same run. Repeats and keeps the best.
 *
 *   node --import tsx bench/generate.ts [--new-tokens 256] [--reps 5] [--backend native|cpu] [--no-torch]
 */
import { loadNativeBackend, setNumThreads } from "../src/backends/native/index.js";
import { Generator, GPT, setBackend } from "../src/index.js";
import { greedyDecode, torchTwin } from "./shared.js";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const newTokens = Number(flag("new-tokens", "256"));
const reps = Number(flag("reps", "5"));
const backend = flag("backend", "native");
const bias = argv.includes("--bias");

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

let best = 0;
let ids: number[] = [];
for (let r = 0; r < reps; r++) {
  const out = greedyDecode(model, newTokens);
  best = Math.max(best, out.tps);
  ids = out.ids;
}
let torchTps = Number.NaN;
if (!argv.includes("--no-torch")) {
  for (let r = 0; r < Math.min(reps, 3); r++) {
    const v = torchTwin([
      "generate",
      "--block",
      String(newTokens + 1),
      "--new-tokens",
      String(newTokens),
    ])?.tokensPerSec;
    if (v !== undefined) torchTps = Number.isNaN(torchTps) ? v : Math.max(torchTps, v);
  }
}
console.log(
  `generation (${backend}, bias ${bias}), ${newTokens} new tokens: qkv ${best.toFixed(0)} tok/s (${(1e6 / best).toFixed(0)} µs/token), ` +
    `torch ${torchTps.toFixed(0)} tok/s, ratio ${(best / torchTps).toFixed(2)}×; tokens[0..8] ${ids.slice(0, 8).join(",")}`,
);
