/** nn.LayerNorm (Ba et al. 2016) over the trailing dims. */
import { layerNorm } from "../ops/index.js";
import { ones, zeros } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module, Parameter } from "./module.js";

/** Options of {@link LayerNorm}: `eps` (default 1e-5), whether it has learnable weight and bias, and the dtype. */
export interface LayerNormOptions {
  eps?: number;
  /** Learnable weight and bias (PyTorch's elementwise_affine). */
  elementwiseAffine?: boolean;
  /** Learnable bias; GPT configs with `bias: false` turn it off. */
  bias?: boolean;
  dtype?: "float32" | "float64";
}

/**
 * Normalises over `normalizedShape`, then scales and shifts.
 * @example new LayerNorm(128).forward(x)
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    const dtype = opts.dtype ?? "float32";
    this.weight = affine ? new Parameter(ones(this.normalizedShape, { dtype })) : null;
    this.bias = affine && (opts.bias ?? true) ? new Parameter(zeros(this.normalizedShape, { dtype })) : null;
  }

  /** Normalises `x` over its trailing `normalizedShape` dimensions, then applies weight and bias. */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}
