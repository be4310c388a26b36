// The BERT masked-LM and encoder-decoder training tasks: fixed evaluation batches, an evaluation
// that never moves the training stream, and exact resume from getState/setState.
import { describe, expect, it } from "vitest";
import {
  BertForMaskedLM,
  Generator,
  MaskedLMTask,
  PairDataset,
  reverseTask,
  Seq2SeqTask,
  Seq2SeqTransformer,
  TokenDataset,
  withNoGrad,
} from "../../src/index.js";

// A token stream over 20 ids; 0..2 play [PAD], [CLS] and [MASK].
function tokens(n: number, seed: number): number[] {
  const g = new Generator(seed);
  return Array.from({ length: n }, () => 3 + Math.floor(g.random() * 17));
}

function bertTask() {
  const dataset = TokenDataset.fromIds(tokens(3000, 1), { vocabSize: 20 });
  const model = new BertForMaskedLM(
    {
      vocabSize: 20,
      hiddenSize: 16,
      numHiddenLayers: 1,
      numAttentionHeads: 2,
      intermediateSize: 32,
      hiddenAct: "gelu",
      hiddenDropoutProb: 0,
      attentionProbsDropoutProb: 0,
      maxPositionEmbeddings: 16,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
    },
    { generator: new Generator(3) },
  );
  return new MaskedLMTask(model, dataset, {
    batchSize: 4,
    blockSize: 16,
    seed: 7,
    maskId: 2,
    specialIds: [0, 1, 2],
    metricBatches: 3,
  });
}

function seq2seqTask() {
  // Ids: 0 pad, 1 bos, 2 eos, then the symbols a..j as 3..12.
  const tok = {
    encode: (s: string) => [...s].map((c) => c.charCodeAt(0) - 97 + 3),
  };
  const pairs = reverseTask({ numSymbols: 10, minLen: 1, maxLen: 5, count: 200, seed: 4 });
  const train = PairDataset.fromPairs(pairs.slice(0, 150), tok);
  const val = PairDataset.fromPairs(pairs.slice(150), tok);
  const model = new Seq2SeqTransformer({
    srcVocabSize: 13,
    tgtVocabSize: 13,
    dModel: 16,
    nhead: 2,
    numEncoderLayers: 1,
    numDecoderLayers: 1,
    dimFeedforward: 32,
    dropout: 0,
    maxLen: 8,
    generator: new Generator(5),
  });
  return new Seq2SeqTask(model, train, val, {
    batchSize: 4,
    seed: 9,
    maxLen: 7,
    padId: 0,
    bosId: 1,
    eosId: 2,
  });
}

for (const [name, make] of [
  ["MaskedLMTask", bertTask],
  ["Seq2SeqTask", seq2seqTask],
] as const) {
  describe(name, () => {
    it("scores the same held-out batches at every evaluation", () => {
      const task = make();
      const a = withNoGrad(() => task.evalLoss("val", 2));
      task.trainLoss(); // moves the training stream only
      const b = withNoGrad(() => task.evalLoss("val", 2));
      expect(b).toBe(a);
      // A different split is a different set of batches.
      expect(withNoGrad(() => task.evalLoss("train", 2))).not.toBe(a);
    });

    it("resumes exactly: the batches after setState(getState()) are those that followed", () => {
      // No optimizer step runs, so the model is fixed and equal losses mean equal batches.
      const task = make();
      task.trainLoss();
      const state = JSON.parse(JSON.stringify(task.getState()));
      withNoGrad(() => task.evalLoss("val", 1)); // evaluating must not move the stream
      const next = [task.trainLoss().item(), task.trainLoss().item()];
      expect(next[1]).not.toBe(next[0]);
      const resumed = make();
      resumed.setState(state);
      expect([resumed.trainLoss().item(), resumed.trainLoss().item()]).toEqual(next);
    });
  });
}

describe("MaskedLMTask", () => {
  it("reports accuracy on masked positions next to the most-frequent-token baseline", () => {
    const task = bertTask();
    // mostCommon is the argmax of the training-token counts.
    const counts = new Map<number, number>();
    for (const id of task.dataset.train) counts.set(id, (counts.get(id) ?? 0) + 1);
    const top = Math.max(...counts.values());
    expect(counts.get(task.mostCommon)).toBe(top);
    const m = withNoGrad(() => task.evalMetrics());
    for (const v of [m.maskedAccuracy, m.frequencyBaseline]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(task.tokensPerBatch).toBe(64);
  });
});

describe("Seq2SeqTask", () => {
  it("exactMatch counts the held-out pairs whose greedy decode is the whole target", () => {
    const task = seq2seqTask();
    const n = task.val.length; // 50: one chunk of 64
    const decoded = task.decode(Array.from({ length: n }, (_, i) => i));
    const hits = decoded.filter(
      (ids, i) => ids.join() === Array.from(task.val.pairs[i].target).join(),
    ).length;
    expect(task.exactMatch(n)).toBe(hits / n);
    expect(task.evalMetrics().exactMatch).toBe(hits / n); // 256 is capped at the 50 pairs
    expect(task.tokensPerBatch).toBe(4 * 7);
  });
});
