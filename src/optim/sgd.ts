/** Stochastic gradient descent with optional momentum (Polyak; Nesterov as Sutskever et al. 2013). */
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

export interface SGDOptions extends OptimizerOptions {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  /** L2 penalty: wd·p is added to the gradient. */
  weightDecay: number;
  /** Ascend instead of descend. */
  maximize: boolean;
}

/**
 * torch.optim.SGD, with its arithmetic order. Without momentum this is the plain rule
 * w ← w − η·∂L/∂w. With momentum μ the buffer starts as the first gradient and then
 * b ← μ·b + (1 − dampening)·g; the step uses b, or g + μ·b with Nesterov.
 * State per parameter: `momentumBuffer` (only when momentum ≠ 0).
 * @example const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, opts: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, ...opts });
  }

  protected override checkOptions(o: SGDOptions, where: string): void {
    super.checkOptions(o, where);
    if (!(o.momentum >= 0)) throw new Error(`SGD: invalid momentum ${o.momentum} in ${where}`);
    if (!(o.weightDecay >= 0)) throw new Error(`SGD: invalid weightDecay ${o.weightDecay} in ${where}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new Error(`SGD: Nesterov momentum requires a momentum and zero dampening (${where})`);
    }
  }

  protected update(group: ParamGroup<SGDOptions>): void {
    const { momentum, dampening, nesterov, maximize } = group;
    for (const p of group.params) {
      if (!p.grad) continue;
      const w = paramData(p);
      const g = gradData(p);
      const n = w.length;
      // Scalars and every intermediate tensor take the parameter's precision, as in PyTorch.
      const r = roundingFor(w);
      const lr = r(-group.lr);
      const wd = r(group.weightDecay);
      const mu = r(momentum);
      const damp = r(1 - dampening);
      if (momentum === 0) {
        for (let i = 0; i < n; i++) {
          let d = maximize ? -g[i] : g[i];
          if (wd !== 0) d = r(d + wd * w[i]);
          w[i] += lr * d;
        }
        continue;
      }
      const state = this.stateOf(p);
      const first = state.momentumBuffer === undefined;
      if (first) state.momentumBuffer = stateLike(p);
      const buf = paramData(state.momentumBuffer as Tensor);
      for (let i = 0; i < n; i++) {
        let d = maximize ? -g[i] : g[i];
        if (wd !== 0) d = r(d + wd * w[i]);
        buf[i] = first ? d : r(buf[i] * mu) + damp * d;
        d = nesterov ? r(d + mu * buf[i]) : buf[i];
        w[i] += lr * d;
      }
    }
  }
}
