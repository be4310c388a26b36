/**
 * Beam search: beamSize 1 equals greedy, a wider beam finds a better sequence than greedy on a
 * crafted model, parents describe how beams extend, flat outputs, length handling.
 */

import { describe, expect, it } from "vitest";
import { type BeamStepFn, beamSearch, greedySearch } from "../../src/generate/index.js";
import { Generator } from "../../src/util/rng.js";

const BOS = 0;
const EOS = 1;

/** A deterministic pseudo-random model: logits depend only on the prefix. */
function randomModel(vocab: number, seed: number): BeamStepFn {
  return (prefixes) =>
    prefixes.map((p) => {
      let h = seed;
      for (const id of p) h = (Math.imul(h, 31) + id + 7) >>> 0;
      const g = new Generator(h);
      return Float32Array.from({ length: vocab }, () => g.normal() * 2);
    });
}

/** Log-probability rows from explicit next-token probabilities per prefix (key: ids joined by ","). */
function tableModel(table: Record<string, Record<number, number>>, vocab: number): BeamStepFn {
  return (prefixes) =>
    prefixes.map((p) => {
      const row = new Float64Array(vocab).fill(Math.log(1e-6));
      const probs = table[p.join(",")] ?? { [EOS]: 1 };
      for (const [id, q] of Object.entries(probs)) row[Number(id)] = Math.log(q);
      return row;
    });
}

describe("beamSearch", () => {
  it("with beamSize 1 equals greedy decoding", () => {
    for (let seed = 0; seed < 20; seed++) {
      const step = randomModel(6, seed);
      const opts = { beamSize: 1, maxLen: 12, bos: BOS, eos: EOS, lengthPenalty: seed % 2 }; // penalty irrelevant
      const greedy = greedySearch(step, opts);
      const [best, ...rest] = beamSearch(step, opts);
      expect(rest).toEqual([]);
      expect(best.ids).toEqual(greedy.ids);
      expect(best.finished).toBe(greedy.finished);
      expect(best.logProb).toBeCloseTo(greedy.logProb, 9);
    }
  });

  it("ranks exactly like exhaustive search when the beam holds every sequence", () => {
    const vocab = 4;
    const maxLen = 3;
    for (const lengthPenalty of [0, 1, 2]) {
      for (let seed = 0; seed < 5; seed++) {
        const step = randomModel(vocab, seed + 100);
        const logProbOf = (prefix: number[], next: number): number => {
          const [row] = step([prefix], { step: 0, parents: [0] }) as Float32Array[];
          const m = Math.max(...row);
          return row[next] - (m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)));
        };
        // Every hypothesis: non-EOS tokens then EOS (finished), or maxLen non-EOS tokens.
        const all: { ids: number[]; score: number }[] = [];
        const walk = (ids: number[], lp: number): void => {
          const endLp = lp + logProbOf([BOS, ...ids], EOS);
          all.push({ ids, score: endLp / (ids.length + 1) ** lengthPenalty });
          if (ids.length === maxLen) return;
          for (let v = 0; v < vocab; v++) {
            if (v === EOS) continue;
            const next = [...ids, v];
            const nextLp = lp + logProbOf([BOS, ...ids], v);
            if (next.length === maxLen) all.push({ ids: next, score: nextLp / maxLen ** lengthPenalty });
            else walk(next, nextLp);
          }
        };
        walk([], 0);
        all.sort((a, b) => b.score - a.score);
        const hyps = beamSearch(step, { beamSize: 64, maxLen, bos: BOS, eos: EOS, lengthPenalty });
        expect(hyps.slice(0, 5).map((h) => h.ids)).toEqual(all.slice(0, 5).map((h) => h.ids));
        hyps.slice(0, 5).forEach((h, i) => {
          expect(h.score).toBeCloseTo(all[i].score, 9);
        });
      }
    }
  });

  it("finds a higher-probability sequence than greedy when the greedy first step is a trap", () => {
    // Greedy takes A (0.6) and then can only end weakly (0.35): 0.21. B (0.4) then EOS (0.99): 0.396.
    const A = 2;
    const B = 3;
    const step = tableModel(
      {
        "0": { [A]: 0.6, [B]: 0.4 },
        "0,2": { [EOS]: 0.35, [A]: 0.33, [B]: 0.32 },
        "0,3": { [EOS]: 0.99, [A]: 0.01 },
      },
      4,
    );
    const opts = { beamSize: 2, maxLen: 2, bos: BOS, eos: EOS, lengthPenalty: 0 };
    const greedy = greedySearch(step, opts);
    expect(greedy.ids).toEqual([A]);
    expect(greedy.logProb).toBeCloseTo(Math.log(0.21), 4);
    const hyps = beamSearch(step, opts);
    expect(hyps[0].ids).toEqual([B]);
    expect(hyps[0].finished).toBe(true);
    expect(hyps[0].logProb).toBeCloseTo(Math.log(0.396), 4);
    expect(hyps[0].logProb).toBeGreaterThan(greedy.logProb);
    expect(hyps.length).toBeLessThanOrEqual(2);
    for (let i = 1; i < hyps.length; i++) expect(hyps[i - 1].score).toBeGreaterThanOrEqual(hyps[i].score);
  });

  it("reports parents so a cached model can reorder its state", () => {
    const step0 = randomModel(7, 3);
    let previous: (readonly number[])[] = [];
    const step: BeamStepFn = (prefixes, ctx) => {
      expect(ctx.parents.length).toBe(prefixes.length);
      prefixes.forEach((p, i) => {
        if (ctx.step === 0) expect(p).toEqual([BOS]);
        else expect(p.slice(0, -1)).toEqual(previous[ctx.parents[i]]);
      });
      previous = prefixes.map((p) => [...p]);
      return step0(prefixes, ctx);
    };
    const hyps = beamSearch(step, { beamSize: 3, maxLen: 8, bos: BOS, eos: EOS });
    expect(hyps.length).toBe(3);
    for (const h of hyps) {
      expect(h.ids.length).toBeLessThanOrEqual(8);
      expect(h.ids).not.toContain(EOS);
      const len = h.ids.length + (h.finished ? 1 : 0);
      expect(h.score).toBeCloseTo(h.logProb / len, 9);
    }
  });

  it("accepts a flat (beams × vocab) output and stops at maxLen with unfinished beams", () => {
    // EOS is never likely: every hypothesis runs to maxLen.
    const step: BeamStepFn = (prefixes) => {
      const out = new Float32Array(prefixes.length * 4);
      for (let r = 0; r < prefixes.length; r++) out.set([0, -20, 1, 0.5], r * 4);
      return out;
    };
    const hyps = beamSearch(step, { beamSize: 2, maxLen: 3, bos: BOS, eos: EOS });
    expect(hyps.map((h) => h.finished)).toEqual([false, false]);
    expect(hyps[0].ids).toEqual([2, 2, 2]);
    expect(hyps[1].ids.length).toBe(3);
    expect(() => beamSearch(step, { beamSize: 0, maxLen: 3, bos: BOS, eos: EOS })).toThrow(/beamSize/);
    expect(() =>
      beamSearch(() => new Float32Array(5), { beamSize: 1, maxLen: 3, bos: BOS, eos: EOS }),
    ).not.toThrow();
    expect(() =>
      beamSearch(() => [new Float32Array(2), new Float32Array(2)], {
        beamSize: 1,
        maxLen: 3,
        bos: 0,
        eos: 1,
      }),
    ).toThrow(/2 rows for 1 prefixes/);
  });

  it("length penalty: higher values prefer longer finished hypotheses", () => {
    const A = 2;
    // Short: EOS at once (0.5). Long: A A EOS with 0.5 · 0.9 · 0.9 = 0.405 total.
    const step = tableModel(
      {
        "0": { [EOS]: 0.5, [A]: 0.5 },
        "0,2": { [A]: 0.9, [EOS]: 0.1 },
        "0,2,2": { [EOS]: 0.9, [A]: 0.1 },
      },
      3,
    );
    const raw = beamSearch(step, { beamSize: 2, maxLen: 5, bos: BOS, eos: EOS, lengthPenalty: 0 });
    expect(raw[0].ids).toEqual([]);
    const long = beamSearch(step, { beamSize: 2, maxLen: 5, bos: BOS, eos: EOS, lengthPenalty: 2 });
    expect(long[0].ids).toEqual([A, A]);
  });
});
