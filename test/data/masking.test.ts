/**
 * BERT masking: selection rate, the 80/10/10 split, labels, special ids never touched, and
 * reproducibility, measured on a large sample.
 */

import { describe, expect, it } from "vitest";
import { IGNORE_INDEX, maskTokens } from "../../src/data/index.js";
import { tensor } from "../../src/tensor/create.js";
import { Generator } from "../../src/util/rng.js";

const PAD = 0;
const CLS = 1;
const SEP = 2;
const MASK = 3;
const VOCAB = 1000;
const specialIds = [PAD, CLS, SEP, MASK];

/** B rows of [CLS] words… [SEP] [PAD]… with random lengths. */
function batch(b: number, t: number, seed: number): Int32Array {
  const g = new Generator(seed);
  const ids = new Int32Array(b * t);
  for (let r = 0; r < b; r++) {
    const len = g.randint(t / 2, t + 1);
    for (let i = 0; i < t; i++) {
      ids[r * t + i] = i === 0 ? CLS : i === len - 1 ? SEP : i >= len ? PAD : g.randint(4, VOCAB);
    }
  }
  return ids;
}

/** Element-wise equality (vitest's deep equality is slow on 50k-element typed arrays). */
function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe("maskTokens", () => {
  const B = 200;
  const T = 256;
  const ids = batch(B, T, 1);
  const input = tensor(ids, { shape: [B, T] });
  const { inputIds, labels } = maskTokens(input, {
    vocabSize: VOCAB,
    maskId: MASK,
    specialIds,
    generator: new Generator(9),
  });
  const inp = inputIds.toArray();
  const lab = labels.toArray();

  it("keeps shape and dtype, and is reproducible for a seed", () => {
    expect(inputIds.shape).toEqual([B, T]);
    expect(labels.shape).toEqual([B, T]);
    expect(inputIds.dtype).toBe("int32");
    expect(labels.dtype).toBe("int32");
    const again = maskTokens(input, {
      vocabSize: VOCAB,
      maskId: MASK,
      specialIds,
      generator: new Generator(9),
    });
    expect(same(again.inputIds.toArray(), inp)).toBe(true);
    expect(same(again.labels.toArray(), lab)).toBe(true);
  });

  it("never selects or alters special positions, and labels the selected ones", () => {
    let ordinary = 0;
    let selected = 0;
    let masked = 0;
    let random = 0;
    let kept = 0;
    const problems: string[] = []; // collected, not asserted per element, to keep the test fast
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] <= MASK) {
        if (lab[i] !== IGNORE_INDEX || inp[i] !== ids[i]) problems.push(`special at ${i} touched`);
        continue;
      }
      ordinary++;
      if (lab[i] === IGNORE_INDEX) {
        if (inp[i] !== ids[i]) problems.push(`unselected ${i} changed`);
        continue;
      }
      selected++;
      if (lab[i] !== ids[i]) problems.push(`label ${i} is ${lab[i]}, not ${ids[i]}`);
      if (inp[i] === MASK) masked++;
      else if (inp[i] === ids[i]) kept++;
      else {
        random++;
        if (inp[i] <= MASK) problems.push(`random replacement ${i} is special`);
      }
    }
    expect(problems).toEqual([]);
    // ~38k ordinary positions: the binomial sd of the rate is ~0.002, of the split ~0.005.
    expect(ordinary).toBeGreaterThan(30000);
    expect(Math.abs(selected / ordinary - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(masked / selected - 0.8)).toBeLessThan(0.025);
    expect(Math.abs(random / selected - 0.1)).toBeLessThan(0.02); // a random pick equals the original 1/996 of the time
    expect(Math.abs(kept / selected - 0.1)).toBeLessThan(0.02);
  });

  it("honours probability 0 and 1 and validates its arguments", () => {
    const none = maskTokens(input, {
      vocabSize: VOCAB,
      maskId: MASK,
      specialIds,
      probability: 0,
      generator: new Generator(0),
    });
    expect(Array.from(none.labels.toArray()).every((v) => v === IGNORE_INDEX)).toBe(true);
    const all = maskTokens(input, {
      vocabSize: VOCAB,
      maskId: MASK,
      specialIds,
      probability: 1,
      generator: new Generator(0),
    });
    const l = all.labels.toArray();
    let wrong = 0;
    for (let i = 0; i < ids.length; i++) if ((l[i] !== IGNORE_INDEX) !== ids[i] > MASK) wrong++;
    expect(wrong).toBe(0);
    expect(() => maskTokens(input, { vocabSize: VOCAB, maskId: VOCAB })).toThrow(/maskId/);
    expect(() => maskTokens(input, { vocabSize: VOCAB, maskId: MASK, probability: 2 })).toThrow(
      /probability/,
    );
    expect(() => maskTokens(tensor([5000], { dtype: "int32" }), { vocabSize: VOCAB, maskId: MASK })).toThrow(
      /id 5000 at flat position 0/,
    );
  });
});
