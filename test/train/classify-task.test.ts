// The pieces of BERT sequence classification below the CLI: the labelled TSV reader, input
// encoding, padding, metrics, and the training task's batches and state.
import { describe, expect, test } from "vitest";
import {
  BertForSequenceClassification,
  CharTokenizer,
  classificationMetrics,
  collateClassifier,
  encodeForClassifier,
  Generator,
  labelSet,
  parseLabelledTsv,
  SequenceClassificationTask,
  trainWordPiece,
} from "../../src/index.js";

describe("parseLabelledTsv", () => {
  test("reads text<TAB>label rows, skipping blank lines, with a BOM and CRLF", () => {
    const rows = parseLabelledTsv("\ufeffgood film\tpos\r\n\nawful\tneg\n", "a.tsv");
    expect(rows).toEqual([
      { text: "good film", label: "pos", line: 1 },
      { text: "awful", label: "neg", line: 3 },
    ]);
    expect(labelSet([...rows, { text: "x", label: "mid", line: 4 }])).toEqual(["mid", "neg", "pos"]);
  });

  test("bad rows name the file and line", () => {
    expect(() => parseLabelledTsv("a\tb\nplain\n", "a.tsv")).toThrow(
      /a\.tsv line 2: expected "text<TAB>label", found no tab/,
    );
    expect(() => parseLabelledTsv("a\tb\tc\n", "a.tsv")).toThrow(/a\.tsv line 1: .*found 2 tabs/);
    expect(() => parseLabelledTsv("\tb\n", "a.tsv")).toThrow(/a\.tsv line 1: empty text/);
    expect(() => parseLabelledTsv("a\t\n", "a.tsv")).toThrow(/a\.tsv line 1: empty label/);
    // Unlabelled lines are allowed where only predictions are wanted.
    expect(parseLabelledTsv("plain\na\tb\n", "a.tsv", { labels: "optional" }).map((r) => r.label)).toEqual([
      null,
      "b",
    ]);
  });
});

describe("classification metrics", () => {
  test("accuracy and macro-F1 by hand", () => {
    // Per class F1 = 2TP / (2TP + FP + FN): class 0 2/3, class 1 2/3, class 2 1.
    const m = classificationMetrics([0, 1, 1, 2], [0, 1, 0, 2]);
    expect(m.accuracy).toBe(0.75);
    expect(m.macroF1).toBeCloseTo((2 / 3 + 2 / 3 + 1) / 3, 12);
    // Always wrong: both classes that occur score 0.
    expect(classificationMetrics([1, 1], [0, 0])).toEqual({ accuracy: 0, macroF1: 0 });
    expect(() => classificationMetrics([0], [])).toThrow(/equal, non-empty/);
  });
});

describe("classifier inputs", () => {
  test("[CLS] … [SEP] added once, whether or not the tokenizer's post-processor adds them; cut keeps [SEP]", () => {
    const specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
    const char = CharTokenizer.fromText("abc ", { specialTokens: specials });
    const cls = char.tokenToId("[CLS]") as number;
    const sep = char.tokenToId("[SEP]") as number;
    const ids = encodeForClassifier(char, "abc", { clsId: cls, sepId: sep, maxLen: 10 });
    expect(ids).toEqual([cls, ...char.encode("abc"), sep]);
    expect(encodeForClassifier(char, "abcabc", { clsId: cls, sepId: sep, maxLen: 4 })).toEqual([
      cls,
      ...char.encode("ab"),
      sep,
    ]);
    const wp = trainWordPiece("the cat sat on the mat", { vocabSize: 40 });
    const wCls = wp.tokenToId("[CLS]") as number;
    const wSep = wp.tokenToId("[SEP]") as number;
    expect(encodeForClassifier(wp, "the cat", { clsId: wCls, sepId: wSep, maxLen: 32 })).toEqual(
      wp.encode("the cat"),
    );
  });

  test("collate pads to the longest row and masks the padding", () => {
    const b = collateClassifier(
      [
        [2, 5, 3],
        [2, 3],
      ],
      [1, 0],
      0,
    );
    expect(b.inputIds.tolist()).toEqual([
      [2, 5, 3],
      [2, 3, 0],
    ]);
    expect(b.attentionMask.tolist()).toEqual([
      [1, 1, 1],
      [1, 1, 0],
    ]);
    expect(b.labels?.tolist()).toEqual([1, 0]);
  });
});

describe("SequenceClassificationTask", () => {
  const config = {
    vocabSize: 12,
    hiddenSize: 8,
    numHiddenLayers: 1,
    numAttentionHeads: 2,
    intermediateSize: 16,
    hiddenAct: "gelu" as const,
    hiddenDropoutProb: 0,
    attentionProbsDropoutProb: 0,
    maxPositionEmbeddings: 8,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
  };
  const data = {
    ids: [
      [2, 5, 3],
      [2, 6, 6, 3],
      [2, 7, 3],
      [2, 5, 5, 3],
      [2, 6, 3],
    ],
    labels: [0, 1, 2, 0, 0],
  };

  test("the majority baseline, padding-invariant evaluation, and exact resume of the batch stream", () => {
    const model = new BertForSequenceClassification(config, { numLabels: 3, generator: new Generator(1) });
    model.eval();
    const task = new SequenceClassificationTask(model, data, data, { batchSize: 2, seed: 0, padId: 0 });
    expect(task.majority).toBe(0);
    const m = task.evalMetrics();
    expect(m.majorityBaseline).toBeCloseTo(3 / 5, 12);
    // One row alone and the same row padded in a batch score the same loss.
    const alone = new SequenceClassificationTask(
      model,
      { ids: [data.ids[0]], labels: [0] },
      { ids: [data.ids[0]], labels: [0] },
      { batchSize: 1, seed: 0, padId: 0 },
    );
    const padded = new SequenceClassificationTask(
      model,
      data,
      { ids: [data.ids[0], data.ids[1]], labels: [0, 1] },
      { batchSize: 2, seed: 0, padId: 0 },
    );
    const both = padded.evalLoss("val", 1) * 2;
    const second = new SequenceClassificationTask(
      model,
      data,
      { ids: [data.ids[1]], labels: [1] },
      { batchSize: 1, seed: 0, padId: 0 },
    ).evalLoss("val", 1);
    expect(alone.evalLoss("val", 1) + second).toBeCloseTo(both, 5);
    const state = task.getState();
    const a = task.trainLoss().item();
    task.setState(state);
    expect(task.trainLoss().item()).toBe(a);
  });
});
