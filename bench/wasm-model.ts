/**
 * The models that bench/wasm.ts times, behind one small interface so the same code runs in a Node
 * child process and in a page's worker: qkv's GPT trained as bench/train.ts trains it (4 layers,
 * 4 heads, 128 wide, block 64, batch 12, AdamW, cosine warmup, clipping, seed 1337) on whatever
 * backend is selected, and the same model in tfjs (bench/tfjs-gpt.ts) fed the same batches.
 * Browser-safe: no node: imports; the caller passes the text and the tfjs module.
 */
import {
  BatchSampler,
  CharTokenizer,
  Generator,
  GPT,
  KVCache,
  optim,
  TokenDataset,
  tensor,
  tidy,
  withNoGrad,
} from "../src/index.js";
import type { TfjsModule } from "./tfjs-bundle.js";
import type { TfGptConfig } from "./tfjs-gpt.js";

/** The model and batch shape a runner trains. */
export interface BenchShape {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  batchSize: number;
}

/** bench/train.ts's configuration of the small GPT. */
export const benchConfig: Readonly<BenchShape> = {
  nLayer: 4,
  nHead: 4,
  nEmbd: 128,
  blockSize: 64,
  batchSize: 12,
};
const seed = 1337;
const lrOf = (it: number) =>
  optim.cosineWithWarmupLr(it, { lr: 1e-3, warmupIters: 100, lrDecayIters: 2000, minLr: 1e-4 });

/** One model under test: a training step, and (qkv only) batch-1 decoding. */
export interface BenchRunner {
  /** Trainable scalars, tied weights counted once. */
  paramCount: number;
  /** Runs the next optimizer step and returns its loss (before the update). */
  step(): number;
  /** Greedy KV-cache decoding of `newTokens` tokens at batch 1: tokens per second. */
  generate?(newTokens: number): number;
}

/** The character tokenizer and dataset of the text, as bench/train.ts builds them. */
export function benchData(text: string): { vocabSize: number; data: TokenDataset } {
  const tok = CharTokenizer.fromText(text);
  return { vocabSize: tok.vocabSize, data: TokenDataset.fromText(text, tok) };
}

function qkvGPT(vocabSize: number, blockSize: number, shape: BenchShape): GPT {
  const { nLayer, nHead, nEmbd } = shape;
  return new GPT(
    { vocabSize, blockSize, nLayer, nHead, nEmbd, dropout: 0, bias: false },
    { generator: new Generator(seed) },
  );
}

/** qkv's GPT on the current backend (select it before calling). */
export function qkvRunner(text: string, shape: BenchShape = benchConfig): BenchRunner {
  const { vocabSize, data } = benchData(text);
  const model = qkvGPT(vocabSize, shape.blockSize, shape);
  const opt = new optim.AdamW(model.configureOptimizerGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
  const sampler = new BatchSampler(data, { seed });
  const params = model.parameters();
  let it = 0;
  let decoder: GPT | null = null;
  return {
    paramCount: params.reduce((n, p) => n + p.numel(), 0),
    step() {
      for (const g of opt.paramGroups) g.lr = lrOf(it);
      it++;
      const { x, y } = sampler.getBatch("train", shape.batchSize, shape.blockSize);
      const loss = tidy(() => {
        const l = model.forward(x, y).loss!;
        l.backward();
        return l.item();
      });
      optim.clipGradNorm(params, 1);
      opt.step();
      opt.zeroGrad();
      return loss;
    },
    generate(newTokens) {
      // bench/train.ts's generation figure: a fresh model whose block fits the whole run.
      if (!decoder || decoder.config.blockSize < newTokens + 1)
        decoder = qkvGPT(vocabSize, newTokens + 1, shape).eval();
      const m = decoder;
      return withNoGrad(() => {
        const cache = new KVCache(m.config.nLayer);
        let id = 0;
        const t0 = performance.now();
        for (let t = 0; t < newTokens; t++) {
          const row = m
            .forward(tensor(Int32Array.of(id), { shape: [1, 1] }), null, { cache, lastOnly: true })
            .logits.toArray();
          let best = 0;
          for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
          id = best;
        }
        return newTokens / ((performance.now() - t0) / 1000);
      });
    },
  };
}

/**
 * The same model in tfjs (its backend already selected), starting from qkv's seeded init (built
 * on whatever qkv backend is current) and fed qkv's sampler's batches, so its losses track qkv's.
 */
export function tfjsRunner(tfjs: TfjsModule, text: string, shape: BenchShape = benchConfig): BenchRunner {
  const { vocabSize, data } = benchData(text);
  const { batchSize: B, blockSize: T, nLayer, nHead, nEmbd } = shape;
  const cfg: TfGptConfig = { vocabSize, blockSize: T, nLayer, nHead, nEmbd };
  const model = tfjs.buildTfGpt(tfjs.tf, cfg, seed);
  model.loadWeights(qkvGPT(vocabSize, T, shape).namedParameters());
  const sampler = new BatchSampler(data, { seed });
  let it = 0;
  return {
    paramCount: model.paramCount,
    step() {
      const { x, y } = sampler.getBatch("train", B, T);
      return model.step(x.toArray() as Int32Array, y.toArray() as Int32Array, B, T, lrOf(it++));
    },
  };
}
