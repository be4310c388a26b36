/** Reference optimizer kernels. */
import type {
  AdamStepArgs,
  AdamStepOptions,
  FloatArray,
  ScaleInPlaceArgs,
  SumOfSquaresArgs,
} from "../../backend/backend.js";

/** Adam / AdamW exactly as torch.optim's single-tensor implementation orders the arithmetic. */
export function adamStep(
  p: FloatArray,
  g: FloatArray,
  expAvg: FloatArray,
  expAvgSq: FloatArray,
  maxExpAvgSq: FloatArray | null,
  opts: AdamStepOptions,
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

/** adamStep over each parameter in turn. */
export function adamStepMulti(args: AdamStepArgs): void {
  const { params, grads, expAvgs, expAvgSqs, maxExpAvgSqs } = args;
  checkLists("adamStepMulti", params, [grads, expAvgs, expAvgSqs, ...(maxExpAvgSqs ? [maxExpAvgSqs] : [])]);
  for (let i = 0; i < params.length; i++) {
    adamStep(params[i], grads[i], expAvgs[i], expAvgSqs[i], maxExpAvgSqs ? maxExpAvgSqs[i] : null, args);
  }
}

/** out[i] = Σⱼ xs[i][j]², summed left to right in float64. */
export function sumOfSquares(args: SumOfSquaresArgs): void {
  const { xs, out } = args;
  if (out.length < xs.length)
    throw new Error(`sumOfSquares: out has ${out.length} slots for ${xs.length} arrays`);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    let s = 0;
    for (let j = 0; j < x.length; j++) s += x[j] * x[j];
    out[i] = s;
  }
}

/** xs[i][j] ← xs[i][j]·scale (the float64 product, rounded once when stored). */
export function scaleInPlace(args: ScaleInPlaceArgs): void {
  const { xs, scale } = args;
  for (const x of xs) for (let j = 0; j < x.length; j++) x[j] *= scale;
}

function checkLists(
  op: string,
  first: readonly FloatArray[],
  rest: readonly (readonly FloatArray[])[],
): void {
  for (const l of rest) {
    if (l.length !== first.length)
      throw new Error(`${op}: lists of ${first.length} and ${l.length} arrays do not match`);
  }
  for (let i = 0; i < first.length; i++) {
    for (const l of rest) {
      if (l[i].length < first[i].length)
        throw new Error(`${op}: array ${i} has ${l[i].length} elements, its parameter ${first[i].length}`);
    }
  }
}
