/** Reference optimizer kernels. */
import type { FloatArray } from "../../backend/backend.js";

/** Adam / AdamW exactly as torch.optim's single-tensor implementation orders the arithmetic. */
export function adamStep(
  p: FloatArray,
  g: FloatArray,
  expAvg: FloatArray,
  expAvgSq: FloatArray,
  maxExpAvgSq: FloatArray | null,
  opts: {
    lr: number;
    beta1: number;
    beta2: number;
    eps: number;
    weightDecay: number;
    step: number;
    decoupled: boolean;
  },
): void {
  const { lr, beta1, beta2, eps, weightDecay, step, decoupled } = opts;
  const bc1 = 1 - beta1 ** step;
  const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = lr / bc1;
  const decay = decoupled ? 1 - lr * weightDecay : 1;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i];
    if (!decoupled && weightDecay !== 0) gi += weightDecay * p[i];
    if (decoupled) p[i] *= decay;
    expAvg[i] += (gi - expAvg[i]) * (1 - beta1);
    expAvgSq[i] = beta2 * expAvgSq[i] + (1 - beta2) * gi * gi;
    let v = expAvgSq[i];
    if (maxExpAvgSq) {
      if (v > maxExpAvgSq[i]) maxExpAvgSq[i] = v;
      v = maxExpAvgSq[i];
    }
    const denom = Math.sqrt(v) / bc2Sqrt + eps;
    p[i] -= (stepSize * expAvg[i]) / denom;
  }
}
