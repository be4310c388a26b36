/**
 * End-to-end benchmarks of the small character-level GPT (nanoGPT's CPU configuration), each
 * next to PyTorch running the same model in the same run (bench/torch_gpt.py):
 *   - training: ms per optimizer step at 1 and 2 threads;
 *   - generation: tokens/s at batch 1 with the KV cache (greedy);
 *   - memory: peak RSS of a training run, and its growth over the run.
 *
 *   node --import tsx bench/train.ts [--steps 30] [--threads 1,2] [--quick] [--no-torch] [--no-memory]
 *
 * --no-torch skips the PyTorch twin (its columns read n/a); --no-memory skips the memory run.
 * bench/before-after.ts uses both to compare two checkouts on qkv's own figures.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  loadNativeBackend,
  nativeInfo,
  nativeLoadError,
  setNumThreads,
} from "../src/backends/native/index.js";
import {
  BatchSampler,
  CharTokenizer,
  Generator,
  GPT,
  optim,
  setBackend,
  TokenDataset,
  tidy,
} from "../src/index.js";
import { greedyDecode, torchTwin } from "./shared.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const quick = argv.includes("--quick");
const steps = Number(flag("steps", quick ? "10" : "30"));
const threadList = flag("threads", "1,2").split(",").map(Number);
const withTorch = !argv.includes("--no-torch");
const twin = (args: string[]) => (withTorch ? torchTwin(args) : null);

const cfg = { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 64, batchSize: 12 };

function setup(blockSize = cfg.blockSize) {
  const text = readFileSync(join(root, "data/tinyshakespeare.txt"), "utf8");
  const tok = CharTokenizer.fromText(text);
  const data = TokenDataset.fromText(text, tok);
  const model = new GPT(
    {
      vocabSize: tok.vocabSize,
      blockSize,
      nLayer: cfg.nLayer,
      nHead: cfg.nHead,
      nEmbd: cfg.nEmbd,
      dropout: 0,
      bias: false,
    },
    { generator: new Generator(1337) },
  );
  return { tok, data, model };
}

function trainStepMs(threads: number): number {
  setNumThreads(threads);
  const { data, model } = setup();
  const opt = new optim.AdamW(model.configureOptimizerGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
  const sampler = new BatchSampler(data, { seed: 1337 });
  const step = (it: number) => {
    for (const g of opt.paramGroups)
      g.lr = optim.cosineWithWarmupLr(it, { lr: 1e-3, warmupIters: 100, lrDecayIters: 2000, minLr: 1e-4 });
    const { x, y } = sampler.getBatch("train", cfg.batchSize, cfg.blockSize);
    tidy(() => model.forward(x, y).loss!.backward()); // as the Trainer does: recycle the step's buffers
    optim.clipGradNorm(model.parameters(), 1);
    opt.step();
    opt.zeroGrad();
  };
  for (let i = 0; i < 5; i++) step(i);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step(5 + i);
  return (performance.now() - t0) / steps;
}

function generateTokensPerSec(newTokens: number): number {
  setNumThreads(1);
  const { model } = setup(newTokens + 1);
  model.eval();
  return greedyDecode(model, newTokens).tps;
}

function memoryRun(iters: number): { peakMiB: number; growthMiB: number } {
  setNumThreads(2);
  const { data, model } = setup();
  const opt = new optim.AdamW(model.configureOptimizerGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
  const sampler = new BatchSampler(data, { seed: 1 });
  let afterWarmup = 0;
  for (let i = 0; i < iters; i++) {
    const { x, y } = sampler.getBatch("train", cfg.batchSize, cfg.blockSize);
    tidy(() => model.forward(x, y).loss!.backward());
    opt.step();
    opt.zeroGrad();
    if (i === 20) afterWarmup = process.memoryUsage().rss;
  }
  const end = process.memoryUsage().rss;
  return { peakMiB: process.resourceUsage().maxRSS / 1024, growthMiB: (end - afterWarmup) / 2 ** 20 };
}

const pad = (s: string, n: number) => s.padEnd(n);
const native = loadNativeBackend();
if (!native) {
  console.log(`native backend unavailable (${nativeLoadError()}); these benchmarks need it`);
  process.exit(0);
}
setBackend(native);
const info = nativeInfo();
console.log(
  `\n== small GPT (4 layers, 4 heads, 128 wide, block 64, batch 12), qkv native ${info?.isa} vs PyTorch ==`,
);
console.log(`${pad("threads", 9)}${pad("qkv ms/step", 14)}${pad("torch ms/step", 16)}qkv / torch`);
for (const t of threadList) {
  const ours = trainStepMs(t);
  const ref = twin(["train-step", "--threads", String(t), "--steps", String(steps)]);
  const theirs = ref?.msPerStep;
  console.log(
    `${pad(String(t), 9)}${pad(ours.toFixed(1), 14)}${pad(theirs ? theirs.toFixed(1) : "n/a", 16)}${theirs ? (ours / theirs).toFixed(2) : "n/a"}`,
  );
}

const newTokens = 256;
const ours = generateTokensPerSec(newTokens);
const ref = twin(["generate", "--block", String(newTokens + 1), "--new-tokens", String(newTokens)]);
console.log(`\n== generation, batch 1, KV cache, ${newTokens} new tokens, 1 thread ==`);
console.log(
  `qkv ${ours.toFixed(0)} tok/s, torch ${ref ? ref.tokensPerSec.toFixed(0) : "n/a"} tok/s${ref ? `, ratio ${(ours / ref.tokensPerSec).toFixed(2)}×` : ""}`,
);

if (!argv.includes("--no-memory")) {
  const mem = memoryRun(quick ? 100 : 500);
  console.log(`\n== memory: ${quick ? 100 : 500}-step training run ==`);
  console.log(
    `peak RSS ${mem.peakMiB.toFixed(0)} MiB; RSS change from step 20 to the end ${mem.growthMiB.toFixed(1)} MiB`,
  );
}
