/**
 * Neural-network functional ops (torch.nn.functional): softmax, logSoftmax, layerNorm, dropout
 * and the losses. The row-wise ones run as fused, numerically stable kernels.
 */
import { record } from "../autograd/graph.js";
import type { FloatArray } from "../backend/backend.js";
import { rand } from "../tensor/create.js";
import { allocate, allocateUninit } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { defaultGenerator, type Generator } from "../util/rng.js";
import { normDim, sameShape, shapeStr, sizeOf } from "../util/shape.js";
import { backend, checkIndices, dense, denseFloat, requireDtype, requireFloat, wrap } from "./core.js";
import { abs, add, div, exp, log, lt, mul, neg, relu, square, sub, where } from "./elementwise.js";
import { mean, sum } from "./reduce.js";
import { contiguous, reshape, to, transpose } from "./shape.js";

/** Applies a last-dim row kernel along `dim` by moving that dim last. */
function alongDim(x: Tensor, dim: number, op: string, fn: (rows: Tensor) => Tensor): Tensor {
  const d = normDim(op, dim, x.ndim, x.shape);
  if (x.ndim === 0) return reshape(fn(reshape(x, [1])), []);
  if (d === x.ndim - 1) return fn(x);
  return transpose(fn(contiguous(transpose(x, d, -1))), d, -1);
}

function rowOp(kind: "softmax" | "logSoftmax", x: Tensor): Tensor {
  const n = x.shape[x.ndim - 1];
  const rows = n === 0 ? 0 : x.numel() / n;
  const xd = denseFloat(kind, x);
  const y = allocateUninit(x.dtype, xd.length) as FloatArray;
  const be = backend();
  if (kind === "softmax") be.softmaxForward({ x: xd, rows, n, out: y });
  else be.logSoftmaxForward({ x: xd, rows, n, out: y });
  return record(wrap(y, x.shape), kind, [x], (g) => {
    const gx = allocateUninit(x.dtype, xd.length) as FloatArray;
    const gd = denseFloat(kind, g);
    if (kind === "softmax") be.softmaxBackward({ y, gy: gd, rows, n, gx });
    else be.logSoftmaxBackward({ y, gy: gd, rows, n, gx });
    return [wrap(gx, x.shape)];
  });
}

/**
 * softmax along `dim` (default: last), exp(x − max) / Σ exp(x − max).
 * @example softmax(scores, -1)
 */
export function softmax(x: Tensor, dim = -1): Tensor {
  requireFloat("softmax", x);
  return alongDim(x, dim, "softmax", (r) => rowOp("softmax", r));
}

/** log(softmax(x)) along `dim`, computed as x − logsumexp(x). */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  requireFloat("logSoftmax", x);
  return alongDim(x, dim, "logSoftmax", (r) => rowOp("logSoftmax", r));
}

/**
 * Layer normalisation over the trailing `normalizedShape` dims, with optional affine weight/bias.
 * @example layerNorm(x, [C], weight, bias, 1e-5)
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  requireFloat("layerNorm", x);
  const k = normalizedShape.length;
  if (k === 0 || k > x.ndim || !sameShape(x.shape.slice(x.ndim - k), normalizedShape)) {
    throw new Error(
      `layerNorm: normalizedShape ${shapeStr(normalizedShape)} does not match the trailing dims of input ${shapeStr(x.shape)}`,
    );
  }
  for (const [name, p] of [
    ["weight", weight],
    ["bias", bias],
  ] as const) {
    if (p && !sameShape(p.shape, normalizedShape)) {
      throw new Error(
        `layerNorm: ${name} of shape ${shapeStr(p.shape)} must have shape ${shapeStr(normalizedShape)}`,
      );
    }
  }
  const n = sizeOf(normalizedShape);
  const rows = n === 0 ? 0 : x.numel() / n;
  const xd = denseFloat("layerNorm", x);
  const wd = weight ? denseFloat("layerNorm", weight) : null;
  const bd = bias ? denseFloat("layerNorm", bias) : null;
  const out = allocateUninit(x.dtype, xd.length) as FloatArray;
  const mu = allocate(x.dtype, rows) as FloatArray;
  const rstd = allocate(x.dtype, rows) as FloatArray;
  const be = backend();
  be.layerNormForward({ x: xd, weight: wd, bias: bd, rows, n, eps, out, mean: mu, rstd });
  return record(
    wrap(out, x.shape),
    "layerNorm",
    [x, weight, bias],
    (g) => {
      const gx = allocateUninit(x.dtype, xd.length) as FloatArray;
      const gw = weight?.requiresGrad ? (allocate(x.dtype, n) as FloatArray) : null;
      const gb = bias?.requiresGrad ? (allocate(x.dtype, n) as FloatArray) : null;
      be.layerNormBackward({
        x: xd,
        weight: wd,
        mean: mu,
        rstd,
        gy: denseFloat("layerNorm", g),
        rows,
        n,
        gx,
        gw,
        gb,
      });
      return [
        wrap(gx, x.shape),
        gw ? wrap(gw, normalizedShape) : null,
        gb ? wrap(gb, normalizedShape) : null,
      ];
    },
    [mu, rstd],
  );
}

/** Options of {@link dropout}: whether it is training, and the generator that draws the mask. */
export interface DropoutOptions {
  /** Only drop in training mode (default true). */
  training?: boolean;
  generator?: Generator;
}

/**
 * Zeroes each element with probability p and scales survivors by 1/(1−p); identity when not training.
 * @example dropout(x, 0.1, { training: model.training })
 */
export function dropout(x: Tensor, p: number, opts: DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p}`);
  if (!(opts.training ?? true) || p === 0) return x;
  requireFloat("dropout", x);
  if (p === 1) return mul(x, 0);
  const keep = lt(rand(x.shape, { generator: opts.generator ?? defaultGenerator, dtype: x.dtype }), 1 - p);
  // The mask takes x's dtype first, so a float64 x is scaled by 1/(1−p) in float64.
  return mul(x, div(to(keep, x.dtype), 1 - p));
}

/** How a loss combines its per-element values: their mean, their sum, or none (the unreduced tensor). */
export type Reduction = "mean" | "sum" | "none";

function reduce(loss: Tensor, reduction: Reduction, op: string): Tensor {
  switch (reduction) {
    case "mean":
      return mean(loss);
    case "sum":
      return sum(loss);
    case "none":
      return loss;
    default:
      throw new Error(`${op}: reduction must be "mean", "sum" or "none", got "${reduction}"`);
  }
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Target value whose rows contribute neither loss nor gradient (default −100, as PyTorch). */
  ignoreIndex?: number;
  /** Mixes the one-hot target with the uniform distribution: (1−ε)·onehot + ε/C. */
  labelSmoothing?: number;
  reduction?: Reduction;
}

/**
 * Cross-entropy between logits and int32 class indices, fused with log-softmax.
 * Input (N, C) with target (N), or (N, C, d1, …) with target (N, d1, …), or (C) with a 0-d target.
 * `mean` averages over the non-ignored targets, as PyTorch does.
 * @example crossEntropy(logits.view([-1, V]), targets.view([-1]))
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  requireFloat("crossEntropy", input);
  requireDtype("crossEntropy", target, "int32", "target (class indices)");
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const eps = opts.labelSmoothing ?? 0;
  const reduction = opts.reduction ?? "mean";
  if (!(eps >= 0 && eps <= 1)) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  // Bring the class dim last: (N, C, d…) → (N·d…, C).
  let logits: Tensor;
  let expectTarget: number[];
  if (input.ndim === 1) {
    logits = reshape(input, [1, input.shape[0]]);
    expectTarget = [];
  } else {
    expectTarget = [input.shape[0], ...input.shape.slice(2)];
    logits =
      input.ndim === 2
        ? input
        : reshape(contiguous(transpose(reshape(input, [input.shape[0], input.shape[1], -1]), 1, 2)), [
            -1,
            input.shape[1],
          ]);
  }
  if (!sameShape(target.shape, expectTarget)) {
    throw new Error(
      `crossEntropy: target of shape ${shapeStr(target.shape)} does not match input of shape ${shapeStr(input.shape)} (expected target shape ${shapeStr(expectTarget)})`,
    );
  }
  const [rows, C] = logits.shape;
  const t = dense<Int32Array>(target);
  for (let i = 0; i < t.length; i++) {
    if (t[i] !== ignoreIndex && (t[i] < 0 || t[i] >= C)) {
      throw new Error(
        `crossEntropy: target ${t[i]} is out of range for ${C} classes (input shape ${shapeStr(input.shape)})`,
      );
    }
  }
  const ld = denseFloat("crossEntropy", logits);
  const loss = allocate(input.dtype, rows) as FloatArray;
  const lse = allocate(input.dtype, rows) as FloatArray;
  const be = backend();
  be.crossEntropyForward({ logits: ld, target: t, rows, C, ignoreIndex, labelSmoothing: eps, loss, lse });
  const perRow = record(
    wrap(loss, [rows]),
    "crossEntropy",
    [logits],
    (g) => {
      const gl = allocateUninit(input.dtype, ld.length) as FloatArray;
      be.crossEntropyBackward({
        logits: ld,
        target: t,
        lse,
        gLoss: denseFloat("crossEntropy", g),
        rows,
        C,
        ignoreIndex,
        labelSmoothing: eps,
        gLogits: gl,
      });
      return [wrap(gl, logits.shape)];
    },
    [lse],
  );
  if (reduction === "none") return reshape(perRow, expectTarget);
  if (reduction === "sum") return sum(perRow);
  if (reduction !== "mean")
    throw new Error(`crossEntropy: reduction must be "mean", "sum" or "none", got "${reduction}"`);
  let count = 0;
  for (let i = 0; i < t.length; i++) if (t[i] !== ignoreIndex) count++;
  // All targets ignored: PyTorch returns NaN (0/0); so do we.
  return div(sum(perRow), count);
}

/**
 * Negative log-likelihood of int32 targets under log-probabilities (N, C).
 * @example nllLoss(logSoftmax(logits, -1), targets)
 */
export function nllLoss(
  logProbs: Tensor,
  target: Tensor,
  opts: { ignoreIndex?: number; reduction?: Reduction } = {},
): Tensor {
  requireFloat("nllLoss", logProbs);
  requireDtype("nllLoss", target, "int32", "target");
  if (logProbs.ndim !== 2 || target.ndim !== 1 || target.shape[0] !== logProbs.shape[0]) {
    throw new Error(
      `nllLoss: expects input (N, C) and target (N), got ${shapeStr(logProbs.shape)} and ${shapeStr(target.shape)}`,
    );
  }
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const t = dense<Int32Array>(target);
  const safe = new Int32Array(t.length);
  const keep = new Uint8Array(t.length);
  let count = 0;
  for (let i = 0; i < t.length; i++) {
    const ignored = t[i] === ignoreIndex;
    if (!ignored)
      checkIndices(
        "nllLoss",
        t.subarray(i, i + 1),
        logProbs.shape[1],
        "target",
        `input of shape ${shapeStr(logProbs.shape)}`,
      );
    safe[i] = ignored ? 0 : t[i];
    keep[i] = ignored ? 0 : 1;
    if (!ignored) count++;
  }
  const picked = gatherRows(logProbs, safe);
  // where, not a 0/1 product: an ignored row's placeholder pick may be −∞ (and −∞·0 is NaN).
  const loss = neg(where(wrap(keep, [t.length]), picked, 0));
  if ((opts.reduction ?? "mean") === "mean") return div(sum(loss), count);
  return reduce(loss, opts.reduction ?? "mean", "nllLoss");
}

function gatherRows(x: Tensor, idx: Int32Array): Tensor {
  const n = idx.length;
  const C = x.shape[1];
  const flat = reshape(x, [n * C]);
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) pos[i] = i * C + idx[i];
  const out = allocate(x.dtype, n) as FloatArray;
  const xd = dense<FloatArray>(flat);
  backend().indexSelect({ x: xd, outer: 1, n: n * C, inner: 1, index: pos, out });
  return record(wrap(out, [n]), "gatherRows", [flat], (g) => {
    const gx = allocate(x.dtype, n * C) as FloatArray;
    backend().indexAdd({ gy: dense<FloatArray>(g), outer: 1, n: n * C, inner: 1, index: pos, gx });
    return [wrap(gx, [n * C])];
  });
}

/** Mean squared error. @example mseLoss(pred, target) */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  if (!sameShape(input.shape, target.shape)) {
    throw new Error(
      `mseLoss: input ${shapeStr(input.shape)} and target ${shapeStr(target.shape)} must have the same shape`,
    );
  }
  return reduce(square(sub(input, target)), opts.reduction ?? "mean", "mseLoss");
}

/**
 * Binary cross-entropy on logits, stable for large |x|: max(x,0) − x·y + log(1 + e^−|x|).
 * @example binaryCrossEntropyWithLogits(logits, labels)
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction; posWeight?: Tensor } = {},
): Tensor {
  if (!sameShape(input.shape, target.shape)) {
    throw new Error(
      `binaryCrossEntropyWithLogits: input ${shapeStr(input.shape)} and target ${shapeStr(target.shape)} must have the same shape`,
    );
  }
  requireFloat("binaryCrossEntropyWithLogits", input);
  // softplus(−|x|) = log(1 + e^−|x|) never overflows.
  const sp = log(add(exp(neg(abs(input))), 1));
  let loss: Tensor;
  if (opts.posWeight) {
    // ℓ = (1 − y)·x + (1 + (w − 1)·y)·(log(1 + e^−|x|) + max(−x, 0))
    const lw = add(mul(sub(opts.posWeight, 1), target), 1);
    loss = add(mul(sub(1, target), input), mul(lw, add(sp, relu(neg(input)))));
  } else {
    loss = add(sub(relu(input), mul(input, target)), sp);
  }
  return reduce(loss, opts.reduction ?? "mean", "binaryCrossEntropyWithLogits");
}
