/** nn.Dropout: active in train mode only. */
import { dropout } from "../ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../util/rng.js";
import { Module } from "./module.js";

/**
 * Zeroes elements with probability p during training (Srivastava et al. 2014).
 * @example new Dropout(0.1).forward(x)
 */
export class Dropout extends Module {
  constructor(
    readonly p = 0.5,
    readonly generator?: Generator,
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability must be in [0, 1], got ${p}`);
  }

  /** In train mode zeroes each element with probability p and scales the rest by 1/(1−p); in eval mode returns `x` unchanged. */
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, generator: this.generator });
  }
}
