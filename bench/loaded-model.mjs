// What a model loaded by `fromPretrained(GPT, dir)` costs after the load (bench/load.ts times the
// load itself): greedy decoding with the KV cache (tokens/s of 64 new tokens after a 16-token
// prompt and a short warm-up), or with `train` AdamW steps on 1×64 tokens (the first step, which
// takes the copy-on-write faults of a mapped model, and the mean of the next three). Runs the
// compiled library of ROOT (default: this checkout; `npx tsc -p tsconfig.build.json` first), so an
// older commit extracted and built elsewhere can be measured side by side, alternating:
//   flock /tmp/bench.lock node bench/loaded-model.mjs /tmp/gpt2-small [decode|train] [ROOT]
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [dir, mode = "decode", rootArg] = process.argv.slice(2);
if (!dir) throw new Error("usage: node bench/loaded-model.mjs DIR [decode|train] [ROOT]");
const root = rootArg ?? join(dirname(fileURLToPath(import.meta.url)), "..");
const { GPT, generate, gptStepModel, optim, setBackend, tensor } = await import(`${root}/dist/src/index.js`);
const { fromPretrained } = await import(`${root}/dist/src/node.js`);
const { loadNativeBackend, nativeLoadError } = await import(`${root}/dist/src/backends/native/index.js`);
const native = loadNativeBackend();
if (!native) throw new Error(`native backend unavailable: ${nativeLoadError()}`);
setBackend(native);
const model = await fromPretrained(GPT, dir);
const V = model.config.vocabSize;

if (mode === "decode") {
  const prompt = Array.from({ length: 16 }, (_, i) => (i * 7) % V);
  generate(gptStepModel(model), prompt, { maxNewTokens: 4, temperature: 0 });
  const t0 = performance.now();
  const r = generate(gptStepModel(model), prompt, { maxNewTokens: 64, temperature: 0 });
  const s = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ root, tokens_per_s: 64 / s, last_ids: r.ids.slice(-4) }));
} else {
  const ids = tensor(
    Int32Array.from({ length: 64 }, (_, i) => (i * 31) % V),
    { shape: [1, 64] },
  );
  const tgt = tensor(
    Int32Array.from({ length: 64 }, (_, i) => (i * 31 + 7) % V),
    { shape: [1, 64] },
  );
  const opt = new optim.AdamW(model.parameters(), { lr: 1e-4 });
  const step = () => {
    opt.zeroGrad();
    const loss = model.forward(ids, tgt).loss;
    loss.backward();
    opt.step();
    return loss.item();
  };
  const t0 = performance.now();
  const first = step();
  const firstS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  let last = first;
  for (let i = 0; i < 3; i++) last = step();
  const stepS = (performance.now() - t1) / 3000;
  console.log(
    JSON.stringify({ root, first_step_s: firstS, step_s: stepS, loss_first: first, loss_last: last }),
  );
}
