/** RMSprop (Hinton, Lecture 6e; centered form as Graves 2013), as torch.optim.RMSprop. */
import type { Tensor } from "../tensor/tensor.js";
import {
  gradData,
  Optimizer,
  type OptimizerOptions,
  type ParamGroup,
  type ParamsInput,
  paramData,
  roundingFor,
  stateLike,
} from "./optimizer.js";

export interface RMSpropOptions extends OptimizerOptions {
  /** Smoothing constant of the squared-gradient average. */
  alpha: number;
  eps: number;
  /** L2 penalty: wd·p is added to the gradient. */
  weightDecay: number;
  momentum: number;
  /** Normalise by the estimated variance (E[g²] − E[g]²) instead of E[g²]. */
  centered: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
}

/**
 * torch.optim.RMSprop, with its arithmetic order:
 * v ← α·v + (1 − α)·g²; (centered: ḡ ← α·ḡ + (1 − α)·g, v̂ = v − ḡ²); d = √v̂ + ε;
 * with momentum b ← μ·b + g/d and p ← p − lr·b, else p ← p − lr·g/d.
 * State per parameter: `step`, `squareAvg`, `momentumBuffer` (momentum > 0), `gradAvg` (centered).
 * @example const opt = new RMSprop(model.parameters(), { lr: 1e-3 });
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsInput<RMSpropOptions>, opts: Partial<RMSpropOptions> = {}) {
    super(params, {
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
      ...opts,
    });
  }

  protected override checkOptions(o: RMSpropOptions, where: string): void {
    super.checkOptions(o, where);
    if (!(o.alpha >= 0)) throw new Error(`RMSprop: invalid alpha ${o.alpha} in ${where}`);
    if (!(o.eps >= 0)) throw new Error(`RMSprop: invalid eps ${o.eps} in ${where}`);
    if (!(o.momentum >= 0)) throw new Error(`RMSprop: invalid momentum ${o.momentum} in ${where}`);
    if (!(o.weightDecay >= 0)) throw new Error(`RMSprop: invalid weightDecay ${o.weightDecay} in ${where}`);
  }

  protected update(group: ParamGroup<RMSpropOptions>): void {
    const { momentum, centered, maximize } = group;
    for (const p of group.params) {
      if (!p.grad) continue;
      const state = this.stateOf(p);
      if (state.step === undefined) {
        state.step = 0;
        state.squareAvg = stateLike(p);
      }
      if (momentum > 0 && state.momentumBuffer === undefined) {
        state.momentumBuffer = stateLike(p);
      }
      if (centered && state.gradAvg === undefined) state.gradAvg = stateLike(p);
      state.step = (state.step as number) + 1;
      const w = paramData(p);
      const g = gradData(p);
      const sq = paramData(state.squareAvg as Tensor);
      const ga = centered ? paramData(state.gradAvg as Tensor) : null;
      const buf = momentum > 0 ? paramData(state.momentumBuffer as Tensor) : null;
      // Scalars and every intermediate tensor take the parameter's precision, as in PyTorch.
      const r = roundingFor(w);
      const lr = r(-group.lr);
      const wd = r(group.weightDecay);
      const alpha = r(group.alpha);
      const oneMinusAlpha = r(1 - group.alpha);
      const eps = r(group.eps);
      const mu = r(momentum);
      for (let i = 0; i < w.length; i++) {
        let gi = maximize ? -g[i] : g[i];
        if (wd !== 0) gi = r(gi + wd * w[i]);
        sq[i] = r(sq[i] * alpha) + r(oneMinusAlpha * gi) * gi;
        let avg: number;
        if (ga) {
          ga[i] = r(ga[i] * alpha) + oneMinusAlpha * gi;
          avg = r(Math.sqrt(r(sq[i] - ga[i] * ga[i])));
        } else avg = r(Math.sqrt(sq[i]));
        avg = r(avg + eps);
        if (buf) {
          buf[i] = r(buf[i] * mu) + r(gi / avg);
          w[i] += lr * buf[i];
        } else w[i] += r(r(lr * gi) / avg);
      }
    }
  }
}
