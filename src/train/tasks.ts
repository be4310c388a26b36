/**
 * Training tasks, one per model family: how a micro-batch is drawn and scored. The evaluation
 * batches come from their own fixed-seed generators, so every evaluation scores the same
 * batches and evaluating never disturbs the training stream (which keeps resume exact).
 */
import { tidy } from "../autograd/graph.js";
import { BatchSampler, type BatchSamplerState } from "../data/batch.js";
import type { TokenDataset } from "../data/dataset.js";
import { type MaskedTokens, maskTokens } from "../data/masking.js";
import type { CollateOptions, PairDataset, Seq2SeqBatch } from "../data/pairs.js";
import { translateGreedy } from "../generate/models.js";
import type { BertForMaskedLM } from "../models/bert-heads.js";
import type { GPT } from "../models/gpt.js";
import type { Seq2SeqTransformer } from "../models/seq2seq.js";
import { crossEntropy } from "../ops/nn.js";
import type { Tensor } from "../tensor/tensor.js";
import { Generator, type GeneratorState, type RngAlgorithm } from "../util/rng.js";
import type { TrainTask } from "./trainer.js";

/** Next-token prediction for a GPT on a token dataset (nanoGPT's get_batch). */
export class LanguageModelTask implements TrainTask {
  readonly sampler: BatchSampler;
  readonly tokensPerBatch: number;

  constructor(
    readonly model: GPT,
    readonly dataset: TokenDataset,
    readonly opts: { batchSize: number; blockSize: number; seed: number; algorithm?: RngAlgorithm },
  ) {
    this.sampler = new BatchSampler(dataset, {
      generator: new Generator(opts.seed, { algorithm: opts.algorithm }),
    });
    this.tokensPerBatch = opts.batchSize * opts.blockSize;
  }

  trainLoss(): Tensor {
    const { x, y } = this.sampler.getBatch("train", this.opts.batchSize, this.opts.blockSize);
    return this.model.forward(x, y).loss!;
  }

  evalLoss(split: "train" | "val", iters: number): number {
    const seed = this.opts.seed + (split === "val" ? 2 : 1);
    const sampler = new BatchSampler(this.dataset, {
      generator: new Generator(seed, { algorithm: this.opts.algorithm }),
    });
    let total = 0;
    for (let i = 0; i < iters; i++) {
      const { x, y } = sampler.getBatch(split, this.opts.batchSize, this.opts.blockSize);
      total += tidy(() => this.model.forward(x, y).loss!.item()); // recycle the batch's activations
    }
    return total / iters;
  }

  getState(): BatchSamplerState {
    return this.sampler.getState();
  }

  setState(state: unknown): void {
    this.sampler.setState(state as BatchSamplerState);
  }
}

/** Options of {@link MaskedLMTask}. */
export interface MaskedLMTaskOptions {
  batchSize: number;
  blockSize: number;
  seed: number;
  /** Id of [MASK], and the ids never masked nor drawn as replacements ([PAD], [CLS], …). */
  maskId: number;
  specialIds: number[];
  /** Held-out batches scored by `evalMetrics` (default 50). */
  metricBatches?: number;
}

/**
 * BERT's masked-LM pretraining on a token dataset: windows of `blockSize` tokens, 15% of them
 * selected and replaced as in the BERT paper (80% [MASK], 10% random, 10% kept), loss on the
 * selected positions only. Evaluation batches (windows and masks) are fixed per split.
 * @example
 * const task = new MaskedLMTask(mlm, dataset, { batchSize: 8, blockSize: 64, seed: 0, maskId, specialIds });
 * await new Trainer(task, optimizer, { maxIters: 100, gradAccum: 1, gradClip: 1 }).run();
 */
export class MaskedLMTask implements TrainTask {
  readonly sampler: BatchSampler;
  readonly tokensPerBatch: number;
  /** Draws the training masks; saved with the sampler for exact resume. */
  readonly masking: Generator;
  /** The most frequent training token: the accuracy of always predicting it is the baseline. */
  readonly mostCommon: number;
  private readonly fixed = new Map<string, MaskedTokens[]>();

  constructor(
    readonly model: BertForMaskedLM,
    readonly dataset: TokenDataset,
    readonly opts: MaskedLMTaskOptions,
  ) {
    this.sampler = new BatchSampler(dataset, { seed: opts.seed });
    this.masking = new Generator(opts.seed + 11);
    this.tokensPerBatch = opts.batchSize * opts.blockSize;
    const counts = new Float64Array(dataset.vocabSize);
    for (const id of dataset.train) counts[id]++;
    let best = 0;
    for (let i = 1; i < counts.length; i++) if (counts[i] > counts[best]) best = i;
    this.mostCommon = best;
  }

  private mask(ids: Tensor, generator: Generator): MaskedTokens {
    const { maskId, specialIds } = this.opts;
    return maskTokens(ids, { vocabSize: this.dataset.vocabSize, maskId, specialIds, generator });
  }

  /** The first `n` held-out batches of a split, drawn once from their own seeds. */
  private batches(split: "train" | "val", n: number): MaskedTokens[] {
    const key = `${split}:${n}`;
    let out = this.fixed.get(key);
    if (!out) {
      const { seed, batchSize, blockSize } = this.opts;
      const s = new BatchSampler(this.dataset, { seed: seed + (split === "val" ? 2 : 1) });
      const g = new Generator(seed + (split === "val" ? 22 : 21));
      out = Array.from({ length: n }, () => this.mask(s.getBatch(split, batchSize, blockSize).x, g));
      this.fixed.set(key, out);
    }
    return out;
  }

  trainLoss(): Tensor {
    const { x } = this.sampler.getBatch("train", this.opts.batchSize, this.opts.blockSize);
    const { inputIds, labels } = this.mask(x, this.masking);
    return this.model.forward(inputIds, { labels }).loss!;
  }

  evalLoss(split: "train" | "val", iters: number): number {
    let total = 0;
    for (const b of this.batches(split, iters))
      total += this.model.forward(b.inputIds, { labels: b.labels }).loss!.item();
    return total / iters;
  }

  /** Accuracy on the masked held-out positions, next to the most-frequent-token baseline. */
  evalMetrics(): { maskedAccuracy: number; frequencyBaseline: number } {
    let hit = 0;
    let base = 0;
    let n = 0;
    for (const b of this.batches("val", this.opts.metricBatches ?? 50)) {
      const pred = this.model.forward(b.inputIds).logits.argmax(-1).toArray();
      const labels = b.labels.toArray();
      for (let i = 0; i < labels.length; i++) {
        if (labels[i] === -100) continue; // not selected for prediction
        n++;
        if (pred[i] === labels[i]) hit++;
        if (labels[i] === this.mostCommon) base++;
      }
    }
    return { maskedAccuracy: hit / n, frequencyBaseline: base / n };
  }

  getState(): { sampler: BatchSamplerState; masking: GeneratorState } {
    return { sampler: this.sampler.getState(), masking: this.masking.getState() };
  }

  setState(state: unknown): void {
    const st = state as { sampler: BatchSamplerState; masking: GeneratorState };
    this.sampler.setState(st.sampler);
    this.masking.setState(st.masking);
  }
}

/** Options of {@link Seq2SeqTask}. */
export interface Seq2SeqTaskOptions extends CollateOptions {
  batchSize: number;
  seed: number;
  /** Longest sequence with BOS/EOS: the decoding limit, and the token count of a batch row. */
  maxLen: number;
}

/**
 * Encoder-decoder training on token pairs with teacher forcing: the decoder reads BOS + target
 * and predicts target + EOS, padding ignored. `exactMatch` decodes greedily and counts pairs
 * whose whole target comes out.
 * @example
 * const task = new Seq2SeqTask(model, train, val, { batchSize: 32, seed: 0, maxLen: 14, padId, bosId, eosId });
 * task.exactMatch(256); // share of held-out pairs decoded exactly
 */
export class Seq2SeqTask implements TrainTask {
  readonly tokensPerBatch: number;
  /** Draws the training batches; saved for exact resume. */
  readonly generator: Generator;

  constructor(
    readonly model: Seq2SeqTransformer,
    readonly train: PairDataset,
    readonly val: PairDataset,
    readonly opts: Seq2SeqTaskOptions,
  ) {
    this.generator = new Generator(opts.seed + 5);
    this.tokensPerBatch = opts.batchSize * opts.maxLen;
  }

  private get collateOpts(): CollateOptions {
    const { padId, bosId, eosId } = this.opts;
    return { padId, bosId, eosId };
  }

  private lossOf(b: Seq2SeqBatch): Tensor {
    const logits = this.model.forward(b.src, b.tgtIn, {
      srcKeyPaddingMask: b.srcKeyPaddingMask,
      tgtKeyPaddingMask: b.tgtKeyPaddingMask,
    }); // (B, T, V)
    const V = logits.shape[logits.ndim - 1];
    return crossEntropy(logits.reshape(-1, V), b.tgtOut.reshape(-1), { ignoreIndex: -100 });
  }

  trainLoss(): Tensor {
    return this.lossOf(this.train.sampleBatch(this.opts.batchSize, this.collateOpts, this.generator));
  }

  evalLoss(split: "train" | "val", iters: number): number {
    const ds = split === "val" ? this.val : this.train;
    const g = new Generator(this.opts.seed + (split === "val" ? 32 : 31));
    let total = 0;
    for (let i = 0; i < iters; i++)
      total += this.lossOf(ds.sampleBatch(this.opts.batchSize, this.collateOpts, g)).item();
    return total / iters;
  }

  evalMetrics(): { exactMatch: number } {
    return { exactMatch: this.exactMatch(256) };
  }

  /** Greedy decodes of the held-out pairs at `indices` (token ids, without BOS/EOS). */
  decode(indices: number[]): number[][] {
    const b = this.val.collate(indices, this.collateOpts);
    return translateGreedy(this.model, b.src, {
      bos: this.opts.bosId,
      eos: this.opts.eosId,
      maxLen: this.opts.maxLen,
      srcKeyPaddingMask: b.srcKeyPaddingMask,
    });
  }

  /** Share of the first `n` held-out pairs whose greedy decode equals the target. */
  exactMatch(n: number): number {
    const count = Math.min(n, this.val.length);
    let hit = 0;
    for (let start = 0; start < count; start += 64) {
      const idx = Array.from({ length: Math.min(64, count - start) }, (_, i) => start + i);
      this.decode(idx).forEach((ids, i) => {
        const want = this.val.pairs[idx[i]].target;
        if (ids.length === want.length && ids.every((v, j) => v === want[j])) hit++;
      });
    }
    return hit / count;
  }

  getState(): { generator: GeneratorState } {
    return { generator: this.generator.getState() };
  }

  setState(state: unknown): void {
    this.generator.setState((state as { generator: GeneratorState }).generator);
  }
}
