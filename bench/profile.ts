/**
 * Per-kernel profile of the small GPT's training step on the native backend: every backend call is
 * timed and grouped (GEMMs by shape and transposes), next to the whole step's time, so the share
 * spent outside the kernels (JS, allocation, GC) shows as the difference.
 *
 *   node --import tsx bench/profile.ts [--threads 1] [--steps 50]
 *   node --import tsx bench/profile.ts --model gpt2 [--threads 2] [--steps 2]   (GPT-2 small, B4 T128, random tokens)
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend } from "../src/backend/backend.js";
import { loadNativeBackend, setNumThreads } from "../src/backends/native/index.js";
import {
  BatchSampler,
  CharTokenizer,
  Generator,
  GPT,
  optim,
  randint,
  setBackend,
  TokenDataset,
  tidy,
} from "../src/index.js";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const native = loadNativeBackend();
if (!native) {
  console.log("native backend unavailable; this profile needs it");
  process.exit(0);
}
const stats = new Map<string, { n: number; ms: number }>();
const timed = Object.create(Object.getPrototypeOf(native)) as Record<string, unknown>;
for (const [k, f] of Object.entries(native)) {
  if (typeof f !== "function") {
    timed[k] = f;
    continue;
  }
  timed[k] = (...args: unknown[]) => {
    const t = performance.now();
    const r = (f as (...a: unknown[]) => unknown).apply(native, args);
    const ms = performance.now() - t;
    let key = k;
    if (k === "gemm") {
      const g = args[0] as { M: number; N: number; K: number; transA: boolean; transB: boolean };
      key = `gemm ${g.M}×${g.N}×${g.K} ${g.transA ? "T" : "N"}${g.transB ? "T" : "N"}`;
    } else {
      // Table-driven kernels (unary, unaryBackward, binary, reduce, ...) take one args object whose
      // `op` names the row; group by it.
      const op = (args[0] as { op?: unknown } | undefined)?.op;
      if (typeof op === "string") key = `${k} ${op}`;
    }
    const s = stats.get(key) ?? { n: 0, ms: 0 };
    s.n++;
    s.ms += ms;
    stats.set(key, s);
    return r;
  };
}
setBackend(timed as unknown as Backend);
const threads = Number(flag("threads", "1"));
setNumThreads(threads);

const gpt2 = flag("model", "small") === "gpt2";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const text = readFileSync(join(root, "data/tinyshakespeare.txt"), "utf8");
const tok = CharTokenizer.fromText(text);
const data = TokenDataset.fromText(text, tok);
const gen = new Generator(1337);
const model = gpt2
  ? new GPT(
      { vocabSize: 50257, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768, dropout: 0, bias: true },
      { generator: gen },
    )
  : new GPT(
      { vocabSize: tok.vocabSize, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: false },
      { generator: gen },
    );
const opt = new optim.AdamW(model.configureOptimizerGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
const sampler = new BatchSampler(data, { seed: 1337 });
const steps = Number(flag("steps", gpt2 ? "2" : "50"));
const step = () => {
  const { x, y } = gpt2
    ? {
        x: randint(0, 50257, [4, 128], { generator: gen }),
        y: randint(0, 50257, [4, 128], { generator: gen }),
      }
    : sampler.getBatch("train", 12, 64);
  tidy(() => model.forward(x, y).loss!.backward());
  optim.clipGradNorm(model.parameters(), 1);
  opt.step();
  opt.zeroGrad();
};
for (let i = 0; i < (gpt2 ? 1 : 5); i++) step();
stats.clear();
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const total = (performance.now() - t0) / steps;
const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms);
const inKernels = rows.reduce((s, [, v]) => s + v.ms, 0) / steps;
console.log(
  `${threads} thread(s): ${total.toFixed(1)} ms/step, ${inKernels.toFixed(1)} ms in kernels, ${(total - inKernels).toFixed(1)} ms outside`,
);
for (const [k, v] of rows.slice(0, 30))
  console.log(`${(v.ms / steps).toFixed(2).padStart(7)} ms ${String(v.n / steps).padStart(5)}/step  ${k}`);
