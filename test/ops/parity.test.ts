/**
 * PyTorch parity: forward outputs and input gradients of every op against fixtures written by
 * scripts/gen_op_fixtures.py (inputs drawn in Python with fixed seeds and stored, so both sides
 * see identical inputs; regenerate with `/usr/bin/python3 scripts/gen_op_fixtures.py`).
 *
 * Tolerances, per compared tensor with reference values r:
 *   float32: |qkv − r| ≤ 1e-5·|r| + 1e-6·max|r|
 *   float64: |qkv − r| ≤ 1e-10·|r| + 1e-12·max(1, max|r|)
 * The absolute term only matters for elements near zero (a result of cancellation, where a
 * relative bound is meaningless). qkv's float32 kernels accumulate in float64 and round once, so
 * they are slightly more accurate than torch's float32; the bounds allow for torch's error.
 *
 * Training-mode dropout draws from a different random stream than torch, so only p = 0 and the
 * eval path are compared here; test/ops/dropout.test.ts and the gradient checks cover the rest.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { UNARY_OPS } from "../../src/backend/op-table.js";
import type { Tensor } from "../../src/index.js";
import * as q from "../../src/index.js";
import { expectClose } from "../helpers.js";

type Num = number | "Infinity" | "-Infinity" | "NaN";

interface InputRecord {
  dtype: "float32" | "float64" | "int32" | "bool";
  shape: number[];
  values: Num[];
  permute?: number[];
  requiresGrad?: boolean;
}

interface TensorRecord {
  shape: number[];
  values: Num[];
}

interface Case {
  name: string;
  op: string;
  dtype: "float32" | "float64";
  kwargs: Record<string, unknown>;
  inputs: InputRecord[];
  outputs: TensorRecord[];
  gradOutputs: TensorRecord[];
  grads: (TensorRecord | null)[];
}

interface Fixture {
  generator: string;
  torch_version: string;
  dtype: "float32" | "float64";
  cases: Case[];
}

const FIXTURES = new URL("../fixtures/ops/", import.meta.url);
const load = (name: string) => JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8")) as Fixture;
const fixtures = [load("parity-float32.json"), load("parity-float64.json")];
/** Goldens of every row of the unary table, both dtypes in one file (`gen_op_fixtures.py unary`). */
const unaryFixtures = JSON.parse(readFileSync(new URL("unary.json", FIXTURES), "utf8")) as Fixture[];

function decode(v: Num | unknown): number {
  if (v === "Infinity") return Number.POSITIVE_INFINITY;
  if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
  if (v === "NaN") return Number.NaN;
  return v as number;
}

function build(rec: InputRecord): Tensor {
  const values = rec.values.map(decode);
  const arrays = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array };
  let t = q.tensor(arrays[rec.dtype].from(values), { shape: rec.shape });
  if (rec.permute) t = q.permute(t, rec.permute);
  if (rec.requiresGrad) t.requiresGrad_(true);
  return t;
}

function fromRecord(rec: TensorRecord, dtype: "float32" | "float64"): Tensor {
  const arr =
    dtype === "float32"
      ? Float32Array.from(rec.values.map(decode))
      : Float64Array.from(rec.values.map(decode));
  return q.tensor(arr, { shape: rec.shape });
}

/** Compares with the tolerances documented at the top of this file. */
function compare(actual: Tensor, ref: TensorRecord, dtype: "float32" | "float64", what: string): void {
  expect(actual.shape, `${what} shape`).toEqual(ref.shape);
  expect(actual.dtype, `${what} dtype`).toBe(dtype);
  const expected = ref.values.map(decode);
  let maxAbs = 0;
  for (const v of expected) if (Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
  if (dtype === "float32") expectClose(actual, expected, 1e-5, 1e-6 * maxAbs, what);
  else expectClose(actual, expected, 1e-10, 1e-12 * Math.max(1, maxAbs), what);
}

type Kw = Record<string, unknown>;
type Adapter = (xs: Tensor[], kw: Kw) => Tensor | Tensor[];
type Binary = (a: q.TensorLike, b: q.TensorLike) => Tensor;

const binary =
  (f: Binary): Adapter =>
  (xs, kw) => {
    const a = xs[0];
    const b = xs.length > 1 ? xs[1] : (kw.other as number);
    return kw.reverse ? f(b, a) : f(a, b);
  };
const unary =
  (f: (x: Tensor) => Tensor): Adapter =>
  (xs) =>
    f(xs[0]);
const dimOf = (kw: Kw) => (kw.dim ?? undefined) as q.Dims;
const keep = (kw: Kw) => ({ keepdim: (kw.keepdim as boolean | undefined) ?? false });
const reduction = (kw: Kw) => kw.reduction as q.Reduction | undefined;

/** qkv's call for each fixture op name: every unary table row, then the hand-written ops. */
const ADAPTERS: Record<string, Adapter> = {
  ...Object.fromEntries(UNARY_OPS.map((r) => [r.name, unary(q.unaryOps[r.name])])),
  add: binary(q.add),
  sub: binary(q.sub),
  mul: binary(q.mul),
  div: binary(q.div),
  pow: binary(q.pow),
  maximum: binary(q.maximum),
  minimum: binary(q.minimum),
  neg: unary(q.neg),
  exp: unary(q.exp),
  log: unary(q.log),
  sqrt: unary(q.sqrt),
  rsqrt: unary(q.rsqrt),
  abs: unary(q.abs),
  tanh: unary(q.tanh),
  sigmoid: unary(q.sigmoid),
  relu: unary(q.relu),
  silu: unary(q.silu),
  square: unary(q.square),
  gelu: (xs, kw) => q.gelu(xs[0], { approximate: kw.approximate as "none" | "tanh" }),
  clamp: (xs, kw) => q.clamp(xs[0], { min: kw.min as number | undefined, max: kw.max as number | undefined }),
  where: (xs, kw) =>
    q.where(
      xs[0],
      "a" in kw ? (kw.a as number) : xs[1],
      xs.length > 2 ? xs[2] : "a" in kw ? xs[1] : (kw.b as number),
    ),
  sum: (xs, kw) => q.sum(xs[0], dimOf(kw), keep(kw)),
  mean: (xs, kw) => q.mean(xs[0], dimOf(kw), keep(kw)),
  max: (xs, kw) => q.max(xs[0], dimOf(kw), keep(kw)),
  min: (xs, kw) => q.min(xs[0], dimOf(kw), keep(kw)),
  var: (xs, kw) =>
    q.variance(xs[0], dimOf(kw), { ...keep(kw), correction: kw.correction as number | undefined }),
  std: (xs, kw) => q.std(xs[0], dimOf(kw), { ...keep(kw), correction: kw.correction as number | undefined }),
  logsumexp: (xs, kw) => q.logsumexp(xs[0], dimOf(kw), keep(kw)),
  matmul: (xs) => q.matmul(xs[0], xs[1]),
  linear: (xs) => q.linear(xs[0], xs[1], xs[2] ?? null),
  reshape: (xs, kw) => q.reshape(xs[0], kw.shape as number[]),
  view: (xs, kw) => q.view(xs[0], kw.shape as number[]),
  transpose: (xs, kw) => q.transpose(xs[0], kw.dim0 as number, kw.dim1 as number),
  permute: (xs, kw) => q.permute(xs[0], kw.dims as number[]),
  squeeze: (xs, kw) => q.squeeze(xs[0], kw.dim as number | number[] | undefined),
  unsqueeze: (xs, kw) => q.unsqueeze(xs[0], kw.dim as number),
  expand: (xs, kw) => q.expand(xs[0], kw.shape as number[]),
  flatten: (xs, kw) => q.flatten(xs[0], kw.startDim as number | undefined, kw.endDim as number | undefined),
  cat: (xs, kw) => q.cat(xs, kw.dim as number),
  stack: (xs, kw) => q.stack(xs, kw.dim as number),
  split: (xs, kw) => q.split(xs[0], kw.size as number | number[], kw.dim as number),
  chunk: (xs, kw) => q.chunk(xs[0], kw.chunks as number, kw.dim as number),
  narrow: (xs, kw) => q.narrow(xs[0], kw.dim as number, kw.start as number, kw.length as number),
  slice: (xs, kw) =>
    q.slice(
      xs[0],
      kw.dim as number,
      kw.start as number | undefined,
      kw.end as number | undefined,
      kw.step as number | undefined,
    ),
  select: (xs, kw) => q.select(xs[0], kw.dim as number, kw.index as number),
  gather: (xs, kw) => q.gather(xs[0], kw.dim as number, xs[1]),
  indexSelect: (xs, kw) => q.indexSelect(xs[0], kw.dim as number, xs[1]),
  embedding: (xs) => q.embedding(xs[0], xs[1]),
  maskedFill: (xs, kw) => q.maskedFill(xs[0], xs[1], decode(kw.value)),
  tril: (xs, kw) => q.tril(xs[0], kw.k as number | undefined),
  triu: (xs, kw) => q.triu(xs[0], kw.k as number | undefined),
  softmax: (xs, kw) => q.softmax(xs[0], kw.dim as number),
  logSoftmax: (xs, kw) => q.logSoftmax(xs[0], kw.dim as number),
  layerNorm: (xs, kw) => {
    const rest = xs.slice(1);
    const w = kw.weight ? rest.shift()! : null;
    const b = kw.bias ? rest.shift()! : null;
    return q.layerNorm(xs[0], kw.normalizedShape as number[], w, b, (kw.eps as number | undefined) ?? 1e-5);
  },
  dropout: (xs, kw) => q.dropout(xs[0], kw.p as number, { training: kw.training as boolean }),
  crossEntropy: (xs, kw) =>
    q.crossEntropy(xs[0], xs[1], {
      ignoreIndex: kw.ignoreIndex as number | undefined,
      labelSmoothing: kw.labelSmoothing as number | undefined,
      reduction: reduction(kw),
    }),
  nllLoss: (xs, kw) =>
    q.nllLoss(xs[0], xs[1], { ignoreIndex: kw.ignoreIndex as number | undefined, reduction: reduction(kw) }),
  mseLoss: (xs, kw) => q.mseLoss(xs[0], xs[1], { reduction: reduction(kw) }),
  binaryCrossEntropyWithLogits: (xs, kw) =>
    q.binaryCrossEntropyWithLogits(xs[0], xs[1], { posWeight: xs[2], reduction: reduction(kw) }),
  scaledDotProductAttention: (xs, kw) =>
    q.scaledDotProductAttention(xs[0], xs[1], xs[2], {
      attnMask: xs[3] ?? null,
      isCausal: kw.isCausal as boolean | undefined,
      scale: kw.scale as number | undefined,
    }),
};

/** The differentiable ops the core-engine issue lists; each must have parity cases. */
const REQUIRED = [
  "add",
  "sub",
  "mul",
  "div",
  "neg",
  "pow",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "abs",
  "tanh",
  "sigmoid",
  "relu",
  "gelu",
  "silu",
  "maximum",
  "minimum",
  "clamp",
  "where",
  "sum",
  "mean",
  "max",
  "min",
  "var",
  "std",
  "logsumexp",
  "matmul",
  "reshape",
  "view",
  "transpose",
  "permute",
  "squeeze",
  "unsqueeze",
  "expand",
  "flatten",
  "cat",
  "stack",
  "split",
  "chunk",
  "narrow",
  "slice",
  "select",
  "gather",
  "indexSelect",
  "embedding",
  "maskedFill",
  "tril",
  "triu",
  "softmax",
  "logSoftmax",
  "layerNorm",
  "dropout",
  "crossEntropy",
  "nllLoss",
  "mseLoss",
  "binaryCrossEntropyWithLogits",
  "scaledDotProductAttention",
  "linear",
];

function runCase(c: Case): void {
  const adapter = ADAPTERS[c.op];
  const xs = c.inputs.map(build);
  const result = adapter(xs, c.kwargs);
  const outs = Array.isArray(result) ? result : [result];
  expect(outs.length, "number of outputs").toBe(c.outputs.length);
  for (let i = 0; i < outs.length; i++) compare(outs[i], c.outputs[i], c.dtype, `output ${i}`);

  const gOuts = c.gradOutputs.map((g) => fromRecord(g, c.dtype));
  if (outs.length === 1) {
    outs[0].backward(gOuts[0]);
  } else {
    // Several outputs (split, chunk): back-propagate Σᵢ sum(outᵢ ⊙ gᵢ), whose gradient is the same.
    let loss = q.sum(q.mul(outs[0], gOuts[0]));
    for (let i = 1; i < outs.length; i++) loss = q.add(loss, q.sum(q.mul(outs[i], gOuts[i])));
    loss.backward();
  }
  for (let i = 0; i < xs.length; i++) {
    const ref = c.grads[i];
    if (ref) compare(xs[i].grad ?? q.zerosLike(xs[i]), ref, c.dtype, `gradient of input ${i}`);
  }
}

describe("PyTorch parity fixtures", () => {
  it("were generated by torch and cover every listed op in both dtypes", () => {
    for (const f of fixtures) {
      expect(f.torch_version).toMatch(/^\d+\.\d+/);
      const ops = new Set(f.cases.map((c) => c.op));
      for (const op of REQUIRED) expect(ops.has(op), `${f.dtype} fixtures cover ${op}`).toBe(true);
      for (const op of ops) expect(ADAPTERS[op], `adapter for ${op}`).toBeDefined();
      expect(f.cases.every((c) => c.dtype === f.dtype)).toBe(true);
    }
  });
});

describe("unary op table goldens", () => {
  it("cover every row of the table in both dtypes (regenerate them after adding a row)", () => {
    expect(unaryFixtures.map((f) => f.dtype)).toEqual(["float32", "float64"]);
    for (const f of unaryFixtures) {
      expect(f.torch_version).toMatch(/^\d+\.\d+/);
      const ops = new Set(f.cases.map((c) => c.op));
      for (const { name } of UNARY_OPS) expect(ops.has(name), `${f.dtype} goldens of ${name}`).toBe(true);
    }
  });
});

for (const f of [...fixtures, ...unaryFixtures]) {
  describe(`parity with torch ${f.torch_version} (${f.dtype})`, () => {
    for (const c of f.cases) it(c.name, () => runCase(c));
  });
}
