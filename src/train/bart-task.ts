/**
 * Fine-tuning a BartForConditionalGeneration on token pairs, as HF's Seq2SeqTrainer feeds it:
 * input_ids = <s> source </s>, labels = <s> target </s>, decoder inputs = shift_tokens_right(labels)
 * (decoder start id first), padding ignored (-100). Batches come from PairDataset/collate, so
 * drawing and resume work as for the seq2seq Transformer's task.
 */
import { tidy } from "../autograd/graph.js";
import type { PairDataset, Seq2SeqBatch, TokenPair } from "../data/pairs.js";
import { bartGenerate } from "../generate/hf-generate.js";
import type { BartForConditionalGeneration } from "../models/bart.js";
import { logicalNot } from "../ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import { Generator, type GeneratorState } from "../util/rng.js";
import type { TrainTask } from "./trainer.js";

/**
 * Options of {@link BartTask}: the batch size, seed, the longest decode, and the folder's ids.
 * @example { batchSize: 8, seed: 0, maxLen: 64, padId: 1, bosId: 0, eosId: 2, decoderStartId: 2 }
 */
export interface BartTaskOptions {
  batchSize: number;
  seed: number;
  /** Longest generated sequence in evaluation (decoder start and EOS included). */
  maxLen: number;
  padId: number;
  bosId: number;
  eosId: number;
  decoderStartId: number;
}

/**
 * Token pairs (each side as the tokenizer's ids *without* <s>/</s>) in the form {@link BartTask}
 * collates: source <s> … </s>, target <s> … (collate appends </s> to the labels and puts the
 * decoder start id in front of the decoder inputs).
 * @example bartPairs(PairDataset.fromPairs(pairs, bareTok).pairs, { bosId: 0, eosId: 2 })
 */
export function bartPairs(pairs: readonly TokenPair[], ids: { bosId: number; eosId: number }): TokenPair[] {
  return pairs.map((p) => ({
    source: [ids.bosId, ...Array.from(p.source), ids.eosId],
    target: [ids.bosId, ...Array.from(p.target)],
  }));
}

/**
 * Teacher-forced BART fine-tuning with HF's loss; `exactMatch` decodes greedily with the
 * folder's generation settings (num_beams 1) and counts targets reproduced exactly.
 * @example const task = new BartTask(bart, train, val, { batchSize: 8, seed: 0, maxLen: 64, padId: 1, bosId: 0, eosId: 2, decoderStartId: 2 });
 */
export class BartTask implements TrainTask {
  readonly tokensPerBatch: number;
  readonly generator: Generator;

  constructor(
    readonly model: BartForConditionalGeneration,
    readonly train: PairDataset,
    readonly val: PairDataset,
    readonly opts: BartTaskOptions,
  ) {
    this.generator = new Generator(opts.seed + 5);
    this.tokensPerBatch = opts.batchSize * opts.maxLen;
  }

  private get collateOpts() {
    return { padId: this.opts.padId, bosId: this.opts.decoderStartId, eosId: this.opts.eosId };
  }

  private lossOf(b: Seq2SeqBatch): Tensor {
    return this.model.forward({
      inputIds: b.src,
      attentionMask: logicalNot(b.srcKeyPaddingMask),
      decoderInputIds: b.tgtIn,
      labels: b.tgtOut,
    }).loss!;
  }

  trainLoss(): Tensor {
    return this.lossOf(this.train.sampleBatch(this.opts.batchSize, this.collateOpts, this.generator));
  }

  evalLoss(split: "train" | "val", iters: number): number {
    const ds = split === "val" ? this.val : this.train;
    const g = new Generator(this.opts.seed + (split === "val" ? 32 : 31));
    let total = 0;
    for (let i = 0; i < iters; i++)
      total += tidy(() => this.lossOf(ds.sampleBatch(this.opts.batchSize, this.collateOpts, g)).item());
    return total / iters;
  }

  evalMetrics(): { exactMatch: number } {
    return { exactMatch: this.exactMatch(64) };
  }

  /** Greedy decodes of held-out pairs `indices`: the generated ids without <s>, </s>, decoder start or padding. */
  decode(indices: number[]): number[][] {
    const b = this.val.collate(indices, this.collateOpts);
    const { padId, bosId, eosId, decoderStartId } = this.opts;
    const rows = bartGenerate(this.model, b.src, {
      attentionMask: logicalNot(b.srcKeyPaddingMask),
      numBeams: 1,
      maxLength: this.opts.maxLen,
    });
    const drop = new Set([padId, bosId, eosId, decoderStartId]);
    return rows.map((r) => r.filter((id) => !drop.has(id)));
  }

  /** Share of the first `n` held-out pairs whose greedy decode equals the target. */
  exactMatch(n: number): number {
    const count = Math.min(n, this.val.length);
    const drop = new Set([this.opts.bosId, this.opts.eosId]);
    let hit = 0;
    for (let start = 0; start < count; start += 32) {
      const idx = Array.from({ length: Math.min(32, count - start) }, (_, i) => start + i);
      this.decode(idx).forEach((ids, i) => {
        const want = Array.from(this.val.pairs[idx[i]].target).filter((id) => !drop.has(id));
        if (ids.length === want.length && ids.every((v, j) => v === want[j])) hit++;
      });
    }
    return count === 0 ? 0 : hit / count;
  }

  getState(): { generator: GeneratorState } {
    return { generator: this.generator.getState() };
  }

  setState(state: unknown): void {
    this.generator.setState((state as { generator: GeneratorState }).generator);
  }
}
