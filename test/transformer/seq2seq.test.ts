/** Seq2SeqTransformer: names, masks, training, greedy and beam decoding with and without a KV cache. */
import { describe, expect, it } from "vitest";
import {
  crossEntropy,
  manualSeed,
  narrow,
  optim,
  paddingMask,
  Seq2SeqTransformer,
  tensor,
  translateBeam,
  translateGreedy,
  transpose,
} from "../../src/index.js";
import { expectClose } from "../helpers.js";

manualSeed(5);
const small = {
  srcVocabSize: 12,
  tgtVocabSize: 14,
  dModel: 16,
  nhead: 2,
  numEncoderLayers: 2,
  numDecoderLayers: 2,
  dimFeedforward: 32,
  dropout: 0,
  maxLen: 300,
};
const ids = (rows: number[][]) =>
  tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0].length] });
const PAD = 0;
const src = ids([
  [3, 4, 5, 6, 7, 8],
  [9, 10, 11, 4, PAD, PAD],
]);
const srcKeyPaddingMask = paddingMask(src, PAD);

describe("Seq2SeqTransformer", () => {
  it("names modules like PyTorch's translation tutorial; positions are not in the state dict", () => {
    const m = new Seq2SeqTransformer(small);
    const keys = Object.keys(m.stateDict());
    expect(keys[0]).toBe("transformer.encoder.layers.0.self_attn.in_proj_weight");
    expect(keys).toContain("transformer.decoder.norm.weight");
    expect(keys.slice(-4)).toEqual([
      "generator.weight",
      "generator.bias",
      "src_tok_emb.embedding.weight",
      "tgt_tok_emb.embedding.weight",
    ]);
    expect(keys.some((k) => k.includes("positional"))).toBe(false);
  });

  it("teacher-forced logits: shape, causal decoder, source padding ignored", () => {
    const m = new Seq2SeqTransformer(small).eval();
    const tgt = ids([
      [1, 5, 6, 7],
      [1, 8, 9, 2],
    ]);
    const logits = m.forward(src, tgt, { srcKeyPaddingMask });
    expect(logits.shape).toEqual([2, 4, 14]);
    // Position 1 does not see later target tokens.
    const tgt2 = ids([
      [1, 5, 13, 13],
      [1, 8, 13, 13],
    ]);
    expectClose(
      narrow(logits, 1, 0, 2),
      narrow(m.forward(src, tgt2, { srcKeyPaddingMask }), 1, 0, 2),
      1e-5,
      1e-6,
    );
    // Changing source tokens under the padding mask changes nothing.
    const src2 = ids([
      [3, 4, 5, 6, 7, 8],
      [9, 10, 11, 4, 7, 7],
    ]);
    expectClose(logits, m.forward(src2, tgt, { srcKeyPaddingMask }), 1e-5, 1e-6);
  });

  it("learns: Adam drives the loss on a small copy task down", () => {
    manualSeed(1);
    const m = new Seq2SeqTransformer({ ...small, numEncoderLayers: 1, numDecoderLayers: 1 });
    const opt = new optim.Adam(m.parameters(), { lr: 0.01 });
    const s = ids([
      [3, 4, 5, 6],
      [7, 8, 9, 10],
      [11, 3, 8, 5],
    ]);
    const tIn = ids([
      [1, 3, 4, 5, 6],
      [1, 7, 8, 9, 10],
      [1, 11, 3, 8, 5],
    ]);
    const tOut = ids([
      [3, 4, 5, 6, 2],
      [7, 8, 9, 10, 2],
      [11, 3, 8, 5, 2],
    ]);
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      const loss = crossEntropy(m.forward(s, tIn).reshape(-1, 14), tOut.reshape(-1));
      losses.push(loss.item());
      m.zeroGrad();
      loss.backward();
      opt.step();
    }
    expect(losses.at(-1)!).toBeLessThan(0.3 * losses[0]);
    m.eval();
    expect(translateGreedy(m, s, { bos: 1, eos: 2, maxLen: 8 })).toEqual([
      [3, 4, 5, 6],
      [7, 8, 9, 10],
      [11, 3, 8, 5],
    ]);
  });

  it("greedy decoding: cached and uncached give identical tokens; eos ends each sequence", () => {
    const m = new Seq2SeqTransformer(small).eval();
    const free = translateGreedy(m, src, { bos: 1, maxLen: 12, srcKeyPaddingMask });
    expect(free.map((r) => r.length)).toEqual([12, 12]);
    const eos = free[0][4];
    const cached = translateGreedy(m, src, { bos: 1, eos, maxLen: 12, srcKeyPaddingMask, useCache: true });
    const uncached = translateGreedy(m, src, { bos: 1, eos, maxLen: 12, srcKeyPaddingMask, useCache: false });
    expect(cached).toEqual(uncached);
    expect(cached[0]).toEqual(free[0].slice(0, free[0].indexOf(eos)));
    // Sequence-first layout decodes the same.
    const sf = new Seq2SeqTransformer({ ...small, batchFirst: false }).eval();
    sf.loadStateDict(m.stateDict());
    expect(translateGreedy(sf, transpose(src, 0, 1), { bos: 1, eos, maxLen: 12, srcKeyPaddingMask })).toEqual(
      cached,
    );
  });

  it("beam search: beamSize 1 is greedy; cached and uncached beams agree", () => {
    const m = new Seq2SeqTransformer(small).eval();
    const greedy = translateGreedy(m, src, { bos: 1, maxLen: 10, srcKeyPaddingMask });
    const eos = greedy[1][3];
    const opts = { bos: 1, eos, maxLen: 10, srcKeyPaddingMask };
    expect(translateBeam(m, src, { ...opts, beamSize: 1 })).toEqual(translateGreedy(m, src, opts));
    const cached = translateBeam(m, src, { ...opts, beamSize: 3, lengthPenalty: 0.6 });
    expect(translateBeam(m, src, { ...opts, beamSize: 3, lengthPenalty: 0.6, useCache: false })).toEqual(
      cached,
    );
    expect(cached.every((r) => r.length <= 10 && !r.includes(eos))).toBe(true);
  });

  it("KV cache speed: 256 new tokens, cached vs uncached (figure printed, not asserted)", () => {
    manualSeed(3);
    const m = new Seq2SeqTransformer({ ...small, numEncoderLayers: 1 }).eval();
    const one = narrow(src, 0, 0, 1);
    const time = (useCache: boolean) => {
      const t0 = performance.now();
      const out = translateGreedy(m, one, { bos: 1, maxLen: 256, useCache });
      return { out, ms: performance.now() - t0 };
    };
    const cached = time(true);
    const uncached = time(false);
    expect(cached.out[0].length).toBe(256);
    expect(cached.out).toEqual(uncached.out);
    console.log(
      `[seq2seq kv-cache] 256 tokens, dModel 16, 2 decoder layers: cached ${cached.ms.toFixed(0)} ms, ` +
        `uncached ${uncached.ms.toFixed(0)} ms, speed-up ${(uncached.ms / cached.ms).toFixed(1)}x`,
    );
  });
});
