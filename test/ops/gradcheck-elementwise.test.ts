/**
 * Finite-difference gradient checks (float64, central differences) for the elementwise ops, over
 * contiguous, broadcast, size-1 and non-contiguous (transposed, strided-slice) inputs. Inputs are
 * kept away from kinks (relu/abs at 0, maximum/minimum ties, clamp bounds).
 */
import { describe, it } from "vitest";
import { type InputDomain, UNARY_OPS } from "../../src/backend/op-table.js";
import type { Tensor } from "../../src/index.js";
import * as q from "../../src/index.js";
import {
  awayFromZero,
  constant,
  gradCheck,
  leaf,
  positive,
  slicedLeaf,
  transposedLeaf,
  type ValueMap,
} from "../helpers.js";

interface Case {
  name: string;
  inputs: () => Tensor[];
  f: (...xs: Tensor[]) => Tensor;
  tol?: { eps?: number; rtol?: number; atol?: number };
}

function check(cases: Case[]): void {
  for (const c of cases) it(c.name, () => gradCheck(c.f, c.inputs(), c.tol));
}

/** One input in each layout the unary ops must handle. */
function unaryLayouts(map?: ValueMap): [string, () => Tensor][] {
  return [
    ["contiguous [3, 4]", () => leaf([3, 4], 1, map)],
    ["transposed [3, 4]", () => transposedLeaf([3, 4], 2, map)],
    ["strided slice [2, 3]", () => slicedLeaf([2, 3], 3, map)],
    ["size-1 dims [1, 4, 1]", () => leaf([1, 4, 1], 4, map)],
    ["0-d", () => leaf([], 5, map)],
  ];
}

function unaryCases(op: string, f: (x: Tensor) => Tensor, map?: ValueMap, tol?: Case["tol"]): Case[] {
  return unaryLayouts(map).map(([layout, make]) => ({
    name: `${op}: ${layout}`,
    inputs: () => [make()],
    f,
    tol,
  }));
}

/** Operand pairs covering equal shapes, broadcasting both ways, size-1 dims and strided views. */
function binaryLayouts(mapA?: ValueMap, mapB?: ValueMap): [string, () => Tensor[]][] {
  return [
    ["same shape", () => [leaf([3, 4], 11, mapA), leaf([3, 4], 12, mapB)]],
    ["broadcast [2,1,4] with [3,1]", () => [leaf([2, 1, 4], 13, mapA), leaf([3, 1], 14, mapB)]],
    ["size-1 [1] with [3,4]", () => [leaf([1], 15, mapA), leaf([3, 4], 16, mapB)]],
    ["transposed with strided slice", () => [transposedLeaf([3, 4], 17, mapA), slicedLeaf([3, 4], 18, mapB)]],
    ["broadcast transposed [4,3] with [3]", () => [transposedLeaf([4, 3], 19, mapA), leaf([3], 20, mapB)]],
  ];
}

function binaryCases(
  op: string,
  f: (a: Tensor, b: Tensor) => Tensor,
  mapA?: ValueMap,
  mapB?: ValueMap,
): Case[] {
  return binaryLayouts(mapA, mapB).map(([layout, make]) => ({ name: `${op}: ${layout}`, inputs: make, f }));
}

/** Input maps per table domain: each keeps x where the op is smooth (log > 0, abs/relu off 0). */
const DOMAIN: Record<InputDomain, ValueMap | undefined> = {
  normal: undefined,
  positive: positive(0.3),
  away: awayFromZero(),
  away5: awayFromZero(0.5),
};

describe("gradcheck: unary elementwise", () => {
  // Every row of the unary table, through the op the table derives (gelu's options below).
  for (const row of UNARY_OPS) check(unaryCases(row.name, q.unaryOps[row.name], DOMAIN[row.domain]));
  check(unaryCases("gelu (exact)", (x) => q.gelu(x)));
  check(unaryCases("gelu (tanh)", (x) => q.gelu(x, { approximate: "tanh" })));
  check([
    // Large |x| exercises the overflow-free branches of sigmoid/silu and erf's continued fraction.
    { name: "sigmoid: large |x|", inputs: () => [leaf([6], 30, (v) => 12 * v)], f: q.sigmoid },
    { name: "silu: large |x|", inputs: () => [leaf([6], 31, (v) => 12 * v)], f: q.silu },
    {
      name: "gelu: |x| beyond 3",
      inputs: () => [leaf([6], 32, (v) => Math.sign(v) * (3.2 + Math.abs(v)))],
      f: (x) => q.gelu(x),
    },
  ]);
});

describe("gradcheck: binary elementwise", () => {
  check(binaryCases("add", q.add));
  check(binaryCases("sub", q.sub));
  check(binaryCases("mul", q.mul));
  check(binaryCases("div", q.div, undefined, awayFromZero(0.5)));
  check(binaryCases("pow (tensor ^ tensor)", q.pow, positive(0.3)));
  check(binaryCases("maximum", q.maximum));
  check(binaryCases("minimum", q.minimum));
  check([
    { name: "add: tensor + number", inputs: () => [leaf([2, 3], 40)], f: (x) => q.add(x, 1.5) },
    { name: "sub: number − tensor", inputs: () => [leaf([2, 3], 41)], f: (x) => q.sub(2, x) },
    { name: "mul: tensor · number", inputs: () => [transposedLeaf([2, 3], 42)], f: (x) => q.mul(x, -3) },
    {
      name: "div: number / tensor",
      inputs: () => [leaf([2, 3], 43, awayFromZero(0.5))],
      f: (x) => q.div(2, x),
    },
    { name: "div: tensor / number", inputs: () => [leaf([2, 3], 44)], f: (x) => q.div(x, 7) },
    { name: "pow: tensor ^ 2.5", inputs: () => [leaf([2, 3], 45, positive(0.2))], f: (x) => q.pow(x, 2.5) },
    {
      name: "pow: tensor ^ 3 (negative base)",
      inputs: () => [slicedLeaf([2, 3], 46)],
      f: (x) => q.pow(x, 3),
    },
    { name: "pow: 2 ^ tensor", inputs: () => [leaf([2, 3], 47)], f: (x) => q.pow(2, x) },
    {
      name: "maximum: tensor and number",
      inputs: () => [leaf([3, 4], 48, awayFromZero())],
      f: (x) => q.maximum(x, 0),
    },
    {
      name: "minimum: tensor and number",
      inputs: () => [leaf([3, 4], 49, awayFromZero())],
      f: (x) => q.minimum(x, 0),
    },
    {
      name: "mul: one operand constant",
      inputs: () => [leaf([2, 3], 50)],
      f: (x) => q.mul(x, constant([3], 51)),
    },
    {
      name: "a·b + a/b − a (input used several times)",
      inputs: () => [leaf([2, 3], 52), leaf([3], 53, awayFromZero(0.5))],
      f: (a, b) => q.sub(q.add(q.mul(a, b), q.div(a, b)), a),
    },
  ]);
});

describe("gradcheck: clamp and where", () => {
  // Values stay ≥ 0.1 away from the bounds ±0.5.
  const offBounds: ValueMap = (v) => {
    const d = Math.abs(Math.abs(v) - 0.5);
    return d >= 0.1 ? v : v + 0.25;
  };
  check([
    ...unaryCases("clamp min/max", (x) => q.clamp(x, { min: -0.5, max: 0.5 }), offBounds),
    {
      name: "clamp: min only",
      inputs: () => [leaf([3, 4], 60, offBounds)],
      f: (x) => q.clamp(x, { min: -0.5 }),
    },
    {
      name: "clamp: max only",
      inputs: () => [transposedLeaf([3, 4], 61, offBounds)],
      f: (x) => q.clamp(x, { max: 0.5 }),
    },
  ]);
  const cond = () => q.gt(constant([3, 1], 62, awayFromZero()), 0);
  const condFull = () => q.lt(constant([3, 4], 63, awayFromZero()), 0);
  check([
    {
      name: "where: same shapes",
      inputs: () => [leaf([3, 4], 64), leaf([3, 4], 65)],
      f: (a, b) => q.where(condFull(), a, b),
    },
    {
      name: "where: condition, a and b all broadcast",
      inputs: () => [leaf([2, 1, 4], 66), leaf([4], 67)],
      f: (a, b) => q.where(cond(), a, b),
    },
    {
      name: "where: transposed and sliced operands",
      inputs: () => [transposedLeaf([3, 4], 68), slicedLeaf([3, 4], 69)],
      f: (a, b) => q.where(condFull(), a, b),
    },
    {
      name: "where: tensor and scalar",
      inputs: () => [leaf([3, 4], 70)],
      f: (a) => q.where(condFull(), a, -1),
    },
    {
      name: "where: scalar and tensor",
      inputs: () => [leaf([2, 3, 4], 71)],
      f: (b) => q.where(condFull(), 2, b),
    },
  ]);
});
