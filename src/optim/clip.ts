/** Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_. */
import { contiguous } from "../ops/index.js";
import { scaleInPlace, sumOfSquares } from "../ops/optim.js";
import type { Tensor } from "../tensor/tensor.js";
import { isDenseLayout } from "../util/shape.js";

/**
 * The gradient of p as a writable dense view, in its storage order (norms and scaling do not
 * depend on the order, so a transposed-view parameter's gradient is used as it is); made
 * contiguous first when it is not dense.
 */
function gradView(p: Tensor): Float32Array | Float64Array | null {
  let g = p.grad;
  if (!g) return null;
  if (!g.isContiguous() && !isDenseLayout(g.shape, g.strides)) {
    g = contiguous(g);
    p.grad = g;
  }
  if (g.dtype !== "float32" && g.dtype !== "float64")
    throw new Error(`clipGrad: gradients must be floating point, got ${g.dtype}`);
  return g.data.subarray(g.offset, g.offset + g.numel()) as Float32Array | Float64Array;
}

function asList(params: Iterable<Tensor> | Tensor): Tensor[] {
  return Symbol.iterator in Object(params) ? [...(params as Iterable<Tensor>)] : [params as Tensor];
}

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite (default false, as PyTorch 1.13). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales all gradients together so their joint `normType`-norm is at most `maxNorm`, and returns
 * the norm before clipping. As PyTorch: total = ‖(‖g₁‖, ‖g₂‖, …)‖, coefficient
 * min(maxNorm / (total + 1e-6), 1) applied to every gradient. `normType` may be Infinity.
 * Parameters without a gradient are skipped. Norms are accumulated in float64.
 * @example
 * loss.backward();
 * const norm = clipGradNorm(model.parameters(), 1.0);
 */
export function clipGradNorm(
  params: Iterable<Tensor> | Tensor,
  maxNorm: number,
  normType = 2,
  opts: ClipGradNormOptions = {},
): number {
  if (!(normType > 0))
    throw new Error(`clipGradNorm: normType must be positive or Infinity, got ${normType}`);
  const grads = asList(params)
    .map(gradView)
    .filter((g): g is Float32Array | Float64Array => g !== null);
  if (grads.length === 0) return 0;
  let total: number;
  if (normType === Infinity) {
    total = 0;
    for (const g of grads) for (let i = 0; i < g.length; i++) total = Math.max(total, Math.abs(g[i]));
  } else {
    // The norm of the per-tensor norms, each computed as a tensor of the gradient's dtype.
    let acc = 0;
    if (normType === 2) {
      // One backend call for every gradient: per-tensor sums of squares in float64.
      for (const s of sumOfSquares(grads)) acc += Math.sqrt(s) ** 2;
    } else {
      for (const g of grads) {
        let s = 0;
        if (normType === 1) for (let i = 0; i < g.length; i++) s += Math.abs(g[i]);
        else for (let i = 0; i < g.length; i++) s += Math.abs(g[i]) ** normType;
        acc += normType === 1 ? s : (s ** (1 / normType)) ** normType;
      }
    }
    total = normType === 1 ? acc : normType === 2 ? Math.sqrt(acc) : acc ** (1 / normType);
  }
  if (opts.errorIfNonfinite && !Number.isFinite(total)) {
    throw new Error(
      `clipGradNorm: the total norm of order ${normType} of the gradients is non-finite (${total})`,
    );
  }
  const coef = Math.min(maxNorm / (total + 1e-6), 1);
  if (coef < 1 || Number.isNaN(coef)) scaleInPlace(grads, coef);
  return total;
}

/**
 * Clamps every gradient element to [−clipValue, clipValue] in place.
 * @example clipGradValue(model.parameters(), 0.5)
 */
export function clipGradValue(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  if (!(clipValue >= 0)) throw new Error(`clipGradValue: clipValue must be non-negative, got ${clipValue}`);
  for (const p of asList(params)) {
    const g = gradView(p);
    if (!g) continue;
    for (let i = 0; i < g.length; i++) {
      const v = g[i];
      if (v > clipValue) g[i] = clipValue;
      else if (v < -clipValue) g[i] = -clipValue;
    }
  }
}
