/**
 * The step interface: one loop drives any StepModel over many rows (each row as if alone), and
 * beam search over a StepModel (its state reordered to the chosen beams) equals beam search
 * over a step function that recomputes every prefix.
 */

import { describe, expect, it } from "vitest";
import {
  type BeamStepFn,
  beamSearch,
  generate,
  generateAsync,
  generateBatch,
  greedySearch,
  type StepModel,
} from "../../src/generate/index.js";
import { Generator } from "../../src/util/rng.js";

const V = 7;

/** Logits that depend only on a prefix: a deterministic pseudo-random row per prefix. */
function rowOf(prefix: readonly number[], seed = 3): Float32Array {
  let h = seed;
  for (const id of prefix) h = (Math.imul(h, 31) + id + 7) >>> 0;
  const g = new Generator(h);
  return Float32Array.from({ length: V }, () => g.normal() * 2);
}

/** A StepModel that keeps each row's prefix (like a cache) and records what it was fed. */
function prefixModel(): StepModel<number[][]> & { fed: number[][][]; reorders: number[][] } {
  const fed: number[][][] = [];
  const reorders: number[][] = [];
  return {
    fed,
    reorders,
    init: (rows) => Array.from({ length: rows }, () => []),
    step(newIds, rows) {
      fed.push(newIds.map((r) => [...r]));
      const out = new Float32Array(newIds.length * V);
      newIds.forEach((ids, r) => {
        rows[r].push(...ids);
        out.set(rowOf(rows[r]), r * V);
      });
      return out;
    },
    reorder(rows, index) {
      reorders.push([...index]);
      const copy = index.map((i) => [...rows[i]]);
      rows.length = 0;
      rows.push(...copy);
    },
  };
}

describe("generateBatch", () => {
  it("each row decodes as it would alone (greedy), finished rows stop while the others go on", () => {
    const prompts = [
      [2, 3],
      [4, 5],
      [6, 0],
    ];
    const alone = prompts.map((p) =>
      generate(prefixModel(), p, { maxNewTokens: 12, temperature: 0, eosId: 1 }),
    );
    const model = prefixModel();
    const batch = generateBatch(model, prompts, { maxNewTokens: 12, temperature: 0, eosId: 1 });
    expect(batch).toEqual(alone);
    // The whole prompt first, then one id per row per step.
    expect(model.fed[0]).toEqual(prompts);
    expect(model.fed.slice(1).every((step) => step.every((r) => r.length === 1))).toBe(true);
    // The batch runs until its longest row is done: one step per generated id plus the EOS step.
    const longest = Math.max(...alone.map((r) => r.ids.length + (r.finishReason === "eos" ? 1 : 0)));
    expect(model.fed.length).toBe(longest);
  });

  it("sampled rows draw in row order from one generator; onToken sees the row", () => {
    const prompts = [[2], [3]];
    const seen: [number, number, number][] = [];
    const opts = { maxNewTokens: 5, temperature: 0.9, topK: 4 };
    const a = generateBatch(prefixModel(), prompts, {
      ...opts,
      generator: new Generator(11),
      onToken: (id, i, row) => {
        seen.push([row, i, id]);
      },
    });
    const b = generateBatch(prefixModel(), prompts, { ...opts, generator: new Generator(11) });
    expect(a).toEqual(b);
    expect(seen.filter(([row]) => row === 1).map(([, , id]) => id)).toEqual(a[1].ids);
    expect(seen.slice(0, 2).map(([row, i]) => [row, i])).toEqual([
      [0, 0],
      [1, 0],
    ]);
  });

  it("the async driver runs the same loop: same ids for the same seed", async () => {
    const opts = { maxNewTokens: 8, temperature: 0.8, topP: 0.9 };
    const sync = generate(prefixModel(), [2, 4], { ...opts, generator: new Generator(5) });
    const m = prefixModel();
    const asyncModel = {
      init: m.init,
      step: async (ids: readonly (readonly number[])[], s: number[][]) => m.step(ids, s),
    };
    const result = await generateAsync(asyncModel, [2, 4], { ...opts, generator: new Generator(5) });
    expect(result).toEqual(sync);
    expect(() => generate(asyncModel as unknown as StepModel<number[][]>, [2], { maxNewTokens: 2 })).toThrow(
      /generateAsync/,
    );
  });

  it("rejects logits that do not split into rows", () => {
    const bad: StepModel<null> = { init: () => null, step: () => new Float32Array(5) };
    expect(() => generateBatch(bad, [[1], [2]], { maxNewTokens: 1 })).toThrow(/5 logits for 2 rows/);
  });
});

describe("beamSearch over a StepModel", () => {
  const recompute: BeamStepFn = (prefixes) => prefixes.map((p) => rowOf(p));

  it("equals beam search over the recomputing step function, reordering the model's rows", () => {
    for (const beamSize of [2, 3, 4]) {
      const opts = { beamSize, maxLen: 9, bos: 0, eos: 1, lengthPenalty: 0.7 };
      const model = prefixModel();
      expect(beamSearch(model, opts)).toEqual(beamSearch(recompute, opts));
      // After the first step only the last id of each beam is fed.
      expect(model.fed[0]).toEqual([[0]]);
      expect(model.fed.slice(1).every((step) => step.every((r) => r.length === 1))).toBe(true);
      expect(model.reorders.length).toBeGreaterThan(0);
    }
  });

  it("greedy search never reorders; a model without reorder can only be searched greedily", () => {
    const model = prefixModel();
    const opts = { beamSize: 1, maxLen: 9, bos: 0, eos: 1 };
    expect(greedySearch(model, opts)).toEqual(greedySearch(recompute, opts));
    expect(model.reorders).toEqual([]);
    const { reorder: _, ...noReorder } = prefixModel();
    expect(() => beamSearch(noReorder, { ...opts, beamSize: 2 })).toThrow(/reorder/);
  });
});
