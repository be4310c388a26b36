/**
 * Weight-only quantization of a trained model for inference: {@link quantize} replaces every
 * `Linear` with a {@link QuantizedLinear} (int8 or bfloat16 weight, float32 bias and activations)
 * and an `Embedding` tied to a quantized head with a {@link QuantizedEmbedding} over the same
 * storage, so the float32 copy of a tied table can be dropped. Decoding reads every weight once
 * per token, so it is bound by memory bandwidth: int8 reads a quarter of float32's bytes, bfloat16
 * half.
 */
import { withNoGrad } from "../autograd/graph.js";
import {
  type QuantizedDType,
  type QuantizedWeight,
  quantizedEmbedding,
  quantizedLinear,
  quantizeWeight,
} from "../ops/quantized.js";
import { clone } from "../ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { MultiheadAttention } from "./attention.js";
import { Embedding } from "./embedding.js";
import { Linear } from "./linear.js";
import { Module, Parameter } from "./module.js";
import { TransformerDecoderLayer, TransformerEncoderLayer } from "./transformer-layers.js";

/** Options of {@link quantize}. */
export interface QuantizeOptions {
  /** The weight storage: `"int8"` (per-row symmetric scales) or `"bfloat16"`. */
  dtype: QuantizedDType;
}

const INFERENCE_ONLY =
  "its weights are quantized (inference only) and cannot be saved as a float checkpoint; save the model before quantize(), or dequantizeWeight() a layer's qweight";

/**
 * A Linear layer whose weight is stored quantized: y = x · ŵᵀ + b, float32 in and out. Inference
 * only (no gradient; the bias is frozen). Its weight cannot go into a state dict.
 * @example const q = QuantizedLinear.fromLinear(new Linear(4, 2), "int8"); q.forward(x);
 */
export class QuantizedLinear extends Module {
  /** The float32 bias, frozen (requiresGrad false), or null. */
  bias: Parameter | null;

  constructor(
    /** The quantized (out, in) weight. */
    readonly qweight: QuantizedWeight,
    bias: Tensor | null,
  ) {
    super();
    if (bias && bias.dtype !== "float32")
      throw new Error(`QuantizedLinear: bias must be float32, got ${bias.dtype}`);
    this.bias = bias ? new Parameter(bias, false) : null;
  }

  /** The layer `lin` with its weight quantized to `dtype` (or `qweight` when given, to share storage). */
  static fromLinear(lin: Linear, dtype: QuantizedDType, qweight?: QuantizedWeight): QuantizedLinear {
    return new QuantizedLinear(qweight ?? quantizeWeight(lin.weight, dtype), lin.bias);
  }

  /** Input features (the weight's columns). */
  get inFeatures(): number {
    return this.qweight.shape[1];
  }

  /** Output features (the weight's rows). */
  get outFeatures(): number {
    return this.qweight.shape[0];
  }

  /** x (..., in) float32 → (..., out); throws when x requires grad with recording on. */
  forward(x: Tensor): Tensor {
    return quantizedLinear(x, this.qweight, this.bias);
  }

  protected override stateDictRefusal(): string | null {
    return INFERENCE_ONLY;
  }
}

/**
 * An embedding table stored quantized (typically shared with a tied, quantized output head):
 * looking up ids dequantizes only their rows.
 * @example const e = new QuantizedEmbedding(quantizeWeight(wte.weight, "int8")); e.forward(ids);
 */
export class QuantizedEmbedding extends Module {
  constructor(
    /** The quantized (num, dim) table. */
    readonly qweight: QuantizedWeight,
  ) {
    super();
  }

  /** int32 ids → (...ids.shape, dim) float32. */
  forward(ids: Tensor): Tensor {
    return quantizedEmbedding(ids, this.qweight);
  }

  protected override stateDictRefusal(): string | null {
    return INFERENCE_ONLY;
  }
}

/** Modules whose forward reads their Linear children's weights directly, so these stay float. */
function readsWeightsDirectly(m: Module): boolean {
  return (
    m instanceof MultiheadAttention ||
    m instanceof TransformerEncoderLayer ||
    m instanceof TransformerDecoderLayer
  );
}

/**
 * Makes `model` an inference-only model with weight-only quantized linear layers, in place (and
 * returns it): every `Linear` becomes a {@link QuantizedLinear}; an `Embedding` whose table is tied
 * to a quantized Linear's weight (GPT's `wte` and `lm_head`) becomes a {@link QuantizedEmbedding}
 * over the same storage, so no float32 copy of it is kept. Every remaining parameter (norms,
 * untied embeddings) is frozen, and `stateDict()` (hence saving) throws, rather than writing a
 * checkpoint with weights missing. Refuses models holding torch-style transformer layers or
 * MultiheadAttention, whose forward reads Linear weights directly. Use it on a model in eval mode.
 * @example quantize(model, { dtype: "int8" }); generate(model, prompt, { maxNewTokens: 20 });
 */
export function quantize<M extends Module>(model: M, opts: QuantizeOptions): M {
  const { dtype } = opts;
  if (dtype !== "int8" && dtype !== "bfloat16")
    throw new Error(`quantize: dtype must be "int8" or "bfloat16", got ${JSON.stringify(dtype)}`);
  const mods = model.modules();
  for (const m of mods) {
    if (readsWeightsDirectly(m))
      throw new Error(
        `quantize: ${m.constructor.name} reads its projections' weights directly, so it cannot take quantized layers`,
      );
  }
  const made = new Map<Tensor, QuantizedWeight>();
  const linears: [Record<string, unknown>, string, Linear][] = [];
  const embeddings: [Record<string, unknown>, string, Embedding][] = [];
  for (const m of mods) {
    for (const [k, v] of Object.entries(m)) {
      const rec = m as unknown as Record<string, unknown>;
      if (v instanceof Linear) {
        if (v.weight.dtype !== "float32")
          throw new Error(
            `quantize: Linear weights must be float32 (activations stay float32), got ${v.weight.dtype}`,
          );
        linears.push([rec, k, v]);
      } else if (v instanceof Embedding) embeddings.push([rec, k, v]);
    }
  }
  for (const [rec, k, lin] of linears) {
    let q = made.get(lin.weight);
    if (!q) {
      q = quantizeWeight(lin.weight, dtype);
      made.set(lin.weight, q);
    }
    rec[k] = QuantizedLinear.fromLinear(lin, dtype, q);
  }
  for (const [rec, k, emb] of embeddings) {
    const q = made.get(emb.weight);
    if (q) rec[k] = new QuantizedEmbedding(q);
  }
  // The float parameters left (norms, biases, untied embeddings) get storage of their own, so a
  // loader's whole-file buffer that they were views of can be freed with the replaced weights.
  const rest = model.parameters();
  model.assignTensors(new Map(rest.map((p) => [p, withNoGrad(() => clone(p))])));
  for (const p of model.parameters()) p.requiresGrad = false;
  return model.eval();
}
