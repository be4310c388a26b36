/**
 * BERT's encoder layer and the encoder-decoder's layers take the backend's fused transformer layer
 * in inference: where it is declared (native), the models give what their composed forward gives
 * with the capability hidden, and a counter on the kernel proves it ran; where it is not (cpu),
 * the same calls run composed.
 */
import { describe, expect, it, vi } from "vitest";
import * as q from "../../src/index.js";
import { expectClose } from "../helpers.js";

const fused = q.hasFusedTransformerLayer("float32");
const tol = (dtype: "float32" | "float64"): [number, number] =>
  dtype === "float32" ? [1e-4, 1e-5] : [1e-10, 1e-11];

/** fn() with the backend's fused capabilities hidden, so every layer runs its composed forward. */
function composed<T>(fn: () => T): T {
  const b = q.backend() as { fused?: unknown };
  const saved = b.fused;
  b.fused = undefined;
  try {
    return fn();
  } finally {
    b.fused = saved;
  }
}

/** fn() and the number of fused-layer kernel calls it made (0 on a backend without one). */
function counted<T>(fn: () => T): [T, number] {
  const layer = q.backend().fused?.transformerLayer;
  if (!layer) return [fn(), 0];
  const spy = vi.spyOn(layer, "forward");
  try {
    return [fn(), spy.mock.calls.length];
  } finally {
    spy.mockRestore();
  }
}

const bertConfig = (hiddenAct: q.BertConfig["hiddenAct"]): q.BertConfig => ({
  vocabSize: 30,
  hiddenSize: 24,
  numHiddenLayers: 2,
  numAttentionHeads: 3,
  intermediateSize: 40,
  hiddenAct,
  hiddenDropoutProb: 0.1,
  attentionProbsDropoutProb: 0.1,
  maxPositionEmbeddings: 16,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
});

/** Two rows of 7 tokens, the second padded after 4 (attention mask 0 there). */
const bertIds = q.tensor(Int32Array.of(2, 7, 11, 5, 9, 3, 1, 4, 8, 6, 13, 0, 0, 0), { shape: [2, 7] });
const bertMask = q.tensor(Int32Array.of(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0), { shape: [2, 7] });

function seq2seq(dtype: "float32" | "float64", normFirst: boolean, activation: "relu" | "gelu") {
  const model = new q.Seq2SeqTransformer({
    srcVocabSize: 17,
    tgtVocabSize: 19,
    dModel: 16,
    nhead: 2,
    numEncoderLayers: 2,
    numDecoderLayers: 2,
    dimFeedforward: 24,
    dropout: 0.1,
    normFirst,
    activation,
    dtype,
    generator: new q.Generator(11),
  });
  return model.eval();
}

/** Two sources of 6 tokens, the second padded (id 0) after 3. */
const src = q.tensor(Int32Array.of(3, 9, 4, 12, 7, 5, 8, 6, 10, 0, 0, 0), { shape: [2, 6] });
const srcPad = q.paddingMask(src, 0); // (2, 6) bool, true = padding

describe.skipIf(!fused)("models on a backend with a fused transformer layer", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const act of ["gelu", "gelu_new", "relu"] as const) {
      it(`BERT masked-LM logits with padding equal the composed layers (${dtype}, ${act})`, () => {
        const mlm = new q.BertForMaskedLM(bertConfig(act), { generator: new q.Generator(5) })
          .to(dtype)
          .eval();
        const run = () => q.withNoGrad(() => mlm.forward(bertIds, { attentionMask: bertMask }).logits);
        const [got, calls] = counted(run);
        const [want, composedCalls] = counted(() => composed(run));
        expect(calls).toBe(2); // one kernel call per layer
        expect(composedCalls).toBe(0);
        expectClose(got, want, ...tol(dtype), "logits");
      });
    }

    it(`BERT in training mode with dropout, or with gradients, stays composed (${dtype})`, () => {
      const mlm = new q.BertForMaskedLM(bertConfig("gelu"), { generator: new q.Generator(5) }).to(dtype);
      expect(counted(() => q.withNoGrad(() => mlm.forward(bertIds)))[1]).toBe(0); // training, p = 0.1
      mlm.eval();
      expect(counted(() => mlm.forward(bertIds))[1]).toBe(0); // recording a graph
    });

    for (const [normFirst, activation] of [
      [false, "relu"],
      [true, "gelu"],
    ] as const) {
      const name = `${normFirst ? "pre" : "post"}-norm, ${activation}, ${dtype}`;

      it(`seq2seq greedy translation equals the composed layers token for token (${name})`, () => {
        const model = seq2seq(dtype, normFirst, activation);
        const steps = vi.spyOn(model.transformer.decoder, "forward");
        const translate = () =>
          q.translateGreedy(model, src, { bos: 1, maxLen: 8, srcKeyPaddingMask: srcPad });
        const [got, calls] = counted(translate);
        const decoderCalls = steps.mock.calls.length;
        steps.mockRestore();
        const [want, composedCalls] = counted(() => composed(translate));
        expect(got).toEqual(want);
        expect(got.map((r) => r.length)).toEqual([8, 8]);
        // the encoder once (2 layers), then 2 decoder layers per step
        expect(decoderCalls).toBeGreaterThan(0);
        expect(calls).toBe(2 + 2 * decoderCalls);
        expect(composedCalls).toBe(0);
      });

      it(`seq2seq decoder logits step by step with a cache equal the composed ones (${name})`, () => {
        const model = seq2seq(dtype, normFirst, activation);
        const tgt = [1, 5, 14, 3, 9, 2];
        const rows = (t: number) => [tgt.slice(0, t), tgt.slice(1, t + 1)];
        const stepwise = () =>
          q.withNoGrad(() => {
            const memory = model.encode(src, srcPad);
            const cache = model.transformer.decoder.createCache();
            const out: q.Tensor[] = [];
            // a 2-token prefill, then one token per step
            out.push(model.nextLogits(rows(2), memory, { cache, memoryKeyPaddingMask: srcPad }));
            for (let t = 2; t < tgt.length - 1; t++) {
              const next = rows(t + 1).map((r) => r.slice(-1));
              out.push(model.nextLogits(next, memory, { cache, memoryKeyPaddingMask: srcPad }));
            }
            return out;
          });
        const [got, calls] = counted(stepwise);
        const want = composed(stepwise);
        expect(calls).toBe(2 + 2 * got.length); // encoder layers, then every decoder layer and step
        const [rtol, atol] = tol(dtype);
        for (const [i, g] of got.entries()) expectClose(g, want[i], rtol, atol, `step ${i}`);
        // and the cached composed steps are the teacher-forced forward's positions
        const tgtIds = q.tensor(Int32Array.from(rows(tgt.length - 1).flat()), { shape: [2, tgt.length - 1] });
        const full = q.withNoGrad(() => model.forward(src, tgtIds, { srcKeyPaddingMask: srcPad })); // (2, 5, V)
        for (const [i, g] of got.entries()) expectClose(g, q.select(full, 1, i + 1), rtol, atol, `full ${i}`);
      });
    }
  }
});

describe.skipIf(!fused)("torch.nn.Transformer layers with every mask kind, fused and composed", () => {
  const opts = { dimFeedforward: 20, dropout: 0.1, batchFirst: true, generator: new q.Generator(9) };
  const N = 2;
  const H = 2;
  const g = new q.Generator(21);
  const rand = (shape: number[], dtype: "float32" | "float64") => q.randn(shape, { dtype, generator: g });
  const pad = (S: number) =>
    q.tensor(
      Uint8Array.from({ length: N * S }, (_, i) => (i >= 2 * S - 2 ? 1 : 0)),
      { shape: [N, S], dtype: "bool" },
    ); // row 1's last two
  for (const dtype of ["float32", "float64"] as const) {
    it(`encoder layer: causal hint, bool and additive masks, key padding (${dtype})`, () => {
      const layer = new q.nn.TransformerEncoderLayer(12, H, {
        ...opts,
        dtype,
        normFirst: true,
        activation: "gelu",
      }).eval();
      const x = rand([N, 5, 12], dtype);
      const causalBool = q.triu(q.ones([5, 5], { dtype: "bool" }), 1); // true = not allowed
      const additive = q.mul(rand([N * H, 5, 5], dtype), 0.5);
      for (const [name, o] of [
        ["causal", { isCausal: true }],
        ["bool mask + padding", { srcMask: causalBool, srcKeyPaddingMask: pad(5) }],
        ["additive (N·H, S, S)", { srcMask: additive }],
      ] as const) {
        const run = () => q.withNoGrad(() => layer.forward(x, o));
        const [got, calls] = counted(run);
        expect(calls, name).toBe(1);
        expectClose(got, composed(run), ...tol(dtype), name);
      }
    });

    it(`decoder layer with a cache: tgt mask, tgt and memory padding, memory mask (${dtype})`, () => {
      const layer = new q.nn.TransformerDecoderLayer(12, H, { ...opts, dtype }).eval();
      const memory = rand([N, 6, 12], dtype);
      const tgt = rand([N, 4, 12], dtype);
      const memoryMask = q.mul(rand([3, 6], dtype), 0.5); // (T, Sm) additive, for the 3-token steps' last one
      const steps = () =>
        q.withNoGrad(() => {
          const cache = new q.KVCache(1);
          const out = [
            layer.forward(q.narrow(tgt, 1, 0, 3), memory, {
              cache,
              tgtKeyPaddingMask: pad(3),
              memoryKeyPaddingMask: pad(6),
              memoryMask,
            }),
          ];
          const tgtMask = q.zeros([1, 4], { dtype: "bool" }); // (T, past + T), nothing masked: not causal
          out.push(
            layer.forward(q.narrow(tgt, 1, 3, 1), memory, { cache, tgtMask, memoryKeyPaddingMask: pad(6) }),
          );
          return out;
        });
      const [got, calls] = counted(steps);
      expect(calls).toBe(2);
      const want = composed(steps);
      for (const [i, y] of got.entries()) expectClose(y, want[i], ...tol(dtype), `step ${i}`);
    });
  }
});

describe.skipIf(fused)("models on a backend without a fused transformer layer", () => {
  it("BERT and seq2seq decoding run composed", () => {
    const mlm = new q.BertForMaskedLM(bertConfig("gelu"), { generator: new q.Generator(5) }).eval();
    const [logits, calls] = counted(() =>
      q.withNoGrad(() => mlm.forward(bertIds, { attentionMask: bertMask }).logits),
    );
    expect(calls).toBe(0);
    expect(logits.shape).toEqual([2, 7, 30]);
    const model = seq2seq("float32", false, "relu");
    const out = q.translateGreedy(model, src, { bos: 1, maxLen: 4, srcKeyPaddingMask: srcPad });
    expect(out.map((r) => r.length)).toEqual([4, 4]);
  });
});
