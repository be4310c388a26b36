/**
 * Next-token sampling: greedy, top-k, top-p on a hand-made distribution, repetition penalty,
 * temperature, seeded reproducibility, and a chi-square check of empirical frequencies.
 */

import { describe, expect, it } from "vitest";
import {
  applyRepetitionPenalty,
  sampleFromProbabilities,
  sampleNext,
  samplingProbabilities,
} from "../../src/generate/index.js";
import { Generator } from "../../src/util/rng.js";

const logitsOf = (probs: number[]): Float64Array => Float64Array.from(probs, Math.log);
const support = (p: ArrayLike<number>): number[] => Array.from(p).flatMap((v, i) => (v > 0 ? [i] : []));

function softmax(x: ArrayLike<number>, t = 1): number[] {
  const m = Math.max(...Array.from(x));
  const e = Array.from(x, (v) => Math.exp((v - m) / t));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe("greedy", () => {
  it("picks the argmax at temperature 0 (first index on ties)", () => {
    expect(sampleNext(new Float32Array([1, 3, 2]), { temperature: 0 })).toBe(1);
    expect(sampleNext(new Float32Array([5, -1, 5]), { temperature: 0 })).toBe(0);
    expect(sampleNext(new Float32Array([-Infinity, -3, -Infinity]), { temperature: 0 })).toBe(1);
    expect(() => sampleNext(new Float32Array([1, Number.NaN]), { temperature: 0 })).toThrow(/NaN/);
    expect(() => sampleNext(new Float32Array([-Infinity]), {})).toThrow(/-Infinity/);
  });

  it("topK = 1 agrees with greedy on random rows", () => {
    const g = new Generator(3);
    for (let trial = 0; trial < 200; trial++) {
      const row = Float32Array.from({ length: 50 }, () => g.normal() * 3);
      const greedy = sampleNext(row, { temperature: 0 });
      expect(sampleNext(row, { topK: 1, temperature: 0.9, generator: g })).toBe(greedy);
    }
  });
});

describe("filtering", () => {
  const p = [0.05, 0.5, 0.15, 0.3]; // sorted: 1 (0.5), 3 (0.3), 2 (0.15), 0 (0.05)

  it("top-p keeps the smallest most-likely set whose mass reaches p, renormalised", () => {
    const logits = logitsOf(p);
    expect(support(samplingProbabilities(logits, { topP: 0.4 }))).toEqual([1]);
    expect(support(samplingProbabilities(logits, { topP: 0.49 }))).toEqual([1]);
    expect(support(samplingProbabilities(logits, { topP: 0.51 }))).toEqual([1, 3]);
    expect(support(samplingProbabilities(logits, { topP: 0.79 }))).toEqual([1, 3]);
    expect(support(samplingProbabilities(logits, { topP: 0.81 }))).toEqual([1, 2, 3]);
    expect(support(samplingProbabilities(logits, { topP: 0.96 }))).toEqual([0, 1, 2, 3]);
    const q = samplingProbabilities(logits, { topP: 0.7 });
    expect(q[1]).toBeCloseTo(0.5 / 0.8, 12);
    expect(q[3]).toBeCloseTo(0.3 / 0.8, 12);
  });

  it("top-k keeps the k most likely (and ties with the k-th); top-p then applies to those", () => {
    const logits = logitsOf(p);
    expect(support(samplingProbabilities(logits, { topK: 2 }))).toEqual([1, 3]);
    expect(support(samplingProbabilities(logits, { topK: 3 }))).toEqual([1, 2, 3]);
    expect(support(samplingProbabilities(logits, { topK: 10 }))).toEqual([0, 1, 2, 3]);
    expect(support(samplingProbabilities(new Float32Array([1, 2, 2, 0]), { topK: 1 }))).toEqual([1, 2]);
    // top-k 3 leaves mass 0.95; renormalised, 1 and 3 hold 0.8 / 0.95 ≈ 0.842.
    expect(support(samplingProbabilities(logits, { topK: 3, topP: 0.84 }))).toEqual([1, 3]);
    expect(support(samplingProbabilities(logits, { topK: 3, topP: 0.85 }))).toEqual([1, 2, 3]);
    // Ties at the nucleus boundary: lower indices first, even among top-k ties.
    const tied = new Float64Array([0, 1, 1, 1, -2]);
    expect(support(samplingProbabilities(tied, { topK: 2, topP: 0.5 }))).toEqual([1, 2]);
    expect(support(samplingProbabilities(tied, { topK: 2 }))).toEqual([1, 2, 3]);
    expect(support(samplingProbabilities(tied, { topP: 0.5 }))).toEqual([1, 2]);
    expect(() => samplingProbabilities(logits, { topP: 0 })).toThrow(/topP/);
    expect(() => samplingProbabilities(logits, { topK: 1.5 })).toThrow(/topK/);
  });

  it("agrees with a sort-based reference on random rows with ties", () => {
    const g = new Generator(17);
    for (let trial = 0; trial < 300; trial++) {
      const n = g.randint(1, 40);
      const row = Float64Array.from({ length: n }, () => Math.round(g.normal() * 4) / 2); // many ties
      const topK = g.randint(0, n + 2);
      const topP = g.random() < 0.2 ? 1 : 0.05 + 0.9 * g.random();
      const probs = softmax(row);
      const order = probs.map((_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
      let keep = order.filter((i) => topK === 0 || topK >= n || probs[i] >= probs[order[topK - 1]]);
      if (topP < 1) {
        const mass = keep.reduce((acc, i) => acc + probs[i], 0);
        let cum = 0;
        const cut = keep.findIndex((i) => (cum += probs[i] / mass) >= topP);
        if (cut >= 0) keep = keep.slice(0, cut + 1);
      }
      const got = support(samplingProbabilities(row, { topK, topP }));
      expect(got, `row ${Array.from(row)} topK ${topK} topP ${topP}`).toEqual(
        [...keep].sort((a, b) => a - b),
      );
    }
  });

  it("temperature scales the logits", () => {
    const logits = new Float32Array([0.5, -1, 2, 0]);
    const q = samplingProbabilities(logits, { temperature: 2 });
    softmax(logits, 2).forEach((v, i) => {
      expect(q[i]).toBeCloseTo(v, 12);
    });
    expect(() => samplingProbabilities(logits, { temperature: -1 })).toThrow(/temperature/);
  });
});

describe("repetition penalty", () => {
  it("divides positive and multiplies negative logits of previous ids, once per id", () => {
    expect(Array.from(applyRepetitionPenalty([2, -1, 3, 0], [0, 1, 1, 0, 3], 2))).toEqual([1, -2, 3, 0]);
    expect(Array.from(applyRepetitionPenalty([2, -1], [0], 1))).toEqual([2, -1]);
  });

  it("changes the greedy choice away from repeated tokens", () => {
    const pos = new Float32Array([2.0, 1.9, -1]);
    expect(sampleNext(pos, { temperature: 0 })).toBe(0);
    expect(sampleNext(pos, { temperature: 0, repetitionPenalty: 1.5, previousIds: [0] })).toBe(1);
    const neg = new Float32Array([-0.5, -0.6]);
    expect(sampleNext(neg, { temperature: 0, repetitionPenalty: 1.5, previousIds: [0] })).toBe(1);
    // A penalty below 1 encourages repetition.
    expect(
      sampleNext(new Float32Array([1, 1.2]), { temperature: 0, repetitionPenalty: 0.5, previousIds: [0] }),
    ).toBe(0);
  });
});

describe("seeded sampling", () => {
  const logits = new Float32Array([1.0, 0.2, -0.5, 2.0, 0.0]);

  it("is reproducible for a seed", () => {
    const draw = (seed: number): number[] => {
      const g = new Generator(seed);
      return Array.from({ length: 100 }, () =>
        sampleNext(logits, { generator: g, topP: 0.9, temperature: 0.8 }),
      );
    };
    expect(draw(11)).toEqual(draw(11));
    expect(draw(11)).not.toEqual(draw(12));
  });

  it("matches the softmax probabilities (chi-square, 4 degrees of freedom)", () => {
    const g = new Generator(2024);
    const n = 20000;
    const counts = new Array<number>(logits.length).fill(0);
    for (let i = 0; i < n; i++) counts[sampleNext(logits, { generator: g })]++;
    const expected = softmax(logits).map((q) => q * n);
    const chi2 = counts.reduce((acc, c, i) => acc + (c - expected[i]) ** 2 / expected[i], 0);
    expect(chi2).toBeLessThan(18.47); // p = 0.001 critical value
    // Filtered tokens are never drawn.
    const g2 = new Generator(1);
    for (let i = 0; i < 2000; i++) expect([0, 3]).toContain(sampleNext(logits, { generator: g2, topK: 2 }));
  });

  it("sampleFromProbabilities skips zero entries and survives a total just below 1", () => {
    const g = new Generator(0);
    for (let i = 0; i < 500; i++) expect(sampleFromProbabilities([0, 0.3, 0, 0.7 - 1e-12], g)).not.toBe(0);
    expect(() => sampleFromProbabilities([0, 0], g)).toThrow(/positive probability/);
  });
});
