/**
 * Quick side-by-side of the small GPT's training step (bench/train.ts's configuration: 4 layers,
 * 4 heads, 128 wide, block 64, batch 12) on the native and wasm backends, in one process, at the
 * given thread counts. Steps alternate between backends in rounds, so machine noise hits both.
 *
 *   node --experimental-wasm-relaxed-simd --import tsx bench/wasm-step.ts [--steps 20] [--threads 1,2]
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadNativeBackend, setNumThreads } from "../src/backends/native/index.js";
import { loadWasmBackend, setWasmThreads, wasmInfo } from "../src/backends/wasm/index.js";
import type { Backend } from "../src/index.js";
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

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const steps = Number(flag("steps", "20"));
const threadList = flag("threads", "1,2").split(",").map(Number);
const cfg = { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 64, batchSize: 12 };

const text = readFileSync(join(root, "data/tinyshakespeare.txt"), "utf8");
const tok = CharTokenizer.fromText(text);
const data = TokenDataset.fromText(text, tok);

function trainer(be: Backend) {
  setBackend(be);
  const model = new GPT(
    {
      vocabSize: tok.vocabSize,
      blockSize: cfg.blockSize,
      nLayer: cfg.nLayer,
      nHead: cfg.nHead,
      nEmbd: cfg.nEmbd,
      dropout: 0,
      bias: false,
    },
    { generator: new Generator(1337) },
  );
  const opt = new optim.AdamW(model.configureOptimizerGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
  const sampler = new BatchSampler(data, { seed: 1337 });
  return () => {
    setBackend(be);
    const { x, y } = sampler.getBatch("train", cfg.batchSize, cfg.blockSize);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let loss = 0;
    tidy(() => {
      const out = model.forward(x, y).loss!;
      loss = out.item();
      out.backward();
    });
    optim.clipGradNorm(model.parameters(), 1);
    opt.step();
    opt.zeroGrad();
    const c = process.cpuUsage(c0);
    return { ms: performance.now() - t0, cpu: (c.user + c.system) / 1000, loss };
  };
}

const native = loadNativeBackend();
const wasm = loadWasmBackend();
if (!wasm) throw new Error("wasm backend unavailable");
console.log("wasm:", JSON.stringify(wasmInfo()));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const th of threadList) {
  if (native) setNumThreads(th);
  setWasmThreads(th);
  const runs: Record<string, () => { ms: number; cpu: number; loss: number }> = { wasm: trainer(wasm) };
  if (native) runs.native = trainer(native);
  const ms: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const losses: Record<string, number[]> = {};
  // blocks of 5 steps per backend, the first of each block dropped (the other pool's spinning
  // workers may still hold the cores), after 3 warm-up steps each
  for (const [name, step] of Object.entries(runs))
    for (let s = 0; s < 3; s++) (losses[name] ??= []).push(step().loss);
  for (let done = 0; done < steps; done += 4) {
    for (const [name, step] of Object.entries(runs)) {
      for (let s = 0; s < 5; s++) {
        const r = step();
        if (s > 0) (ms[name] ??= []).push(r.ms);
        if (s > 0) (cpu[name] ??= []).push(r.cpu);
        losses[name].push(r.loss);
      }
    }
  }
  // at 1 thread the process CPU time is a load-independent second opinion
  if (th === 1 && cpu.native) {
    const cw = median(cpu.wasm);
    const cn = median(cpu.native);
    console.log(
      `threads 1 (CPU time): wasm ${cw.toFixed(1)} ms, native ${cn.toFixed(1)} ms, ratio ${(cw / cn).toFixed(2)}`,
    );
  }
  const w = median(ms.wasm);
  const n = ms.native ? median(ms.native) : Number.NaN;
  console.log(
    `threads ${th}: wasm ${w.toFixed(1)} ms/step, native ${n.toFixed(1)} ms/step, ratio ${(w / n).toFixed(2)}; ` +
      `loss after ${losses.wasm.length} steps wasm ${losses.wasm.at(-1)?.toFixed(4)} native ${losses.native?.at(-1)?.toFixed(4)}`,
  );
}
