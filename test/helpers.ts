/** Test helpers: closeness checks and a float64 central-difference gradient check. */
import { expect } from "vitest";
import { Generator, reshape, slice, Tensor, tensor, transpose, withNoGrad } from "../src/index.js";

/** |a − b| ≤ atol + rtol·|b| elementwise (NaNs must match), with a message naming the worst element. */
export function expectClose(
  actual: Tensor | ArrayLike<number>,
  expected: ArrayLike<number> | Tensor,
  rtol = 1e-5,
  atol = 1e-8,
  what = "",
): void {
  const a = actual instanceof Tensor ? actual.toArray() : actual;
  const e = expected instanceof Tensor ? expected.toArray() : expected;
  expect(a.length, `${what} length`).toBe(e.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]);
    const y = Number(e[i]);
    if (Number.isNaN(y) || Number.isNaN(x)) {
      if (Number.isNaN(x) !== Number.isNaN(y))
        throw new Error(`${what} element ${i}: got ${x}, expected ${y}`);
      continue;
    }
    if (x === y) continue;
    const err = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (err > worstErr || Number.isNaN(err)) {
      worstErr = err;
      worst = i;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what} element ${worst}: got ${a[worst]}, expected ${e[worst]} (rtol ${rtol}, atol ${atol})`,
    );
  }
}

/**
 * Compares autograd's gradients of sum(f(inputs) ⊙ w), for a fixed random w, with central
 * differences (f64). Inputs must be float64 leaves with requiresGrad.
 */
export function gradCheck(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: { eps?: number; rtol?: number; atol?: number } = {},
): void {
  const eps = opts.eps ?? 1e-6;
  const rtol = opts.rtol ?? 1e-6;
  const atol = opts.atol ?? 1e-8;
  for (const x of inputs) {
    if (x.dtype !== "float64") throw new Error("gradCheck: inputs must be float64");
    x.grad = null;
  }
  const out = f(...inputs);
  // Weighting the output makes every output element's gradient count distinctly.
  const wData = new Float64Array(out.numel());
  for (let i = 0; i < wData.length; i++) wData[i] = Math.sin(1.3 * i + 0.7) + 0.1;
  const w = tensor(wData, { shape: [...out.shape] });
  const loss = (o: Tensor) => {
    const od = o.toArray();
    let s = 0;
    for (let i = 0; i < od.length; i++) s += od[i] * wData[i];
    return s;
  };
  out.mul(w).sum().backward();
  inputs.forEach((x, k) => {
    if (!x.requiresGrad) return;
    const analytic = x.grad ? x.grad.toArray() : new Float64Array(x.numel());
    const numeric = new Float64Array(x.numel());
    // Perturb element i of the (possibly strided) input through its storage position.
    const pos = storagePositions(x);
    withNoGrad(() => {
      for (let i = 0; i < pos.length; i++) {
        const p = pos[i];
        const orig = x.data[p];
        x.data[p] = orig + eps;
        const plus = loss(f(...inputs));
        x.data[p] = orig - eps;
        const minus = loss(f(...inputs));
        x.data[p] = orig;
        numeric[i] = (plus - minus) / (2 * eps);
      }
    });
    expectClose(analytic, numeric, rtol, atol, `gradient of input ${k}`);
  });
}

function storagePositions(x: Tensor): number[] {
  const out: number[] = [];
  const idx = new Array(x.ndim).fill(0);
  const n = x.numel();
  for (let i = 0; i < n; i++) {
    let p = x.offset;
    for (let d = 0; d < x.ndim; d++) p += idx[d] * x.strides[d];
    out.push(p);
    for (let d = x.ndim - 1; d >= 0; d--) {
      idx[d]++;
      if (idx[d] < x.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// ---- seeded leaves for gradient checks ---------------------------------------------------------

/** Maps a standard-normal draw to the domain an op needs (e.g. away from a kink). */
export type ValueMap = (v: number) => number;

/** Keeps |v| ≥ margin: values in (−margin, margin) are pushed out to ±(|v| + margin). */
export const awayFromZero =
  (margin = 0.2): ValueMap =>
  (v) =>
    Math.abs(v) >= margin ? v : Math.sign(v || 1) * (Math.abs(v) + margin);

/** Strictly positive values, |v| + offset. */
export const positive =
  (offset = 0.5): ValueMap =>
  (v) =>
    Math.abs(v) + offset;

function seededValues(n: number, seed: number, map?: ValueMap): Float64Array {
  const g = new Generator(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = map ? map(g.normal()) : g.normal();
  return out;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A contiguous float64 leaf that requires grad, filled with seeded N(0, 1) draws (optionally mapped). */
export function leaf(shape: readonly number[], seed: number, map?: ValueMap): Tensor {
  return tensor(seededValues(numel(shape), seed, map), { shape: [...shape], requiresGrad: true });
}

/**
 * A non-contiguous float64 leaf of `shape`: the transpose of the last two dims of a contiguous
 * tensor (a 1-D shape becomes a stride-2 slice instead).
 */
export function transposedLeaf(shape: readonly number[], seed: number, map?: ValueMap): Tensor {
  if (shape.length < 2) return slicedLeaf(shape, seed, map);
  const n = shape.length;
  const baseShape = [...shape.slice(0, n - 2), shape[n - 1], shape[n - 2]];
  const base = tensor(seededValues(numel(shape), seed, map), { shape: baseShape });
  const t = transpose(base, -1, -2);
  t.requiresGrad_(true);
  return t;
}

/** A non-contiguous float64 leaf of `shape` with a storage offset: every other element of a wider last dim. */
export function slicedLeaf(shape: readonly number[], seed: number, map?: ValueMap): Tensor {
  const n = shape.length;
  const last = n === 0 ? 1 : shape[n - 1];
  const baseShape = [...shape.slice(0, Math.max(n - 1, 0)), 2 * last + 1];
  const base = tensor(seededValues(numel(baseShape), seed, map), { shape: baseShape });
  let t = slice(base, -1, 1, undefined, 2);
  if (n === 0) t = reshape(t, []);
  t.requiresGrad_(true);
  return t;
}

/** A float64 tensor that does not require grad (a constant operand). */
export function constant(shape: readonly number[], seed: number, map?: ValueMap): Tensor {
  return tensor(seededValues(numel(shape), seed, map), { shape: [...shape] });
}
