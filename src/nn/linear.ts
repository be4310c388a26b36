/** nn.Linear: y = x·Wᵀ + b, with PyTorch's default initialisation. */
import { linear } from "../ops/index.js";
import { empty } from "../tensor/create-internal.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../util/rng.js";
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from "./init.js";
import { Module, Parameter } from "./module.js";

/** Options of {@link Linear}: whether it has a bias (default true), the dtype, and the generator for its initialisation. */
export interface LinearOptions {
  bias?: boolean;
  dtype?: "float32" | "float64";
  generator?: Generator;
}

/**
 * Affine map from inFeatures to outFeatures. Weight (out, in) starts from kaiming-uniform with
 * a = √5 (so U(±1/√in)), and bias from U(±1/√in), as torch.nn.Linear.
 * @example
 * const fc = new Linear(4, 2);
 * const y = fc.forward(randn([8, 4])); // (8, 2)
 */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const dtype = opts.dtype ?? "float32";
    this.weight = new Parameter(empty([outFeatures, inFeatures], dtype));
    this.bias = (opts.bias ?? true) ? new Parameter(empty([outFeatures], dtype)) : null;
    this.resetParameters(opts.generator);
  }

  /** Re-draws weight and bias with torch.nn.Linear's default initialisation. */
  resetParameters(generator?: Generator): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias) {
      const [fanIn] = calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound, generator);
    }
  }

  /** x·Wᵀ + b over the last dimension: (..., inFeatures) → (..., outFeatures). */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
