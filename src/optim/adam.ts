/**
 * Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), running the backend's fused
 * `adamStepMulti` kernel in place on the parameters' storage, one call per step count.
 */

import type { FloatArray } from "../backend/backend.js";
import { adamStepMulti } from "../ops/optim.js";
import type { Tensor } from "../tensor/tensor.js";
import {
  gradData,
  Optimizer,
  type OptimizerOptions,
  type ParamGroup,
  type ParamsInput,
  paramData,
  stateLike,
} from "./optimizer.js";

export interface AdamOptions extends OptimizerOptions {
  /** Decay rates of the first and second moment estimates. */
  betas: [number, number];
  eps: number;
  /** Adam: L2 penalty added to the gradient; AdamW: decoupled decay p ← p·(1 − lr·wd). */
  weightDecay: number;
  /** Use the running maximum of the second moment (Reddi et al. 2018). */
  amsgrad: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
}

function checkAdam(name: string, o: AdamOptions, where: string): void {
  if (!(o.eps >= 0)) throw new Error(`${name}: invalid eps ${o.eps} in ${where}`);
  if (!Array.isArray(o.betas) || o.betas.length !== 2)
    throw new Error(`${name}: betas must be [beta1, beta2] in ${where}`);
  for (const [i, b] of o.betas.entries()) {
    if (!(b >= 0 && b < 1))
      throw new Error(`${name}: invalid beta parameter at index ${i}: ${b} in ${where}`);
  }
  if (!(o.weightDecay >= 0)) throw new Error(`${name}: invalid weightDecay ${o.weightDecay} in ${where}`);
}

/**
 * torch.optim.Adam. Weight decay here is the L2 penalty added to the gradient (use AdamW for
 * decoupled decay). State per parameter: `step`, `expAvg`, `expAvgSq`, and `maxExpAvgSq` with AMSGrad.
 * The backend kernel keeps each element's update in doubles and rounds once per stored value, so
 * float32 results sit within a few ulps of torch's (which rounds every intermediate tensor).
 * @example const opt = new Adam(model.parameters(), { lr: 1e-3 });
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: ParamsInput<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      maximize: false,
      ...opts,
    });
  }

  protected override checkOptions(o: AdamOptions, where: string): void {
    super.checkOptions(o, where);
    checkAdam(this.constructor.name, o, where);
  }

  /** Whether weight decay is decoupled (AdamW) rather than added to the gradient. */
  protected get decoupled(): boolean {
    return false;
  }

  protected update(group: ParamGroup<AdamOptions>): void {
    const { lr, betas, eps, weightDecay, amsgrad, maximize } = group;
    // Parameters sharing a step count (normally all of the group) go to the backend in one call.
    const byStep = new Map<
      number,
      { p: FloatArray[]; g: FloatArray[]; m: FloatArray[]; v: FloatArray[]; vmax: FloatArray[] }
    >();
    for (const p of group.params) {
      if (!p.grad) continue;
      let g = gradData(p);
      if (maximize) {
        const neg = new (g.constructor as new (n: number) => FloatArray)(g.length);
        for (let i = 0; i < g.length; i++) neg[i] = -g[i];
        g = neg;
      }
      const state = this.stateOf(p);
      if (state.step === undefined) {
        state.step = 0;
        state.expAvg = stateLike(p);
        state.expAvgSq = stateLike(p);
      }
      if (amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = stateLike(p);
      const step = (state.step as number) + 1;
      state.step = step;
      let batch = byStep.get(step);
      if (!batch) {
        batch = { p: [], g: [], m: [], v: [], vmax: [] };
        byStep.set(step, batch);
      }
      batch.p.push(paramData(p));
      batch.g.push(g);
      batch.m.push(paramData(state.expAvg as Tensor));
      batch.v.push(paramData(state.expAvgSq as Tensor));
      if (amsgrad) batch.vmax.push(paramData(state.maxExpAvgSq as Tensor));
    }
    for (const [step, b] of byStep) {
      adamStepMulti({
        params: b.p,
        grads: b.g,
        expAvgs: b.m,
        expAvgSqs: b.v,
        maxExpAvgSqs: amsgrad ? b.vmax : null,
        lr,
        beta1: betas[0],
        beta2: betas[1],
        eps,
        weightDecay,
        step,
        decoupled: this.decoupled,
      });
    }
  }
}

/**
 * torch.optim.AdamW: Adam with decoupled weight decay, p ← p·(1 − lr·wd) before the Adam step.
 * The default weightDecay is 0.01, as in PyTorch.
 * @example
 * const opt = new AdamW([{ params: matrices }, { params: biasesAndNorms, weightDecay: 0 }], { lr: 6e-4, weightDecay: 0.1 });
 */
export class AdamW extends Adam {
  constructor(params: ParamsInput<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 1e-2, ...opts });
  }

  protected override get decoupled(): boolean {
    return true;
  }
}
