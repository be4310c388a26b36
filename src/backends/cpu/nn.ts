/** Reference fused neural-network kernels on rows: softmax, log-softmax, layer norm, cross-entropy. */
import type {
  CrossEntropyArgs,
  CrossEntropyBackwardArgs,
  FloatArray,
  LayerNormArgs,
  LayerNormBackwardArgs,
  RowsArgs,
  RowsBackwardArgs,
} from "../../backend/backend.js";

export function softmaxForward(args: RowsArgs): void {
  const { x, rows, n, out } = args;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    // Subtract the row max so exp never overflows.
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < n; j++) if (x[o + j] > max) max = x[o + j];
    if (max === Number.NEGATIVE_INFINITY) max = 0;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(x[o + j] - max);
      out[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < n; j++) out[o + j] *= inv;
  }
}

export function softmaxBackward(args: RowsBackwardArgs): void {
  const { y, gy, rows, n, gx } = args;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let dot = 0;
    for (let j = 0; j < n; j++) dot += gy[o + j] * y[o + j];
    for (let j = 0; j < n; j++) gx[o + j] = y[o + j] * (gy[o + j] - dot);
  }
}

/** log Σ exp of row r of x (stable). */
function rowLogSumExp(x: FloatArray, o: number, n: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) if (x[o + j] > max) max = x[o + j];
  if (max === Number.NEGATIVE_INFINITY || max === Number.POSITIVE_INFINITY) return max;
  let sum = 0;
  for (let j = 0; j < n; j++) sum += Math.exp(x[o + j] - max);
  return max + Math.log(sum);
}

export function logSoftmaxForward(args: RowsArgs): void {
  const { x, rows, n, out } = args;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const lse = rowLogSumExp(x, o, n);
    for (let j = 0; j < n; j++) out[o + j] = x[o + j] - lse;
  }
}

export function logSoftmaxBackward(args: RowsBackwardArgs): void {
  const { y, gy, rows, n, gx } = args;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let sum = 0;
    for (let j = 0; j < n; j++) sum += gy[o + j];
    for (let j = 0; j < n; j++) gx[o + j] = gy[o + j] - Math.exp(y[o + j]) * sum;
  }
}

export function layerNormForward(args: LayerNormArgs): void {
  const { x, weight, bias, rows, n, eps, out, mean, rstd } = args;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let m = 0;
    for (let j = 0; j < n; j++) m += x[o + j];
    m /= n;
    // Two passes (mean, then squared deviations) avoid the cancellation of E[x²] − E[x]².
    let v = 0;
    for (let j = 0; j < n; j++) {
      const d = x[o + j] - m;
      v += d * d;
    }
    v /= n;
    const rs = 1 / Math.sqrt(v + eps);
    mean[r] = m;
    rstd[r] = rs;
    for (let j = 0; j < n; j++) {
      const xh = (x[o + j] - m) * rs;
      out[o + j] = xh * (weight ? weight[j] : 1) + (bias ? bias[j] : 0);
    }
  }
}

export function layerNormBackward(args: LayerNormBackwardArgs): void {
  const { x, weight, mean, rstd, gy, rows, n, gx, gw, gb } = args;
  const gwAcc = gw ? new Float64Array(n) : null;
  const gbAcc = gb ? new Float64Array(n) : null;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const m = mean[r];
    const rs = rstd[r];
    // With x̂ = (x − μ)·rstd and g = dy ⊙ w:  dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)).
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < n; j++) {
      const xh = (x[o + j] - m) * rs;
      const g = gy[o + j] * (weight ? weight[j] : 1);
      sumG += g;
      sumGX += g * xh;
      if (gwAcc) gwAcc[j] += gy[o + j] * xh;
      if (gbAcc) gbAcc[j] += gy[o + j];
    }
    const meanG = sumG / n;
    const meanGX = sumGX / n;
    for (let j = 0; j < n; j++) {
      const xh = (x[o + j] - m) * rs;
      const g = gy[o + j] * (weight ? weight[j] : 1);
      gx[o + j] = rs * (g - meanG - xh * meanGX);
    }
  }
  if (gw && gwAcc) for (let j = 0; j < n; j++) gw[j] += gwAcc[j];
  if (gb && gbAcc) for (let j = 0; j < n; j++) gb[j] += gbAcc[j];
}

export function crossEntropyForward(args: CrossEntropyArgs): void {
  const { logits, target, rows, C, ignoreIndex, labelSmoothing, loss, lse } = args;
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    const t = target[r];
    const l = rowLogSumExp(logits, o, C);
    lse[r] = l;
    if (t === ignoreIndex) {
      loss[r] = 0;
      continue;
    }
    // −log p_t, blended with the mean of −log p_c over all classes when smoothing.
    let value = l - logits[o + t];
    if (labelSmoothing > 0) {
      let sumLogits = 0;
      for (let j = 0; j < C; j++) sumLogits += logits[o + j];
      const meanNll = l - sumLogits / C;
      value = (1 - labelSmoothing) * value + labelSmoothing * meanNll;
    }
    loss[r] = value;
  }
}

export function crossEntropyBackward(args: CrossEntropyBackwardArgs): void {
  const { logits, target, lse, gLoss, rows, C, ignoreIndex, labelSmoothing, gLogits } = args;
  const smooth = labelSmoothing / C;
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    const t = target[r];
    if (t === ignoreIndex) {
      for (let j = 0; j < C; j++) gLogits[o + j] = 0;
      continue;
    }
    const g = gLoss[r];
    const l = lse[r];
    for (let j = 0; j < C; j++) gLogits[o + j] = g * (Math.exp(logits[o + j] - l) - smooth);
    gLogits[o + t] -= g * (1 - labelSmoothing);
  }
}
