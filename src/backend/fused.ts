/**
 * Optional fused kernels: capabilities a backend may declare and a model may ask for. They are not
 * part of the kernel contract. A backend owes none of them, and the composed path (the model's own
 * forward, built from ops) is always the reference and the fallback.
 */
import type { FloatArray, Strided, UnaryOp } from "./backend.js";

/**
 * One transformer layer run on the T new tokens of B sequences, for inference (nothing is saved
 * for a backward pass). Covers GPT-2's pre-norm block, BERT's post-norm layer and
 * torch.nn.TransformerEncoderLayer / TransformerDecoderLayer (norm_first either way):
 *
 *   pre-norm:  x += selfAttn(norm₁ x); x += crossAttn(norm₂ x, memory); x += ffn(norm₃ x)
 *   post-norm: x = norm₁(x + selfAttn x); x = norm₂(x + crossAttn(x, memory)); x = norm₃(x + ffn x)
 *
 * with ffn(a) = act(a·W_fcᵀ + b_fc)·W_projᵀ + b_proj and heads of size C / H scaled by 1/√(C/H).
 * Linear weights are (out, in), as a Linear layer stores them. Null marks an absent bias or norm
 * affine term. With a cache, the new keys and values are written into rows past … past + T − 1 of
 * k and v (in place) and the queries attend over all past + T rows; without one (cap = 0) they
 * attend over the T new rows only. The cross-attention sublayer exists when Sm > 0.
 */
export interface TransformerLayerArgs<A extends FloatArray = FloatArray> {
  B: number;
  /** New tokens per sequence. */
  T: number;
  C: number;
  /** Number of heads; the head size is C / H. */
  H: number;
  /** Feed-forward width (4C in GPT-2 and BERT). */
  F: number;
  /** Cached positions before this call (0 without a cache). */
  past: number;
  /** Rows the caches hold per head (≥ past + T), or 0 for no cache. */
  cap: number;
  /** Memory positions of the cross-attention, or 0 for none. */
  Sm: number;
  /** Epsilon of every norm. */
  eps: number;
  /** Norm before each sublayer (GPT-2) or after its residual sum (BERT, torch's default). */
  normFirst: boolean;
  /** Self-attention query t sees keys up to past + t (bottom-right aligned). */
  causal: boolean;
  /**
   * Every Linear weight (self-attention, cross-attention and feed-forward) is stored transposed:
   * (in, out) row-major, as GPT-2's Conv1D checkpoints keep them and a model loaded from one views
   * them. Then a packed q/k/v projection is one (C, 3C) matrix, kW and vW starting C and 2C
   * elements into it. Absent: false, (out, in).
   */
  weightsTransposed?: boolean;
  /** Activation between the two feed-forward projections. */
  activation: UnaryOp;
  x: A; // (B, T, C)
  norm1W: A | null; // (C)
  norm1B: A | null; // (C)
  qW: A; // (C, C)
  qB: A | null; // (C)
  kW: A; // (C, C)
  kB: A | null; // (C)
  vW: A; // (C, C)
  vB: A | null; // (C)
  outW: A; // (C, C)
  outB: A | null; // (C)
  /** Additive self-attention mask broadcast over (B, H, T, past + T) through strides, or null. */
  mask: Strided<A> | null;
  k: A | null; // (B, H, cap, C/H), null without a cache
  v: A | null; // (B, H, cap, C/H)
  norm2W: A | null; // (C), cross-attention's norm
  norm2B: A | null; // (C)
  crossQW: A | null; // (C, C), required when Sm > 0
  crossQB: A | null; // (C)
  crossOutW: A | null; // (C, C), required when Sm > 0
  crossOutB: A | null; // (C)
  memoryK: A | null; // (B, H, Sm, C/H), the memory already projected to keys
  memoryV: A | null; // (B, H, Sm, C/H)
  /** Additive cross-attention mask broadcast over (B, H, T, Sm) through strides, or null. */
  memoryMask: Strided<A> | null;
  norm3W: A | null; // (C), the feed-forward's norm
  norm3B: A | null; // (C)
  fcW: A; // (F, C)
  fcB: A | null; // (F)
  projW: A; // (C, F)
  projB: A | null; // (C)
}

/** A backend's fused transformer layer and the dtypes it runs. */
export interface FusedTransformerLayer {
  readonly dtypes: readonly ("float32" | "float64")[];
  /** out (B, T, C) = the layer of {@link TransformerLayerArgs}; out may be args.x. */
  forward(args: TransformerLayerArgs, out: FloatArray): void;
}

/**
 * A weight matrix (N, K), row-major as a Linear layer stores it, in a weight-only quantized form:
 * `int8` holds q ∈ [−127, 127] with one float32 scale per output row (ŵ = q · scale, symmetric);
 * `bfloat16` holds the high 16 bits of each float32 (ŵ = those bits followed by 16 zero bits).
 */
export type QuantizedMatrix =
  | { readonly kind: "int8"; readonly data: Int8Array; readonly scales: Float32Array }
  | { readonly kind: "bfloat16"; readonly data: Uint16Array };

/** Arguments of {@link FusedQuantizedLinear.forward}: out (M, N) = x (M, K) · ŵᵀ + bias, all contiguous. */
export interface QuantizedLinearArgs {
  M: number;
  N: number;
  K: number;
  x: Float32Array; // (M, K)
  weight: QuantizedMatrix; // (N, K)
  bias: Float32Array | null; // (N)
  out: Float32Array; // (M, N)
}

/** A backend's kernel for a linear layer whose weight is stored quantized (float32 activations). */
export interface FusedQuantizedLinear {
  /** out = x · dequant(weight)ᵀ + bias, reading the quantized weight directly. */
  forward(args: QuantizedLinearArgs): void;
}

/**
 * The fused kernels a backend declares (every field optional: a backend may declare none).
 * @example const layer = backend().fused?.transformerLayer; if (layer?.dtypes.includes("float32")) …
 */
export interface FusedKernels {
  readonly transformerLayer?: FusedTransformerLayer;
  readonly quantizedLinear?: FusedQuantizedLinear;
}
