/**
 * The computations the browser tests run twice, in Node and in a Chromium page, so the two results
 * can be compared: a seeded tiny GPT's logits, a few training steps, and seeded sampling from a
 * checkpoint loaded from bytes. Imports only the main entry, as a page's code would.
 */
import {
  Generator,
  GPT,
  type GPTConfig,
  generate,
  gptStepModel,
  loadPretrained,
  noGrad,
  optim,
  type PretrainedFiles,
  tensor,
  tidy,
} from "../../../src/index.js";

export const CONFIG: GPTConfig = {
  vocabSize: 24,
  blockSize: 16,
  nLayer: 2,
  nHead: 2,
  nEmbd: 32,
  dropout: 0,
  bias: true,
};

/** A (2, 16) batch of token ids drawn from a seeded generator, and its next-token targets. */
function batch(seed: number): { x: number[][]; y: number[][] } {
  const g = new Generator(seed);
  const rows = [0, 1].map(() =>
    Array.from({ length: CONFIG.blockSize + 1 }, () => Math.floor(g.random() * CONFIG.vocabSize)),
  );
  return { x: rows.map((r) => r.slice(0, -1)), y: rows.map((r) => r.slice(1)) };
}

/** Logits (flattened) of the model `new GPT(CONFIG, seed)` on a seeded batch. */
export function forwardLogits(seed: number): number[] {
  const model = new GPT(CONFIG, { generator: new Generator(seed) }).eval();
  const { x } = batch(seed + 1);
  return noGrad(() =>
    Array.from(model.forward(tensor(x, { dtype: "int32" })).logits.toArray() as Float32Array),
  );
}

/** The loss at each of `steps` AdamW steps on one fixed batch (overfitting it: the loss must fall). */
export function trainLosses(seed: number, steps: number): number[] {
  const model = new GPT(CONFIG, { generator: new Generator(seed) });
  const opt = new optim.AdamW(model.configureOptimizerGroups(0.0), { lr: 1e-2 });
  const { x, y } = batch(seed + 2);
  const xt = tensor(x, { dtype: "int32" });
  const yt = tensor(y, { dtype: "int32" });
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    losses.push(
      tidy(() => {
        const loss = model.forward(xt, yt).loss!;
        loss.backward();
        return loss.item();
      }),
    );
    opt.step();
    opt.zeroGrad();
  }
  return losses;
}

/** Seeded sampling settings shared by Node and the page (as `qkv sample` flags would set them). */
export const SAMPLING = { maxNewTokens: 24, temperature: 0.9, topK: 8, seed: 5 };

/** Loads a checkpoint from files (bytes) and samples from `prompt` with SAMPLING. */
export async function sampleFromFiles(
  files: PretrainedFiles,
  prompt: string,
): Promise<{ ids: number[]; text: string }> {
  const { model, tokenizer } = await loadPretrained(GPT, files);
  if (!tokenizer) throw new Error("the checkpoint has no tokenizer.json");
  const r = generate(gptStepModel(model), tokenizer.encode(prompt), {
    maxNewTokens: SAMPLING.maxNewTokens,
    temperature: SAMPLING.temperature,
    topK: SAMPLING.topK,
    generator: new Generator(SAMPLING.seed),
    decode: (ids) => tokenizer.decode(ids),
  });
  return { ids: [...r.ids], text: r.text };
}
