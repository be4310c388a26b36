/**
 * One GPT-2 small (124M: 12 layers, 12 heads, 768 wide, 50257 vocab, tied LM head) training step
 * on the native backend: forward with loss, backward, AdamW. Prints ms per step (after warmup) and
 * the process's peak RSS (VmHWM). PyTorch's twin is bench/gpt2_step_torch.py.
 *
 *   flock /tmp/bench.lock node --import tsx bench/gpt2-step.ts [--batch 4] [--seq 128] [--steps 3] [--threads 2]
 */
import { readFileSync } from "node:fs";
import { loadNativeBackend, nativeLoadError, setNumThreads } from "../src/backends/native/index.js";
import { Generator, GPT, optim, randint, setBackend, tidy } from "../src/index.js";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return Number(i >= 0 ? argv[i + 1] : fallback);
};
const B = flag("batch", "4");
const T = flag("seq", "128");
const steps = flag("steps", "3");
const warmup = flag("warmup", "1");
const threads = flag("threads", "2");

const native = loadNativeBackend();
if (!native) {
  console.log(`native backend unavailable (${nativeLoadError()}); this benchmark needs it`);
  process.exit(0);
}
setBackend(native);
setNumThreads(threads);

const hwmMiB = () => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
};

const gen = new Generator(1337);
const V = 50257;
const model = new GPT(
  { vocabSize: V, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768, dropout: 0, bias: true },
  { generator: gen },
);
const opt = new optim.AdamW(model.configureOptimizerGroups(0.1), { lr: 3e-4, betas: [0.9, 0.95] });
const afterInit = hwmMiB();
const step = () => {
  const x = randint(0, V, [B, T], { generator: gen });
  const y = randint(0, V, [B, T], { generator: gen });
  const loss = tidy(() => {
    const l = model.forward(x, y).loss!;
    l.backward();
    return l.item();
  });
  opt.step();
  opt.zeroGrad();
  return loss;
};
for (let i = 0; i < warmup; i++) step();
const times: number[] = [];
let loss = 0;
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  loss = step();
  times.push(performance.now() - t0);
}
const mean = times.reduce((a, b) => a + b, 0) / times.length;
console.log(
  JSON.stringify({
    impl: "qkv-native",
    B,
    T,
    threads,
    msPerStep: Math.round(mean),
    steps: times.map((t) => Math.round(t)),
    peakRssMiB: Math.round(hwmMiB()),
    rssAfterInitMiB: Math.round(afterInit),
    loss: Number(loss.toFixed(4)),
  }),
);
