/**
 * Fine-tune a BERT text classifier (BertForSequenceClassification: BERT's pooled [CLS] vector →
 * dropout → a linear layer, cross-entropy on the labels) on a TSV of `text<TAB>label` lines, and
 * report accuracy and macro-F1 on a held-out split next to the majority-class baseline (always
 * predicting the most frequent training label), which any useful classifier must beat.
 *
 * Without `--data` it builds a small topic set from templates (sports / weather / food, in
 * unequal shares, so the baseline is well above 1/3). Without `--init-from` the model is a small
 * BERT trained from scratch with a WordPiece vocabulary learned from the training texts; with
 * `--init-from <dir>` it starts from a Hugging Face BERT folder (e.g. bert-base-uncased or
 * prajjwal1/bert-tiny, downloaded by you) and uses that folder's tokenizer.json, the classifier
 * layer being freshly initialised.
 *
 *     npx tsx examples/bert-classifier.ts [--data reviews.tsv] [--init-from models/bert-tiny]
 *       [--epochs 8] [--batch-size 16] [--lr 1e-3] [--max-len 32] [--hidden 64] [--layers 2]
 *       [--heads 4] [--test-fraction 0.2] [--examples 300] [--seed 0]
 *
 * The defaults suit training from scratch; a pretrained BERT wants a lower `--lr` (2e-5 to 5e-5).
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BertForSequenceClassification,
  Generator,
  manualSeed,
  optim,
  parseTsv,
  type Tokenizer,
  tensor,
  tidy,
  trainWordPiece,
  withNoGrad,
} from "../src/index.js";
import { loadPretrainedDir } from "../src/node.js";
import { parseFlags, runMain } from "./flags.js";

export interface ClassifierOptions {
  /** A `text<TAB>label` file; "" builds the template set. */
  data: string;
  /** A Hugging Face BERT folder to start from; "" trains a small BERT from scratch. */
  initFrom: string;
  epochs: number;
  batchSize: number;
  lr: number;
  /** Tokens per text, [CLS] and [SEP] included; longer texts are cut. */
  maxLen: number;
  /** Width, layers and heads of the from-scratch BERT. */
  hidden: number;
  layers: number;
  heads: number;
  testFraction: number;
  /** Size of the template set. */
  examples: number;
  seed: number;
}

export const DEFAULTS: ClassifierOptions = {
  data: "",
  initFrom: "",
  epochs: 8,
  batchSize: 16,
  lr: 1e-3,
  maxLen: 32,
  hidden: 64,
  layers: 2,
  heads: 4,
  testFraction: 0.2,
  examples: 300,
  seed: 0,
};

export interface Example {
  text: string;
  label: string;
}

const TOPICS: Record<string, { share: number; words: string[]; templates: string[] }> = {
  sports: {
    share: 0.5,
    words: ["match", "goal", "team", "coach", "league", "striker", "referee", "season", "final", "keeper"],
    templates: [
      "the {a} was great and the {b} agreed",
      "what a {a} in the {b} tonight",
      "our {a} beat the {b}",
    ],
  },
  weather: {
    share: 0.3,
    words: ["rain", "storm", "cloud", "wind", "snow", "forecast", "sunshine", "fog", "thunder", "frost"],
    templates: [
      "expect {a} today and {b} tomorrow",
      "the {a} came before the {b}",
      "so much {a} and some {b}",
    ],
  },
  food: {
    share: 0.2,
    words: ["soup", "bread", "cheese", "pasta", "salad", "curry", "cake", "noodles", "pepper", "garlic"],
    templates: ["i cooked {a} with {b} for dinner", "the {a} tasted of {b}", "add {a} to the {b} and stir"],
  },
};

/**
 * `n` labelled sentences: each topic's share of them, a template of that topic filled with two of
 * its words. The templates share their glue words across topics, so the topic words decide.
 */
export function templateExamples(n: number, g: Generator): Example[] {
  const out: Example[] = [];
  for (const [label, t] of Object.entries(TOPICS)) {
    const count = Math.round(n * t.share);
    for (let i = 0; i < count; i++) {
      const pick = <T>(xs: T[]) => xs[g.randint(0, xs.length)];
      const text = pick(t.templates).replace("{a}", pick(t.words)).replace("{b}", pick(t.words));
      out.push({ text, label });
    }
  }
  return out;
}

/** A shuffled copy (Fisher–Yates with `g`). */
export function shuffled<T>(rows: readonly T[], g: Generator): T[] {
  const xs = [...rows];
  for (let i = xs.length - 1; i > 0; i--) {
    const j = g.randint(0, i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** Shuffles with `g` and holds out the first `fraction` of the rows (at least one). */
export function split(
  rows: Example[],
  fraction: number,
  g: Generator,
): { train: Example[]; test: Example[] } {
  const xs = shuffled(rows, g);
  const nTest = Math.max(1, Math.round(xs.length * fraction));
  if (nTest >= xs.length)
    throw new Error(`--test-fraction ${fraction} leaves no training rows of ${xs.length}`);
  return { test: xs.slice(0, nTest), train: xs.slice(nTest) };
}

export interface Scores {
  accuracy: number;
  macroF1: number;
}

/** Accuracy and macro-F1 (the unweighted mean over classes of each class's F1; a class never predicted nor present is skipped). */
export function score(pred: readonly number[], gold: readonly number[], numLabels: number): Scores {
  let right = 0;
  const f1s: number[] = [];
  for (let i = 0; i < gold.length; i++) if (pred[i] === gold[i]) right++;
  for (let c = 0; c < numLabels; c++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < gold.length; i++) {
      if (pred[i] === c && gold[i] === c) tp++;
      else if (pred[i] === c) fp++;
      else if (gold[i] === c) fn++;
    }
    if (tp + fp + fn === 0) continue;
    f1s.push((2 * tp) / (2 * tp + fp + fn));
  }
  return { accuracy: right / gold.length, macroF1: f1s.reduce((a, b) => a + b, 0) / f1s.length };
}

/** Token ids padded to the batch's longest row, and the attention mask (1 = real token). */
function encodeBatch(tok: Tokenizer, texts: string[], maxLen: number, padId: number) {
  const rows = texts.map((t) => {
    const ids = tok.encode(t); // [CLS] … [SEP]
    return ids.length > maxLen ? [...ids.slice(0, maxLen - 1), ids[ids.length - 1]] : ids;
  });
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T).fill(padId);
  const mask = new Int32Array(rows.length * T);
  rows.forEach((r, i) => {
    ids.set(r, i * T);
    mask.fill(1, i * T, i * T + r.length);
  });
  return { ids: tensor(ids, { shape: [rows.length, T] }), mask: tensor(mask, { shape: [rows.length, T] }) };
}

function argmaxRows(logits: ArrayLike<number>, C: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < logits.length / C; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[i * C + c] > logits[i * C + best]) best = c;
    out.push(best);
  }
  return out;
}

export interface ClassifierResult {
  labels: string[];
  test: Scores;
  baseline: Scores;
  /** Mean training loss of each epoch. */
  epochLosses: number[];
}

/** Loads or builds the data, fine-tunes, and scores the held-out split. */
export async function trainClassifier(o: ClassifierOptions, log: (line: string) => void = console.log) {
  const g = new Generator(o.seed);
  manualSeed(o.seed); // dropout masks
  const rows: Example[] = o.data
    ? parseTsv(await readFile(o.data, "utf8"), o.data).map((p) => ({ text: p.source, label: p.target }))
    : templateExamples(o.examples, g);
  const labels = [...new Set(rows.map((r) => r.label))].sort();
  if (labels.length < 2)
    throw new Error(`${o.data || "the data"}: needs at least two labels, found ${labels.length}`);
  const labelId = new Map(labels.map((l, i) => [l, i]));
  const { train, test } = split(rows, o.testFraction, g);
  log(
    `${rows.length} examples (${train.length} train, ${test.length} held out), labels: ${labels.join(", ")}`,
  );

  let model: BertForSequenceClassification;
  let tok: Tokenizer;
  if (o.initFrom) {
    const loaded = await loadPretrainedDir(BertForSequenceClassification, o.initFrom, {
      numLabels: labels.length,
      strict: false, // the classifier (and maybe the pooler) are not in a pretraining checkpoint
    });
    if (!loaded.tokenizer) throw new Error(`--init-from ${o.initFrom}: no tokenizer.json there`);
    [model, tok] = [loaded.model, loaded.tokenizer];
    log(`started from ${o.initFrom}`);
  } else {
    tok = trainWordPiece(train.map((r) => r.text).join("\n"), { vocabSize: 200 });
    model = new BertForSequenceClassification(
      {
        vocabSize: tok.vocabSize,
        hiddenSize: o.hidden,
        numHiddenLayers: o.layers,
        numAttentionHeads: o.heads,
        intermediateSize: 4 * o.hidden,
        hiddenAct: "gelu",
        hiddenDropoutProb: 0.1,
        attentionProbsDropoutProb: 0.1,
        maxPositionEmbeddings: Math.max(o.maxLen, 64),
        typeVocabSize: 2,
        layerNormEps: 1e-12,
      },
      { numLabels: labels.length, generator: g },
    );
    log(`a BERT from scratch: ${o.layers} layers, width ${o.hidden}, WordPiece vocab ${tok.vocabSize}`);
  }
  const padId = tok.tokenToId("[PAD]") ?? 0;

  const opt = new optim.AdamW(model.parameters(), { lr: o.lr, weightDecay: 0.01 });
  const epochLosses: number[] = [];
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    model.train();
    const order = shuffled(train, g); // a new order each epoch
    let sum = 0;
    let batches = 0;
    for (let i = 0; i < order.length; i += o.batchSize) {
      const batch = order.slice(i, i + o.batchSize);
      const { ids, mask } = encodeBatch(
        tok,
        batch.map((r) => r.text),
        o.maxLen,
        padId,
      );
      const y = tensor(Int32Array.from(batch, (r) => labelId.get(r.label)!)); // (B)
      opt.zeroGrad();
      // tidy: this step's activations go back to qkv's memory pool once the loss is read.
      sum += tidy(() => {
        const { loss } = model.forward(ids, { attentionMask: mask, labels: y });
        loss!.backward();
        return loss!.item();
      });
      optim.clipGradNorm(model.parameters(), 1.0);
      opt.step();
      batches++;
    }
    epochLosses.push(sum / batches);
    log(`epoch ${epoch}  train loss ${(sum / batches).toFixed(4)}`);
  }

  model.eval();
  const gold = test.map((r) => labelId.get(r.label)!);
  const pred = withNoGrad(() => {
    const out: number[] = [];
    for (let i = 0; i < test.length; i += o.batchSize) {
      const texts = test.slice(i, i + o.batchSize).map((r) => r.text);
      const { ids, mask } = encodeBatch(tok, texts, o.maxLen, padId);
      out.push(
        ...tidy(() =>
          argmaxRows(model.forward(ids, { attentionMask: mask }).logits.toArray(), labels.length),
        ),
      );
    }
    return out;
  });
  // The baseline predicts the most frequent training label for every held-out row.
  const counts = labels.map((l) => train.filter((r) => r.label === l).length);
  const majority = counts.indexOf(Math.max(...counts));
  const result: ClassifierResult = {
    labels,
    test: score(pred, gold, labels.length),
    baseline: score(
      gold.map(() => majority),
      gold,
      labels.length,
    ),
    epochLosses,
  };
  log(
    `held-out accuracy ${result.test.accuracy.toFixed(4)}  macro-F1 ${result.test.macroF1.toFixed(4)}  ` +
      `(majority baseline "${labels[majority]}": accuracy ${result.baseline.accuracy.toFixed(4)}  macro-F1 ${result.baseline.macroF1.toFixed(4)})`,
  );
  return result;
}

async function main(): Promise<void> {
  const o = parseFlags(process.argv.slice(2), DEFAULTS);
  if (!(o.testFraction > 0 && o.testFraction < 1))
    throw new Error(`--test-fraction must be in (0, 1), got ${o.testFraction}`);
  if (!(Number.isInteger(o.maxLen) && o.maxLen >= 2))
    throw new Error(`--max-len must be an integer ≥ 2, got ${o.maxLen}`);
  await trainClassifier(o);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) runMain(main);
