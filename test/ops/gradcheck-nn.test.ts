/**
 * Finite-difference gradient checks (float64, central differences) for the functional nn ops:
 * softmax, logSoftmax, layerNorm, dropout (a fresh generator with a fixed seed per call, so every
 * evaluation draws the same mask), the losses and scaled dot-product attention.
 */
import { describe, it } from "vitest";
import type { Tensor } from "../../src/index.js";
import * as q from "../../src/index.js";
import { awayFromZero, constant, gradCheck, leaf, positive, slicedLeaf, transposedLeaf } from "../helpers.js";

interface Case {
  name: string;
  inputs: () => Tensor[];
  f: (...xs: Tensor[]) => Tensor;
  tol?: { eps?: number; rtol?: number; atol?: number };
}

function check(cases: Case[]): void {
  for (const c of cases) it(c.name, () => gradCheck(c.f, c.inputs(), c.tol));
}

const int32 = (values: number[], shape?: number[]) => q.tensor(values, { dtype: "int32", shape });
const gen = (seed: number) => new q.Generator(seed);

describe("gradcheck: softmax and logSoftmax", () => {
  for (const [name, op] of [
    ["softmax", q.softmax],
    ["logSoftmax", q.logSoftmax],
  ] as const) {
    check([
      { name: `${name}: last dim`, inputs: () => [leaf([3, 4], 500)], f: (x) => op(x, -1) },
      { name: `${name}: dim 0 of 3-D`, inputs: () => [leaf([3, 2, 2], 501)], f: (x) => op(x, 0) },
      { name: `${name}: middle dim`, inputs: () => [leaf([2, 3, 2], 502)], f: (x) => op(x, 1) },
      { name: `${name}: transposed input`, inputs: () => [transposedLeaf([3, 4], 503)], f: (x) => op(x, -1) },
      { name: `${name}: strided slice, dim 0`, inputs: () => [slicedLeaf([3, 2], 504)], f: (x) => op(x, 0) },
      {
        name: `${name}: size-1 softmax dim`,
        inputs: () => [leaf([3, 1], 505)],
        f: (x) => q.mul(op(x, 1), x),
      },
      {
        name: `${name}: 1-D, large values`,
        inputs: () => [leaf([5], 506, (v) => 800 + v)],
        f: (x) => op(x, 0),
      },
    ]);
  }
});

describe("gradcheck: layerNorm", () => {
  check([
    { name: "no weight or bias", inputs: () => [leaf([3, 4], 510)], f: (x) => q.layerNorm(x, [4]) },
    {
      name: "weight and bias",
      inputs: () => [leaf([3, 4], 511), leaf([4], 512), leaf([4], 513)],
      f: (x, w, b) => q.layerNorm(x, [4], w, b),
    },
    {
      name: "weight only",
      inputs: () => [leaf([2, 2, 3], 514), leaf([3], 515)],
      f: (x, w) => q.layerNorm(x, [3], w),
    },
    {
      name: "bias only",
      inputs: () => [leaf([2, 3], 516), leaf([3], 517)],
      f: (x, b) => q.layerNorm(x, [3], null, b),
    },
    {
      name: "two normalized dims",
      inputs: () => [leaf([2, 2, 3], 518), leaf([2, 3], 519), leaf([2, 3], 520)],
      f: (x, w, b) => q.layerNorm(x, [2, 3], w, b),
    },
    {
      name: "transposed input, sliced weight, large eps",
      inputs: () => [transposedLeaf([3, 4], 521), slicedLeaf([4], 522), leaf([4], 523)],
      f: (x, w, b) => q.layerNorm(x, [4], w, b, 0.1),
    },
    {
      name: "1-D input",
      inputs: () => [leaf([5], 524), leaf([5], 525)],
      f: (x, w) => q.layerNorm(x, [5], w),
    },
  ]);
});

describe("gradcheck: dropout", () => {
  check([
    {
      name: "p = 0.3, fixed generator",
      inputs: () => [leaf([4, 5], 530)],
      f: (x) => q.dropout(x, 0.3, { generator: gen(7) }),
    },
    {
      name: "p = 0.5, transposed input",
      inputs: () => [transposedLeaf([3, 4], 531)],
      f: (x) => q.dropout(x, 0.5, { generator: gen(8) }),
    },
    {
      name: "p = 0 (identity)",
      inputs: () => [leaf([3], 532)],
      f: (x) => q.mul(q.dropout(x, 0, { generator: gen(9) }), x),
    },
    {
      name: "eval mode (identity)",
      inputs: () => [leaf([3], 533)],
      f: (x) => q.mul(q.dropout(x, 0.5, { training: false }), x),
    },
    {
      name: "p = 1 (all dropped)",
      inputs: () => [leaf([3], 534)],
      f: (x) => q.add(q.dropout(x, 1, { generator: gen(10) }), x),
    },
  ]);
});

describe("gradcheck: crossEntropy", () => {
  const t4 = () => int32([1, 0, 3, 3]);
  check([
    { name: "class indices, mean", inputs: () => [leaf([4, 5], 540)], f: (x) => q.crossEntropy(x, t4()) },
    {
      name: "sum",
      inputs: () => [leaf([4, 5], 541)],
      f: (x) => q.crossEntropy(x, t4(), { reduction: "sum" }),
    },
    {
      name: "none",
      inputs: () => [leaf([4, 5], 542)],
      f: (x) => q.crossEntropy(x, t4(), { reduction: "none" }),
    },
    {
      name: "ignoreIndex, mean",
      inputs: () => [leaf([4, 5], 543)],
      f: (x) => q.crossEntropy(x, int32([1, -100, 3, 2])),
    },
    {
      name: "custom ignoreIndex, none",
      inputs: () => [leaf([4, 5], 544)],
      f: (x) => q.crossEntropy(x, int32([1, 2, 0, 2]), { ignoreIndex: 2, reduction: "none" }),
    },
    {
      name: "labelSmoothing, mean",
      inputs: () => [leaf([4, 5], 545)],
      f: (x) => q.crossEntropy(x, t4(), { labelSmoothing: 0.1 }),
    },
    {
      name: "labelSmoothing, none",
      inputs: () => [leaf([4, 5], 546)],
      f: (x) => q.crossEntropy(x, t4(), { labelSmoothing: 0.25, reduction: "none" }),
    },
    {
      name: "labelSmoothing with ignoreIndex, mean",
      inputs: () => [leaf([4, 5], 547)],
      f: (x) => q.crossEntropy(x, int32([0, 4, 4, 1]), { labelSmoothing: 0.2, ignoreIndex: 4 }),
    },
    {
      name: "(N, C, d) input",
      inputs: () => [leaf([2, 4, 3], 548)],
      f: (x) => q.crossEntropy(x, int32([0, 3, 1, 2, 2, 0], [2, 3])),
    },
    {
      name: "(N, C, d1, d2) input, sum, labelSmoothing",
      inputs: () => [leaf([2, 3, 2, 2], 549)],
      f: (x) =>
        q.crossEntropy(x, int32([0, 1, 2, 2, 1, 1, 0, 2], [2, 2, 2]), {
          reduction: "sum",
          labelSmoothing: 0.1,
        }),
    },
    {
      name: "(C) input, 0-d target",
      inputs: () => [leaf([5], 550)],
      f: (x) => q.crossEntropy(x, q.tensor(3, { dtype: "int32" })),
    },
    {
      name: "transposed logits",
      inputs: () => [transposedLeaf([4, 5], 551)],
      f: (x) => q.crossEntropy(x, t4()),
    },
    {
      name: "large logits",
      inputs: () => [leaf([4, 5], 552, (v) => 900 * v)],
      f: (x) => q.crossEntropy(x, t4(), { reduction: "none" }),
    },
  ]);
});

describe("gradcheck: nllLoss, mseLoss, binaryCrossEntropyWithLogits", () => {
  const t = () => int32([2, 0, 1]);
  check([
    { name: "nllLoss: mean", inputs: () => [leaf([3, 4], 560)], f: (x) => q.nllLoss(x, t()) },
    {
      name: "nllLoss: sum",
      inputs: () => [leaf([3, 4], 561)],
      f: (x) => q.nllLoss(x, t(), { reduction: "sum" }),
    },
    {
      name: "nllLoss: none, transposed",
      inputs: () => [transposedLeaf([3, 4], 562)],
      f: (x) => q.nllLoss(x, t(), { reduction: "none" }),
    },
    {
      name: "nllLoss: ignoreIndex",
      inputs: () => [leaf([3, 4], 563)],
      f: (x) => q.nllLoss(x, int32([2, -100, 1])),
    },
    {
      name: "nllLoss ∘ logSoftmax",
      inputs: () => [leaf([3, 4], 564)],
      f: (x) => q.nllLoss(q.logSoftmax(x, -1), t()),
    },
    {
      name: "mseLoss: mean",
      inputs: () => [leaf([3, 4], 570), leaf([3, 4], 571)],
      f: (a, b) => q.mseLoss(a, b),
    },
    {
      name: "mseLoss: sum, non-contiguous",
      inputs: () => [transposedLeaf([3, 4], 572), slicedLeaf([3, 4], 573)],
      f: (a, b) => q.mseLoss(a, b, { reduction: "sum" }),
    },
    {
      name: "mseLoss: none",
      inputs: () => [leaf([5], 574), leaf([5], 575)],
      f: (a, b) => q.mseLoss(a, b, { reduction: "none" }),
    },
    {
      name: "bceWithLogits: mean",
      inputs: () => [leaf([3, 4], 580, awayFromZero(0.1)), leaf([3, 4], 581, (v) => 1 / (1 + Math.exp(-v)))],
      f: (x, y) => q.binaryCrossEntropyWithLogits(x, y),
    },
    {
      name: "bceWithLogits: sum, large |x|, transposed",
      inputs: () => [transposedLeaf([3, 4], 582, (v) => 15 * v), leaf([3, 4], 583, (v) => (v > 0 ? 1 : 0))],
      f: (x, y) => q.binaryCrossEntropyWithLogits(x, y, { reduction: "sum" }),
      // The loss is ~100 here, so a larger eps keeps rounding out of the difference quotient.
      tol: { eps: 1e-4 },
    },
    {
      name: "bceWithLogits: posWeight (broadcast), none",
      inputs: () => [
        leaf([3, 4], 584, awayFromZero(0.1)),
        leaf([3, 4], 585, (v) => 1 / (1 + Math.exp(-v))),
        leaf([4], 586, positive(0.2)),
      ],
      f: (x, y, w) => q.binaryCrossEntropyWithLogits(x, y, { posWeight: w, reduction: "none" }),
    },
    {
      name: "bceWithLogits: constant posWeight, mean",
      inputs: () => [slicedLeaf([2, 3], 587, awayFromZero(0.1))],
      f: (x) =>
        q.binaryCrossEntropyWithLogits(
          x,
          constant([2, 3], 588, (v) => (v > 0 ? 1 : 0)),
          { posWeight: constant([3], 589, positive(0.5)) },
        ),
    },
  ]);
});

describe("gradcheck: scaledDotProductAttention", () => {
  const qkv =
    (T: number, S: number, D = 3, Dv = 2, lead = [2, 2]) =>
    () => [leaf([...lead, T, D], 600 + T), leaf([...lead, S, D], 610 + S), leaf([...lead, S, Dv], 620 + S)];
  // Every row keeps at least one key.
  const boolMask = () =>
    q.tensor([
      [true, false, true, true, false],
      [false, false, true, false, false],
      [true, true, true, true, true],
    ]);
  const sdpa = (opts: q.AttentionOptions) => (qq: Tensor, k: Tensor, v: Tensor) =>
    q.scaledDotProductAttention(qq, k, v, opts);
  check([
    { name: "no mask", inputs: qkv(3, 5), f: sdpa({}) },
    { name: "no mask, 3-D (B, T, D)", inputs: qkv(3, 4, 3, 3, [2]), f: sdpa({}) },
    { name: "no mask, 2-D (T, D)", inputs: qkv(2, 3, 2, 2, []), f: sdpa({}) },
    { name: "no mask, 5-D", inputs: qkv(2, 2, 2, 2, [2, 1, 2]), f: sdpa({}) },
    { name: "bool mask (T, S)", inputs: qkv(3, 5), f: (a, b, c) => sdpa({ attnMask: boolMask() })(a, b, c) },
    {
      name: "float mask (B, 1, T, S)",
      inputs: qkv(3, 5),
      f: (a, b, c) => sdpa({ attnMask: constant([2, 1, 3, 5], 630) })(a, b, c),
    },
    { name: "isCausal, T == S", inputs: qkv(4, 4), f: sdpa({ isCausal: true }) },
    { name: "isCausal, T < S (top-left)", inputs: qkv(3, 5), f: sdpa({ isCausal: true }) },
    { name: "isCausal, T > S (top-left)", inputs: qkv(5, 3), f: sdpa({ isCausal: true }) },
    { name: "causalBottomRight, T < S", inputs: qkv(2, 4), f: sdpa({ causalBottomRight: true }) },
    { name: "custom scale", inputs: qkv(3, 3), f: sdpa({ scale: 0.7 }) },
    {
      name: "dropoutP 0.3, fixed generator",
      inputs: qkv(3, 5),
      f: (a, b, c) => sdpa({ dropoutP: 0.3, generator: gen(11) })(a, b, c),
    },
    {
      name: "dropoutP 0.4 with isCausal, fixed generator",
      inputs: qkv(4, 4),
      f: (a, b, c) => sdpa({ dropoutP: 0.4, isCausal: true, generator: gen(12) })(a, b, c),
    },
    {
      name: "dropoutP 0.2 with bool mask, T != S",
      inputs: qkv(3, 5),
      f: (a, b, c) => sdpa({ dropoutP: 0.2, attnMask: boolMask(), generator: gen(13) })(a, b, c),
    },
    {
      // (B, T, H, D) → (B, H, T, D) as a multi-head layer produces them: non-contiguous q, k, v.
      name: "non-contiguous q, k, v (heads transposed)",
      inputs: () => [
        transposedLeaf([2, 2, 3, 3], 640),
        transposedLeaf([2, 2, 4, 3], 641),
        slicedLeaf([2, 2, 4, 2], 642),
      ],
      f: sdpa({ isCausal: true }),
    },
  ]);
});
