/**
 * Per-kernel profile of the small GPT's training step on the native backend: every backend call is
 * timed and grouped (GEMMs by shape and transposes), next to the whole step's time, so the share
 * spent outside the kernels (JS, allocation, GC) shows as the difference.
 *
 *   node --import tsx bench/profile.ts [--threads 1] [--steps 50]
 *   node --import tsx bench/profile.ts --model gpt2 [--threads 2] [--steps 2]   (GPT-2 small, B4 T128, random tokens)
 *   node --import tsx bench/profile.ts --decode FOLDER [--threads 1] [--tokens 32]
 *     (greedy decoding of an HF GPT-2 folder, e.g. the one bench/scale.ts saves in its --cache-dir;
 *     the figures are per generated token)
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
  generate,
  gptStepModel,
  optim,
  randint,
  setBackend,
  TokenDataset,
  tidy,
} from "../src/index.js";
import { fromPretrained } from "../src/node.js";

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
// Every function of the backend is wrapped, and so are those of its nested capability objects
// (`fused.transformerLayer.forward` is timed under that name).
const wrap = (src: object, prefix: string): Record<string, unknown> => {
  const out = Object.create(Object.getPrototypeOf(src)) as Record<string, unknown>;
  for (const [k, f] of Object.entries(src)) {
    if (f && typeof f === "object" && !ArrayBuffer.isView(f) && !Array.isArray(f))
      out[k] = wrap(f, `${prefix}${k}.`);
    else
      out[k] = typeof f === "function" ? timer(src, `${prefix}${k}`, f as (...a: unknown[]) => unknown) : f;
  }
  return out;
};
const timer =
  (self: object, k: string, f: (...a: unknown[]) => unknown) =>
  (...args: unknown[]) => {
    const t = performance.now();
    const r = f.apply(self, args);
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
const timed = wrap(native, "");
setBackend(timed as unknown as Backend);
const threads = Number(flag("threads", "1"));
setNumThreads(threads);

const report = (total: number, per: number, unit: string) => {
  const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms);
  const inKernels = rows.reduce((s, [, v]) => s + v.ms, 0) / per;
  console.log(
    `${threads} thread(s): ${total.toFixed(1)} ms/${unit}, ${inKernels.toFixed(1)} ms in kernels, ${(total - inKernels).toFixed(1)} ms outside`,
  );
  for (const [k, v] of rows.slice(0, 30))
    console.log(
      `${(v.ms / per).toFixed(2).padStart(7)} ms ${String(+(v.n / per).toFixed(2)).padStart(5)}/${unit}  ${k}`,
    );
};

const decodeDir = flag("decode", "");
if (decodeDir) {
  const model = (await fromPretrained(GPT, decodeDir)).eval();
  const tokens = Number(flag("tokens", "32"));
  const prompt = [464, 2068, 7586, 21831, 18045, 625, 262, 16931].map((t) => t % model.config.vocabSize);
  const run = () => generate(gptStepModel(model), prompt, { maxNewTokens: tokens, temperature: 0 });
  run();
  stats.clear();
  const t0 = performance.now();
  run();
  report((performance.now() - t0) / tokens, tokens, "token");
  process.exit(0);
}

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
report((performance.now() - t0) / steps, steps, "step");
