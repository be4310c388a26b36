/**
 * qkv in a web page: train a tiny character GPT for a few steps on a short text, showing each
 * step's loss in the page, then stream a sample into it. Nothing here touches Node: the page
 * imports only "qkv", and `ready()` picks the fastest backend the browser offers (wasm when it
 * loads, else the plain-JS cpu kernels).
 *
 * Build and open it (README.md beside this file):
 *     npx esbuild examples/browser/main.ts --bundle --format=esm --alias:qkv=./src/index.ts \
 *       --outfile=examples/browser/main.js && npx vite examples/browser
 * Flags go in the page's query string: `index.html?steps=40&tokens=80&seed=1`.
 */
import {
  BatchSampler,
  CharTokenizer,
  Generator,
  GPT,
  generateAsync,
  gptStepModel,
  manualSeed,
  optim,
  ready,
  TokenDataset,
  tidy,
} from "qkv";

const TEXT = `First Citizen:
Before we proceed any further, hear me speak.

All:
Speak, speak.

First Citizen:
You are all resolved rather to die than to famish?

All:
Resolved. resolved.

First Citizen:
First, you know Caius Marcius is chief enemy to the people.
`;

const params = new URLSearchParams(location.search);
const num = (name: string, fallback: number) => {
  const v = Number(params.get(name) ?? fallback);
  if (!Number.isFinite(v) || v < 0)
    throw new Error(`?${name}= must be a non-negative number, got ${params.get(name)}`);
  return v;
};

function el(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`index.html has no #${id}`);
  return e;
}

/** Lets the browser paint between steps, so the page shows progress instead of freezing. */
const frame = () => new Promise((ok) => setTimeout(ok, 0));

async function main(): Promise<void> {
  const steps = num("steps", 60);
  const tokens = num("tokens", 120);
  const seed = num("seed", 0);
  el("backend").textContent = await ready();
  const status = el("status");

  const tok = CharTokenizer.fromText(TEXT);
  const data = TokenDataset.fromText(TEXT, tok, { valFraction: 0 });
  manualSeed(seed);
  const model = new GPT(
    { vocabSize: tok.vocabSize, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0, bias: true },
    { generator: new Generator(seed) },
  );
  const opt = new optim.AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
  const sampler = new BatchSampler(data, { seed });
  const losses = el("losses");
  model.train();
  for (let step = 1; step <= steps; step++) {
    status.textContent = `training, step ${step} of ${steps}`;
    const { x, y } = sampler.getBatch("train", 8, 32); // (B, T)
    opt.zeroGrad();
    const loss = tidy(() => {
      const l = model.forward(x, y).loss!;
      l.backward();
      return l.item();
    });
    opt.step();
    const li = document.createElement("li");
    li.dataset.loss = String(loss);
    li.textContent = loss.toFixed(4);
    losses.append(li);
    await frame();
  }

  status.textContent = "sampling";
  model.eval();
  const out = el("sample");
  out.textContent = "First";
  await generateAsync(gptStepModel(model), tok.encode("First"), {
    maxNewTokens: tokens,
    temperature: 0.8,
    topK: 20,
    generator: new Generator(seed),
    decode: (ids) => tok.decode(ids),
    onText: async (piece) => {
      out.textContent += piece;
      await frame();
    },
  });
  status.textContent = "done";
}

// The page's test waits on this promise (and fails with its error).
const run = main().catch((e: Error) => {
  const status = document.getElementById("status");
  if (status) status.textContent = `error: ${e.message}`;
  throw e;
});
(globalThis as { pageReady?: Promise<void> }).pageReady = run;
