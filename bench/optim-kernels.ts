/**
 * The native multi-tensor optimizer kernels (adamStepMulti, sumOfSquares, scaleInPlace) on a list
 * shaped like GPT-2 small's parameters (124M float32 elements), ms per call, median of --reps.
 *
 *   flock /tmp/bench.lock node --import tsx bench/optim-kernels.ts [--threads 1] [--reps 5]
 */
import { loadNativeBackend, setNumThreads } from "../src/backends/native/index.js";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return Number(i >= 0 ? argv[i + 1] : fallback);
};
const native = loadNativeBackend();
if (!native) {
  console.log("native backend unavailable; this benchmark needs it");
  process.exit(0);
}
setNumThreads(flag("threads", "1"));
const reps = flag("reps", "5");
// GPT-2 small: wte, wpe, then 12 × (ln, attn qkv, proj, ln, fc, proj) and the final ln.
const sizes = [50257 * 768, 1024 * 768];
for (let l = 0; l < 12; l++)
  sizes.push(768, 768, 768 * 2304, 2304, 768 * 768, 768, 768, 768, 768 * 3072, 3072, 3072 * 768, 768);
sizes.push(768, 768);
const fill = (n: number, s: number) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = s * Math.sin(i * 0.37 + s);
  return a;
};
const params = sizes.map((n) => fill(n, 0.02));
const grads = sizes.map((n) => fill(n, 0.001));
const m = sizes.map((n) => new Float32Array(n));
const v = sizes.map((n) => new Float32Array(n));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const time = (f: () => void) => {
  f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    ts.push(performance.now() - t);
  }
  return median(ts);
};
let step = 0;
const adam = time(() =>
  native.adamStepMulti({
    params,
    grads,
    expAvgs: m,
    expAvgSqs: v,
    maxExpAvgSqs: null,
    lr: 3e-4,
    beta1: 0.9,
    beta2: 0.95,
    eps: 1e-8,
    weightDecay: 0.1,
    step: ++step,
    decoupled: true,
  }),
);
const out = new Float64Array(sizes.length);
const ss = time(() => native.sumOfSquares({ xs: grads, out }));
const sc = time(() => native.scaleInPlace({ xs: grads, scale: 1 }));
const n = sizes.reduce((a, b) => a + b, 0);
console.log(
  `${(n / 1e6).toFixed(1)}M elements: adamStepMulti ${adam.toFixed(1)} ms, sumOfSquares ${ss.toFixed(1)} ms, scaleInPlace ${sc.toFixed(1)} ms`,
);
