/** MLP: the feedforward network of stacked Linear layers with a nonlinearity between them. */
import type { Generator } from "../util/rng.js";
import { GELU, ReLU, Sigmoid, SiLU, Tanh } from "./activation.js";
import { Sequential, type UnaryModule } from "./container.js";
import { Dropout } from "./dropout.js";
import { Linear } from "./linear.js";

/** The activations an {@link MLP} and {@link activationModule} accept by name. */
export type ActivationName = "relu" | "sigmoid" | "tanh" | "gelu" | "silu";

/** A fresh activation module by name. @example activationModule("gelu") */
export function activationModule(name: ActivationName): UnaryModule {
  switch (name) {
    case "relu":
      return new ReLU();
    case "sigmoid":
      return new Sigmoid();
    case "tanh":
      return new Tanh();
    case "gelu":
      return new GELU();
    case "silu":
      return new SiLU();
    default:
      throw new Error(
        `MLP: unknown activation "${String(name)}"; expected relu, sigmoid, tanh, gelu or silu`,
      );
  }
}

/** Options of {@link MLP}. */
export interface MLPOptions {
  /** Nonlinearity after every layer but the last (default relu). */
  activation?: ActivationName;
  /** Dropout probability after each hidden activation (default 0: no Dropout modules). */
  dropout?: number;
  /** Biases in the Linear layers (default true). */
  bias?: boolean;
  dtype?: "float32" | "float64";
  /** Drives the Linear initialisation and the dropout masks. */
  generator?: Generator;
}

/**
 * sizes[0] → sizes[1] → … → sizes[n−1]: a Linear per consecutive pair, with the activation (and
 * dropout, when asked) after every Linear but the last, so the output is raw logits. As a
 * Sequential, its children are named "0", "1", …, like torch.nn.Sequential's.
 * @example
 * const net = new MLP([2, 64, 64, 3], { activation: "tanh" });
 * const logits = net.forward(x); // (N, 3)
 */
export class MLP extends Sequential {
  readonly sizes: readonly number[];
  readonly activation: ActivationName;

  constructor(sizes: readonly number[], opts: MLPOptions = {}) {
    if (sizes.length < 2)
      throw new Error(`MLP: sizes needs at least an input and an output size, got [${sizes.join(", ")}]`);
    for (const s of sizes) {
      if (!(Number.isInteger(s) && s > 0))
        throw new Error(`MLP: sizes must be positive integers, got [${sizes.join(", ")}]`);
    }
    const activation = opts.activation ?? "relu";
    const p = opts.dropout ?? 0;
    const layers: UnaryModule[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      layers.push(
        new Linear(sizes[i], sizes[i + 1], { bias: opts.bias, dtype: opts.dtype, generator: opts.generator }),
      );
      if (i + 2 < sizes.length) {
        layers.push(activationModule(activation));
        if (p > 0) layers.push(new Dropout(p, opts.generator));
      }
    }
    super(...layers);
    this.sizes = Object.freeze([...sizes]);
    this.activation = activation;
  }
}
