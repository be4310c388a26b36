/**
 * Sequence classification for BERT: texts encoded as [CLS] … [SEP], padded per batch, with
 * cross-entropy on one label per text. Metrics are accuracy and macro-F1 next to the
 * majority-class baseline (always predicting the training set's most frequent label).
 */
import { tidy } from "../autograd/graph.js";
import type { BertForSequenceClassification } from "../models/bert-heads.js";
import { softmax } from "../ops/nn.js";
import { tensor } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { Generator, type GeneratorState } from "../util/rng.js";
import type { TrainTask } from "./trainer.js";

/** Token ids of texts with their class ids (labels may be absent for prediction). */
export interface EncodedTexts {
  ids: number[][];
  labels: number[];
}

/** A padded batch: input ids and attention mask (B, T), labels (B) when known. */
export interface ClassifierBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
  labels: Tensor | null;
}

/**
 * Encodes one text for a BERT classifier: [CLS] ids [SEP], cut to `maxLen` (keeping [SEP]). A
 * tokenizer whose post-processor already adds [CLS]/[SEP] (a BERT tokenizer.json) is used as is;
 * one that adds nothing (qkv's char tokenizer) gets them added here.
 * @example encodeForClassifier(tok, "a fine day", { clsId: 2, sepId: 3, maxLen: 64 }) // [2, …, 3]
 */
export function encodeForClassifier(
  tok: Tokenizer,
  text: string,
  opts: { clsId: number; sepId: number; maxLen: number },
): number[] {
  let ids = tok.encode(text);
  if (ids[0] !== opts.clsId) ids = [opts.clsId, ...ids];
  if (ids.length < 2 || ids[ids.length - 1] !== opts.sepId) ids.push(opts.sepId);
  if (ids.length > opts.maxLen) ids = [...ids.slice(0, opts.maxLen - 1), opts.sepId];
  return ids;
}

/**
 * Pads rows to the longest one with `padId`; the mask is 1 on tokens, 0 on padding.
 * @example collateClassifier([[2, 5, 3], [2, 3]], [0, 1], 0).attentionMask.tolist() // [[1,1,1],[1,1,0]]
 */
export function collateClassifier(ids: number[][], labels: number[] | null, padId: number): ClassifierBatch {
  const B = ids.length;
  const T = Math.max(...ids.map((r) => r.length));
  const x = new Int32Array(B * T).fill(padId);
  const m = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < ids[b].length; t++) {
      x[b * T + t] = ids[b][t];
      m[b * T + t] = 1;
    }
  }
  return {
    inputIds: tensor(x, { shape: [B, T] }),
    attentionMask: tensor(m, { shape: [B, T] }),
    labels: labels ? tensor(Int32Array.from(labels), { shape: [B] }) : null,
  };
}

/**
 * Accuracy and macro-F1 of predicted class ids against gold ones. Macro-F1 averages the per-class
 * F1 = 2·TP / (2·TP + FP + FN) over the classes that occur in either list (as scikit-learn does).
 * @example classificationMetrics([0, 1, 1], [0, 1, 0]) // { accuracy: 0.667, macroF1: 0.667 }
 */
export function classificationMetrics(
  pred: readonly number[],
  gold: readonly number[],
): { accuracy: number; macroF1: number } {
  if (pred.length !== gold.length || gold.length === 0)
    throw new Error(
      `classificationMetrics: need equal, non-empty lists, got ${pred.length} and ${gold.length}`,
    );
  const tp = new Map<number, number>();
  const fp = new Map<number, number>();
  const fn = new Map<number, number>();
  const inc = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
  let hit = 0;
  for (let i = 0; i < gold.length; i++) {
    if (pred[i] === gold[i]) {
      hit++;
      inc(tp, gold[i]);
    } else {
      inc(fp, pred[i]);
      inc(fn, gold[i]);
    }
  }
  const classes = new Set([...pred, ...gold]);
  let f1 = 0;
  for (const c of classes) {
    const t = tp.get(c) ?? 0;
    f1 += (2 * t) / (2 * t + (fp.get(c) ?? 0) + (fn.get(c) ?? 0));
  }
  return { accuracy: hit / gold.length, macroF1: f1 / classes.size };
}

/**
 * Class probabilities (B, numLabels) → per-row [argmax, its probability].
 * @example predictions(model, batch) // [[2, 0.91], [0, 0.55]]
 */
export function predictClasses(model: BertForSequenceClassification, b: ClassifierBatch): [number, number][] {
  return tidy(() => {
    const probs = softmax(model.forward(b.inputIds, { attentionMask: b.attentionMask }).logits, -1);
    const K = probs.shape[1];
    const p = probs.toArray() as ArrayLike<number>;
    const out: [number, number][] = [];
    for (let r = 0; r < probs.shape[0]; r++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (p[r * K + k] > p[r * K + best]) best = k;
      out.push([best, p[r * K + best]]);
    }
    return out;
  });
}

/** Options of {@link SequenceClassificationTask}. */
export interface SequenceClassificationTaskOptions {
  batchSize: number;
  seed: number;
  padId: number;
}

/**
 * Fine-tunes a BertForSequenceClassification on encoded texts: random training batches (drawn by
 * a generator saved for exact resume), evaluation over the first rows of a split in order.
 * @example
 * const task = new SequenceClassificationTask(model, train, val, { batchSize: 16, seed: 0, padId: 0 });
 * task.evalMetrics(); // { accuracy, macroF1, majorityBaseline }
 */
export class SequenceClassificationTask implements TrainTask {
  readonly tokensPerBatch: number;
  readonly generator: Generator;
  /** Class id most frequent in training: the majority-class baseline predicts it always. */
  readonly majority: number;
  private readonly fixed = new Map<string, ClassifierBatch[]>();

  constructor(
    readonly model: BertForSequenceClassification,
    readonly train: EncodedTexts,
    readonly val: EncodedTexts,
    readonly opts: SequenceClassificationTaskOptions,
  ) {
    if (train.ids.length === 0) throw new Error("SequenceClassificationTask: no training rows");
    if (val.ids.length === 0) throw new Error("SequenceClassificationTask: no validation rows");
    this.generator = new Generator(opts.seed + 41);
    const mean = train.ids.reduce((a, r) => a + r.length, 0) / train.ids.length;
    this.tokensPerBatch = Math.round(opts.batchSize * mean);
    const counts = new Map<number, number>();
    for (const l of train.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    let best = train.labels[0];
    for (const [l, n] of counts)
      if (n > (counts.get(best) ?? 0) || (n === counts.get(best) && l < best)) best = l;
    this.majority = best;
  }

  trainLoss(): Tensor {
    const B = this.opts.batchSize;
    const n = this.train.ids.length;
    const idx = Array.from({ length: B }, () => this.generator.randint(0, n));
    const b = collateClassifier(
      idx.map((i) => this.train.ids[i]),
      idx.map((i) => this.train.labels[i]),
      this.opts.padId,
    );
    return this.model.forward(b.inputIds, { attentionMask: b.attentionMask, labels: b.labels }).loss!;
  }

  /** Batches over the first `rows` rows of a split, in order, made once. */
  private batches(split: "train" | "val", rows: number): ClassifierBatch[] {
    const ds = split === "val" ? this.val : this.train;
    const n = Math.min(rows, ds.ids.length);
    const key = `${split}:${n}`;
    let out = this.fixed.get(key);
    if (!out) {
      out = [];
      for (let s = 0; s < n; s += this.opts.batchSize) {
        const e = Math.min(n, s + this.opts.batchSize);
        out.push(collateClassifier(ds.ids.slice(s, e), ds.labels.slice(s, e), this.opts.padId));
      }
      this.fixed.set(key, out);
    }
    return out;
  }

  /** Mean loss per row over the first `iters` batches' worth of rows of a split. */
  evalLoss(split: "train" | "val", iters: number): number {
    let total = 0;
    let rows = 0;
    for (const b of this.batches(split, iters * this.opts.batchSize)) {
      const B = b.inputIds.shape[0];
      total +=
        B *
        tidy(() =>
          this.model.forward(b.inputIds, { attentionMask: b.attentionMask, labels: b.labels }).loss!.item(),
        );
      rows += B;
    }
    return total / rows;
  }

  /** Accuracy and macro-F1 on the whole validation split, with the majority-class baseline. */
  evalMetrics(): { accuracy: number; macroF1: number; majorityBaseline: number } {
    const pred: number[] = [];
    for (const b of this.batches("val", this.val.ids.length))
      for (const [c] of predictClasses(this.model, b)) pred.push(c);
    const m = classificationMetrics(pred, this.val.labels);
    const base = this.val.labels.filter((l) => l === this.majority).length / this.val.labels.length;
    return { ...m, majorityBaseline: base };
  }

  getState(): { generator: GeneratorState } {
    return { generator: this.generator.getState() };
  }

  setState(state: unknown): void {
    this.generator.setState((state as { generator: GeneratorState }).generator);
  }
}
