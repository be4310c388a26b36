/**
 * Before/after in one process: loads this checkout and another (`--base`) side by side and
 * alternates them round by round on the same model, so both see the same machine state. It
 * reports the small GPT's training step (ms, median of rounds) and greedy KV-cache generation
 * (tok/s of wall and of CPU time, median and best), with this/base ratios. Both trees need their
 * native addon built (`node scripts/build-native.mjs`); both must have bench/shared.ts.
 *
 *   node --import tsx bench/ab-inprocess.ts --base ../qkv-before [--rounds 20] [--tokens 200]
 *     [--threads 1] [--model small|tiny]
 *
 * bench/before-after.ts runs each tree in its own process instead (closer to `npm run bench`, but
 * noisier on a shared machine, where the load changes between processes).
 */
import { resolve } from "node:path";

const argv = process.argv.slice(2);
function flag(name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}
const baseDir = flag("base", "");
if (!baseDir) {
  console.error(
    "usage: bench/ab-inprocess.ts --base <qkv checkout> [--rounds 20] [--tokens 200] [--threads 1] [--model small|tiny]",
  );
  process.exit(2);
}
const rounds = Number(flag("rounds", "20"));
const tokens = Number(flag("tokens", "200"));
const threads = Number(flag("threads", "1"));
const models = {
  // bench/train.ts's model (nanoGPT's small character-level configuration)
  small: { vocabSize: 65, blockSize: 256, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: true },
  // per-op overhead dominates here
  tiny: { vocabSize: 65, blockSize: 256, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0, bias: true },
};
const config = models[flag("model", "small") as keyof typeof models];
if (!config) throw new Error(`--model must be one of ${Object.keys(models).join(", ")}`);

// biome-ignore lint/suspicious/noExplicitAny: two versions of the library, typed by neither
type Lib = { name: string; q: any; native: any; shared: any };
const trees = [resolve(baseDir), resolve(import.meta.dirname, "..")];
const libs: Lib[] = [];
for (const [i, root] of trees.entries()) {
  libs.push({
    name: i === 0 ? "base" : "this",
    q: await import(`${root}/src/index.ts`),
    native: await import(`${root}/src/backends/native/index.ts`),
    shared: await import(`${root}/bench/shared.ts`),
  });
}

function select(lib: Lib): void {
  lib.q.setBackend("native");
  lib.native.setNumThreads(threads);
}

const gen = libs.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
const train = libs.map(() => [] as number[]);
const decoders = libs.map((lib) => {
  select(lib);
  const m = new lib.q.GPT(config, { generator: new lib.q.Generator(1337) });
  m.eval();
  return m;
});
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < 2; k++) {
    const i = (k + round) % 2; // alternate which tree goes first
    const lib = libs[i];
    select(lib);
    // generation: greedy, batch 1, KV cache
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    lib.shared.greedyDecode(decoders[i], tokens);
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    gen[i].wall.push((1000 * tokens) / wall);
    gen[i].cpu.push((1e6 * tokens) / (c.user + c.system));
    // training: AdamW steps at B 12, T 64
    const { q } = lib;
    const model = new q.GPT({ ...config, blockSize: 64 }, { generator: new q.Generator(1337) });
    const opt = new q.optim.AdamW(model.parameters(), { lr: 1e-3 });
    const x = q.randint(0, config.vocabSize, [12, 64], { dtype: "int32", generator: new q.Generator(1) });
    const y = q.randint(0, config.vocabSize, [12, 64], { dtype: "int32", generator: new q.Generator(2) });
    const step = () =>
      q.tidy(() => {
        model.forward(x, y).loss.backward();
        opt.step();
        opt.zeroGrad();
      });
    step();
    const s0 = performance.now();
    for (let s = 0; s < 5; s++) step();
    train[i].push((performance.now() - s0) / 5);
  }
}

const median = (a: number[]) => [...a].sort((u, v) => u - v)[Math.floor(a.length / 2)];
const best = (a: number[]) => Math.max(...a);
const row = (what: string, f: (i: number) => number, better: string) =>
  console.log(
    `${what.padEnd(40)} ${f(0).toFixed(1).padStart(9)} ${f(1).toFixed(1).padStart(9)} ${(f(1) / f(0)).toFixed(3).padStart(10)}  ${better}`,
  );
console.log(
  `\n== in-process A/B: ${rounds} alternating rounds, model ${flag("model", "small")}, ${threads} thread(s) ==`,
);
console.log(`base ${trees[0]}\nthis ${trees[1]}`);
console.log(
  `${"figure".padEnd(40)} ${"base".padStart(9)} ${"this".padStart(9)} ${"this/base".padStart(10)}  better`,
);
row("train ms/step (median)", (i) => median(train[i]), "lower");
row("generate tok/s, wall (median)", (i) => median(gen[i].wall), "higher");
row("generate tok/s, wall (best)", (i) => best(gen[i].wall), "higher");
row("generate tok/CPU-s (median)", (i) => median(gen[i].cpu), "higher");
row("generate tok/CPU-s (best)", (i) => best(gen[i].cpu), "higher");
