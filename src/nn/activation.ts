/** Activation modules wrapping the functional ops (the report's ReLU, sigmoid, softmax, GELU). */
import { gelu, relu, sigmoid, silu, softmax, tanh } from "../ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

/** max(x, 0). @example new ReLU().forward(x) */
export class ReLU extends Module {
  /** Applies max(x, 0) elementwise. */
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** 1/(1 + e⁻ˣ). */
export class Sigmoid extends Module {
  /** Applies the logistic sigmoid elementwise. */
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** tanh(x). */
export class Tanh extends Module {
  /** Applies tanh elementwise. */
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** x·Φ(x); `approximate: "tanh"` for GPT-2's form. */
export class GELU extends Module {
  constructor(readonly approximate: "none" | "tanh" = "none") {
    super();
  }

  /** Applies GELU elementwise, in the form `approximate` chose. */
  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
}

/** x·σ(x). */
export class SiLU extends Module {
  /** Applies x·σ(x) elementwise. */
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** softmax along `dim`. */
export class Softmax extends Module {
  constructor(readonly dim = -1) {
    super();
  }

  /** Softmax of `x` along the dimension given at construction. */
  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
}
