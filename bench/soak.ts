/**
 * Memory soak: the small GPT trained for many steps the way the trainer does it (tidy per step,
 * clipping, AdamW), printing RSS, V8 heap, external memory and the pool's counters every 1,000 steps.
 * A leak shows as steady growth after the first thousand steps.
 *
 *   node --import tsx bench/soak.ts [--steps 10000] [--threads 2]
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadNativeBackend, setNumThreads } from "../src/backends/native/index.js";
import {
  BatchSampler,
  CharTokenizer,
  Generator,
  GPT,
  memoryPool,
  optim,
  setBackend,
  TokenDataset,
  tidy,
} from "../src/index.js";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const steps = Number(flag("steps", "10000"));
const native = loadNativeBackend();
if (native) {
  setBackend(native);
  setNumThreads(Number(flag("threads", "2")));
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const text = readFileSync(join(root, "data/tinyshakespeare.txt"), "utf8");
const tok = CharTokenizer.fromText(text);
const data = TokenDataset.fromText(text, tok);
const model = new GPT(
  { vocabSize: tok.vocabSize, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: false },
  { generator: new Generator(1337) },
);
const opt = new optim.AdamW(model.configureOptimizerGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
const sampler = new BatchSampler(data, { seed: 1 });
const mib = (b: number) => (b / 2 ** 20).toFixed(1);

console.log(`soak: ${steps} steps, backend ${native ? "native" : "cpu"}`);
console.log("step     rss MiB  heap MiB  external MiB  pooled MiB  loss");
const t0 = performance.now();
let rssAt1000 = 0;
for (let it = 1; it <= steps; it++) {
  const { x, y } = sampler.getBatch("train", 12, 64);
  const loss = tidy(() => {
    const l = model.forward(x, y).loss!;
    l.backward();
    return l.item();
  });
  optim.clipGradNorm(model.parameters(), 1);
  opt.step();
  opt.zeroGrad();
  if (it % 1000 === 0) {
    const m = process.memoryUsage();
    if (it === 1000) rssAt1000 = m.rss;
    console.log(
      `${String(it).padEnd(9)}${mib(m.rss).padEnd(9)}${mib(m.heapUsed).padEnd(10)}${mib(m.external).padEnd(14)}${memoryPool().pooledMiB.toFixed(1).padEnd(12)}${loss.toFixed(4)}`,
    );
  }
}
const end = process.memoryUsage().rss;
console.log(
  `done in ${((performance.now() - t0) / 1000).toFixed(0)} s; RSS change from step 1000 to ${steps}: ${mib(end - rssAt1000)} MiB; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
);
