/**
 * The optimizer-kernel family: in-place updates of many parameter buffers in one kernel call. They
 * run outside the autograd graph (parameters and their state are leaves updated in place), so they
 * record nothing. Optimizers (src/optim/) reach the backend only through these.
 */
import type { AdamStepArgs, FloatArray } from "../backend/backend.js";
import { backend } from "./core.js";

/**
 * One Adam/AdamW step over many parameters with the same options and step count, PyTorch's
 * formulation (see Backend.adamStepMulti). Every buffer is updated in place.
 * @example adamStepMulti({ params, grads, expAvgs, expAvgSqs, maxExpAvgSqs: null, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1, decoupled: true })
 */
export function adamStepMulti(args: AdamStepArgs): void {
  const n = args.params.length;
  for (const [name, list] of [
    ["grads", args.grads],
    ["expAvgs", args.expAvgs],
    ["expAvgSqs", args.expAvgSqs],
    ["maxExpAvgSqs", args.maxExpAvgSqs ?? args.params],
  ] as const)
    if (list.length !== n) throw new Error(`adamStepMulti: ${n} params but ${list.length} ${name}`);
  backend().adamStepMulti(args);
}

/** Per-buffer Σ x² in float64, in a fixed order (the same result for any thread count). */
export function sumOfSquares(xs: readonly FloatArray[]): Float64Array {
  const out = new Float64Array(xs.length);
  backend().sumOfSquares({ xs, out });
  return out;
}

/** xs[i][j] ← xs[i][j]·scale in place (the product formed in float64, rounded once). */
export function scaleInPlace(xs: readonly FloatArray[], scale: number): void {
  backend().scaleInPlace({ xs, scale });
}
