/**
 * TokenDataset splits and BatchSampler: nanoGPT split boundaries, compact id storage,
 * deterministic batches, exact resume from a saved state, and sequential evaluation windows.
 */

import { describe, expect, it } from "vitest";
import { BatchSampler, sequentialBatches, TokenDataset, toTokenIds } from "../../src/data/index.js";
import { CharTokenizer } from "../../src/tokenizers/index.js";
import { Generator } from "../../src/util/rng.js";

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("TokenDataset", () => {
  it("splits like nanoGPT: data[:int(n*0.9)] and data[int(n*0.9):]", () => {
    for (const n of [1, 7, 10, 11, 99, 100, 1001]) {
      const ds = TokenDataset.fromIds(range(n));
      const cut = Math.floor(n * 0.9);
      expect(ds.train.length, `n=${n}`).toBe(cut);
      expect(ds.val.length, `n=${n}`).toBe(n - cut);
      expect(Array.from(ds.train)).toEqual(range(cut));
      expect(Array.from(ds.val)).toEqual(range(n).slice(cut));
    }
    expect(TokenDataset.fromIds(range(10), { valFraction: 0 }).val.length).toBe(0);
    expect(TokenDataset.fromIds(range(10), { valFraction: 0.25 }).train.length).toBe(7);
    expect(() => TokenDataset.fromIds(range(10), { valFraction: 1.5 })).toThrow(/valFraction/);
  });

  it("fromText with a character tokenizer equals splitting the text at 90%", () => {
    const text = "First Citizen:\nBefore we proceed any further, hear me speak.\n";
    const tok = CharTokenizer.fromText(text);
    const ds = TokenDataset.fromText(text, tok);
    const cut = Math.floor(text.length * 0.9);
    expect(tok.decode(ds.train)).toBe(text.slice(0, cut));
    expect(tok.decode(ds.val)).toBe(text.slice(cut));
    expect(ds.vocabSize).toBe(tok.vocabSize);
    expect(ds.split("train")).toBe(ds.train);
    expect(ds.split("val")).toBe(ds.val);
  });

  it("stores ids as uint16 when the vocabulary fits, int32 otherwise, and checks them", () => {
    expect(toTokenIds([1, 65535], 65536)).toBeInstanceOf(Uint16Array);
    expect(toTokenIds([1, 2], 70000)).toBeInstanceOf(Int32Array);
    expect(toTokenIds([70000])).toBeInstanceOf(Int32Array);
    expect(Array.from(toTokenIds([70000, 3]))).toEqual([70000, 3]);
    expect(() => toTokenIds([1, 5], 5)).toThrow(/token id 5 at position 1 .*size 5/);
    expect(() => toTokenIds([1, -1])).toThrow(/position 1/);
    expect(() => toTokenIds([0.5])).toThrow(/position 0/);
  });
});

describe("BatchSampler", () => {
  const ds = TokenDataset.fromIds(range(1000), { vocabSize: 1000 });

  it("returns int32 (B, T) windows with y shifted by one, from offsets in [0, n - T)", () => {
    const sampler = new BatchSampler(ds, { seed: 1 });
    for (let k = 0; k < 20; k++) {
      const { x, y } = sampler.getBatch("train", 4, 8);
      expect(x.shape).toEqual([4, 8]);
      expect(y.shape).toEqual([4, 8]);
      expect(x.dtype).toBe("int32");
      expect(y.dtype).toBe("int32");
      const xs = x.tolist() as number[][];
      const ys = y.tolist() as number[][];
      for (let b = 0; b < 4; b++) {
        const o = xs[b][0];
        expect(o).toBeGreaterThanOrEqual(0);
        expect(o).toBeLessThan(900 - 8);
        expect(xs[b]).toEqual(range(8).map((t) => o + t));
        expect(ys[b]).toEqual(range(8).map((t) => o + t + 1));
      }
    }
    const { x } = sampler.getBatch("val", 2, 5);
    for (const row of x.tolist() as number[][]) expect(row[0]).toBeGreaterThanOrEqual(900);
  });

  it("is deterministic for a seed and different across seeds", () => {
    const a = new BatchSampler(ds, { seed: 42 });
    const b = new BatchSampler(ds, { seed: 42 });
    const c = new BatchSampler(ds, { seed: 43 });
    const xa = a.getBatch("train", 8, 16).x.tolist();
    expect(b.getBatch("train", 8, 16).x.tolist()).toEqual(xa);
    expect(c.getBatch("train", 8, 16).x.tolist()).not.toEqual(xa);
    // An explicit generator is used as is.
    const g = new Generator(42);
    expect(new BatchSampler(ds, { generator: g }).getBatch("train", 8, 16).x.tolist()).toEqual(xa);
  });

  it("resumes exactly from a saved (JSON round-tripped) state", () => {
    const sampler = new BatchSampler(ds, { seed: 7 });
    for (let i = 0; i < 3; i++) sampler.getBatch("train", 4, 10);
    const saved = JSON.stringify(sampler.getState());
    const expected = [0, 1, 2].map(() => sampler.getBatch("train", 4, 10).x.tolist());
    sampler.getBatch("val", 3, 10); // move on
    sampler.setState(JSON.parse(saved));
    expect([0, 1, 2].map(() => sampler.getBatch("train", 4, 10).x.tolist())).toEqual(expected);
    // A fresh sampler restored from the state continues identically too.
    const fresh = new BatchSampler(ds, { seed: 999 }).setState(JSON.parse(saved));
    expect([0, 1, 2].map(() => fresh.getBatch("train", 4, 10).x.tolist())).toEqual(expected);
    expect(() => fresh.setState({} as never)).toThrow(/malformed/);
  });

  it("explains a split too short for the block size", () => {
    const small = TokenDataset.fromIds(range(20));
    const sampler = new BatchSampler(small);
    expect(() => sampler.getBatch("val", 1, 2)).toThrow(/val split has 2 tokens.*blockSize 2/);
    expect(() => sampler.getBatch("train", 0, 2)).toThrow(/batchSize/);
    expect(() => sampler.getBatch("test" as never, 1, 2)).toThrow(/unknown split/);
  });
});

describe("sequentialBatches", () => {
  it("covers consecutive non-overlapping windows, last batch smaller", () => {
    const data = toTokenIds(range(103));
    const batches = [...sequentialBatches(data, 4, 10)]; // 10 windows: offsets 0..90
    expect(batches.map((b) => b.x.shape[0])).toEqual([4, 4, 2]);
    const starts = batches.flatMap((b) => (b.x.tolist() as number[][]).map((r) => r[0]));
    expect(starts).toEqual(range(10).map((i) => i * 10));
    const last = batches[2];
    expect((last.y.tolist() as number[][])[1]).toEqual(range(10).map((t) => 91 + t));
    expect([...sequentialBatches(data, 4, 10, { maxBatches: 2 })].length).toBe(2);
    expect(() => [...sequentialBatches(toTokenIds(range(10)), 1, 10)]).toThrow(/cannot fill one window/);
  });

  it("is available on the sampler without drawing from its generator", () => {
    const sampler = new BatchSampler(TokenDataset.fromIds(range(500)), { seed: 3 });
    const before = sampler.getState();
    const n = [...sampler.evalBatches("val", 2, 8)].length;
    expect(n).toBe(3); // 50 val tokens → 6 windows of 8
    expect(sampler.getState()).toEqual(before);
  });
});
