/**
 * What the use-after-recycle check (memoryPool({ checkRecycled })) costs: the small GPT's training
 * step and the tiny one's (where per-op overhead shows most), with the check on and off, alternated
 * round by round in one process. Prints medians and the on/off ratio.
 *
 *   node --import tsx bench/tidy-check.ts [--rounds 15] [--steps 3] [--backend native|wasm|cpu]
 */
import { crossEntropy, Generator, GPT, memoryPool, optim, setBackend, tensor, tidy } from "../src/index.js";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const rounds = Number(flag("rounds", "15"));
const steps = Number(flag("steps", "3"));
setBackend(flag("backend", "native"));

const models = {
  small: {
    cfg: { vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: true },
    B: 12,
  },
  tiny: {
    cfg: { vocabSize: 65, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0, bias: true },
    B: 4,
  },
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const [name, { cfg, B }] of Object.entries(models)) {
  const g = new Generator(0);
  const model = new GPT(cfg, { generator: g });
  const opt = new optim.AdamW(model.parameters(), { lr: 1e-3 });
  const T = cfg.blockSize;
  const ids = Array.from({ length: B * (T + 1) }, () => Math.floor(g.random() * cfg.vocabSize));
  const x = tensor(ids.slice(0, B * T), { dtype: "int32" }).reshape([B, T]);
  const y = tensor(ids.slice(B, B * T + B), { dtype: "int32" }).reshape([B, T]);
  const step = () =>
    tidy(() => {
      opt.zeroGrad();
      const { logits } = model.forward(x);
      const loss = crossEntropy(logits.reshape([B * T, cfg.vocabSize]), y.reshape([B * T]));
      loss.backward();
      opt.step();
    });
  for (let i = 0; i < 3; i++) step();
  const times: Record<"on" | "off", number[]> = { on: [], off: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
      memoryPool({ checkRecycled: mode === "on" });
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) step();
      times[mode].push((performance.now() - t0) / steps);
    }
  }
  memoryPool({ checkRecycled: true });
  const on = median(times.on);
  const off = median(times.off);
  console.log(
    `${name}: check on ${on.toFixed(2)} ms/step, off ${off.toFixed(2)} ms/step, on/off ${(on / off).toFixed(3)}`,
  );
}
