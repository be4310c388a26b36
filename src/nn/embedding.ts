/** nn.Embedding: a lookup table of vectors indexed by int32 ids. */
import { embedding } from "../ops/index.js";
import { empty } from "../tensor/create-internal.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../util/rng.js";
import { normal_ } from "./init.js";
import { Module, Parameter } from "./module.js";

/**
 * numEmbeddings vectors of size embeddingDim, initialised from N(0, 1) as in PyTorch.
 * @example
 * const wte = new Embedding(65, 128);
 * const x = wte.forward(ids); // (B, T, 128)
 */
export class Embedding extends Module {
  weight: Parameter;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: { dtype?: "float32" | "float64"; generator?: Generator } = {},
  ) {
    super();
    this.weight = new Parameter(empty([numEmbeddings, embeddingDim], opts.dtype ?? "float32"));
    normal_(this.weight, 0, 1, opts.generator);
  }

  /** Looks up the rows of `weight` at the int32 `ids`: shape (...ids.shape, embeddingDim). */
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}
