/**
 * Finite-difference gradient checks (float64, central differences) for reductions (one dim, several
 * dims, all dims, keepdim) and matrix products (1-D, 2-D, batched, broadcast batch, linear).
 */
import { describe, expect, it } from "vitest";
import { UNARY_OPS } from "../../src/backend/op-table.js";
import type { Tensor } from "../../src/index.js";
import * as q from "../../src/index.js";
import { gradCheck, leaf, slicedLeaf, transposedLeaf } from "../helpers.js";

interface Case {
  name: string;
  inputs: () => Tensor[];
  f: (...xs: Tensor[]) => Tensor;
  tol?: { eps?: number; rtol?: number; atol?: number };
}

function check(cases: Case[]): void {
  for (const c of cases) it(c.name, () => gradCheck(c.f, c.inputs(), c.tol));
}

type Reducer = (x: Tensor, dim: q.Dims, opts: { keepdim?: boolean }) => Tensor;

/** Each reduction over several dim choices and input layouts. */
function reduceCases(op: string, r: Reducer): Case[] {
  const variants: [string, q.Dims, boolean][] = [
    ["all dims", undefined, false],
    ["all dims, keepdim", undefined, true],
    ["dim 1", 1, false],
    ["dim -1, keepdim", -1, true],
    ["dims [0, 2]", [0, 2], false],
    ["dims [0, 1], keepdim", [0, 1], true],
  ];
  const cases: Case[] = variants.map(([what, dim, keepdim], i) => ({
    name: `${op}: ${what}`,
    inputs: () => [leaf([2, 3, 4], 100 + i)],
    f: (x) => r(x, dim, { keepdim }),
  }));
  cases.push(
    {
      name: `${op}: transposed input, dim 0`,
      inputs: () => [transposedLeaf([4, 3], 110)],
      f: (x) => r(x, 0, {}),
    },
    {
      name: `${op}: strided slice, dims [0, 1]`,
      inputs: () => [slicedLeaf([3, 4], 111)],
      f: (x) => r(x, [0, 1], {}),
    },
    {
      name: `${op}: size-1 dims, dim 1`,
      inputs: () => [leaf([3, 1, 4], 112)],
      f: (x) => r(x, 1, { keepdim: true }),
    },
  );
  return cases;
}

describe("gradcheck: reductions", () => {
  check(reduceCases("sum", (x, d, o) => q.sum(x, d, o)));
  check(reduceCases("mean", (x, d, o) => q.mean(x, d, o)));
  check(reduceCases("max", (x, d, o) => q.max(x, d, o)));
  check(reduceCases("min", (x, d, o) => q.min(x, d, o)));
  check(reduceCases("var", (x, d, o) => q.variance(x, d, o)));
  check(reduceCases("std", (x, d, o) => q.std(x, d, o)));
  check(reduceCases("logsumexp", (x, d, o) => q.logsumexp(x, d ?? [0, 1, 2].slice(0, x.ndim), o)));
  check([
    {
      name: "var: correction 0",
      inputs: () => [leaf([3, 4], 120)],
      f: (x) => q.variance(x, 1, { correction: 0 }),
    },
    {
      name: "std: correction 0, keepdim",
      inputs: () => [leaf([3, 4], 121)],
      f: (x) => q.std(x, 0, { correction: 0, keepdim: true }),
    },
    {
      // exp(750) overflows float64: only the max-shifted form is finite. Larger eps because the
      // loss is ~750, so rounding dominates the difference quotient at the default eps.
      name: "logsumexp: values near 750",
      inputs: () => [leaf([2, 5], 122, (v) => 750 + v)],
      f: (x) => q.logsumexp(x, 1),
      tol: { eps: 1e-4, atol: 1e-7 },
    },
    { name: "sum: 0-d input", inputs: () => [leaf([], 123)], f: (x) => q.sum(x) },
    { name: "max: 0-d input", inputs: () => [leaf([], 124)], f: (x) => q.max(x) },
  ]);
});

describe("gradcheck: matmul", () => {
  check([
    { name: "1-D · 1-D", inputs: () => [leaf([4], 200), leaf([4], 201)], f: q.matmul },
    { name: "1-D · 2-D", inputs: () => [leaf([4], 202), leaf([4, 3], 203)], f: q.matmul },
    { name: "2-D · 1-D", inputs: () => [leaf([2, 4], 204), leaf([4], 205)], f: q.matmul },
    { name: "2-D · 2-D", inputs: () => [leaf([2, 4], 206), leaf([4, 3], 207)], f: q.matmul },
    {
      name: "2-D transposed · 2-D transposed",
      inputs: () => [transposedLeaf([2, 4], 208), transposedLeaf([4, 3], 209)],
      f: q.matmul,
    },
    {
      name: "2-D strided slice · 2-D",
      inputs: () => [slicedLeaf([2, 4], 210), leaf([4, 3], 211)],
      f: q.matmul,
    },
    { name: "batched 3-D · 3-D", inputs: () => [leaf([2, 2, 4], 212), leaf([2, 4, 3], 213)], f: q.matmul },
    {
      name: "batched, transposed operands",
      inputs: () => [transposedLeaf([2, 2, 4], 214), transposedLeaf([2, 4, 3], 215)],
      f: q.matmul,
    },
    {
      name: "broadcast batch 4-D · 3-D",
      inputs: () => [leaf([2, 1, 2, 3], 216), leaf([3, 3, 2], 217)],
      f: q.matmul,
    },
    {
      name: "broadcast batch 3-D · 2-D",
      inputs: () => [leaf([3, 2, 4], 218), leaf([4, 2], 219)],
      f: q.matmul,
    },
    {
      name: "broadcast batch 2-D · 3-D",
      inputs: () => [leaf([2, 4], 220), transposedLeaf([3, 4, 2], 221)],
      f: q.matmul,
    },
    { name: "batched 3-D · 1-D", inputs: () => [leaf([3, 2, 4], 222), leaf([4], 223)], f: q.matmul },
    { name: "1-D · batched 3-D", inputs: () => [leaf([4], 224), leaf([2, 4, 3], 225)], f: q.matmul },
    {
      name: "size-1 dims [1, 4] · [4, 1]",
      inputs: () => [leaf([1, 4], 226), leaf([4, 1], 227)],
      f: q.matmul,
    },
  ]);
});

describe("gradcheck: linear", () => {
  check([
    {
      name: "with bias, 2-D input",
      inputs: () => [leaf([3, 4], 300), leaf([5, 4], 301), leaf([5], 302)],
      f: (x, w, b) => q.linear(x, w, b),
    },
    {
      name: "without bias, 3-D input",
      inputs: () => [leaf([2, 3, 4], 303), leaf([5, 4], 304)],
      f: (x, w) => q.linear(x, w),
    },
    {
      name: "1-D input",
      inputs: () => [leaf([4], 305), leaf([3, 4], 306), leaf([3], 307)],
      f: (x, w, b) => q.linear(x, w, b),
    },
    {
      name: "transposed weight, strided-slice input and bias",
      inputs: () => [slicedLeaf([3, 4], 308), transposedLeaf([5, 4], 309), slicedLeaf([5], 310)],
      f: (x, w, b) => q.linear(x, w, b),
    },
    {
      name: "transposed input",
      inputs: () => [transposedLeaf([3, 4], 311), leaf([2, 4], 312)],
      f: (x, w) => q.linear(x, w),
    },
    {
      name: "GELU (erf) epilogue, with bias",
      inputs: () => [leaf([3, 4], 313), leaf([5, 4], 314), leaf([5], 315)],
      f: (x, w, b) => q.linear(x, w, b, { activation: "gelu" }),
    },
    {
      name: "GELU (tanh) epilogue, 3-D input, no bias",
      inputs: () => [leaf([2, 3, 4], 316), transposedLeaf([5, 4], 317)],
      f: (x, w) => q.linear(x, w, null, { activation: "geluTanh" }),
    },
  ]);

  it("every unary op of the table fuses: linear(…, { activation: f }) equals f(linear(…)), forward and backward", () => {
    // Positive inputs and weights keep every pre-activation z > 0, inside each op's domain (log, sqrt).
    for (const { name: activation } of UNARY_OPS) {
      const x = q.rand([6, 8], { generator: new q.Generator(1), requiresGrad: true });
      const w = q.rand([7, 8], { generator: new q.Generator(2), requiresGrad: true });
      const b = q.rand([7], { generator: new q.Generator(3), requiresGrad: true });
      const fused = q.linear(x, w, b, { activation });
      fused.square().sum().backward();
      const grads = [x, w, b].map((t) => Float32Array.from(t.grad!.data as Float32Array));
      for (const t of [x, w, b]) t.grad = null;
      const plain = q.unaryOps[activation](q.linear(x, w, b));
      plain.square().sum().backward();
      expect(fused.data, activation).toEqual(plain.data);
      [x, w, b].forEach((t, i) => {
        expect(t.grad!.data, `${activation} grad ${i}`).toEqual(grads[i]);
      });
    }
    // geluTanh is gelu(…, { approximate: "tanh" })
    const x = q.randn([2, 3]);
    const w = q.randn([4, 3]);
    expect(q.linear(x, w, null, { activation: "geluTanh" }).data).toEqual(
      q.gelu(q.linear(x, w), { approximate: "tanh" }).data,
    );
    expect(() => q.linear(x, w, null, { activation: "nope" as "gelu" })).toThrow(
      /linear: activation must be a unary op \(neg, exp, .*\), got nope/,
    );
  });
});
