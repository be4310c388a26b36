/**
 * BART (Lewis et al. 2019) as Hugging Face's BartModel / BartForConditionalGeneration: module
 * fields are HF's names, so `stateDict()` keys are the checkpoint's (`model.encoder.layers.0.
 * self_attn.k_proj.weight`, …). Post-norm layers, learned positions offset by 2, layernorm_embedding,
 * optional √d embedding scale, lm_head tied to `model.shared` plus `final_logits_bias`. Attention is
 * qkv's scaledDotProductAttention op with the shared KVCache (self-attention appends, cross-attention
 * stores the encoder's keys/values once); decoding and HF's generate live in src/generate.
 */
import type { HFCheckpoint } from "../io/hf-checkpoint.js";
import type { RawTensor } from "../io/safetensors.js";
import { causalMask } from "../nn/attention.js";
import { ModuleList } from "../nn/container.js";
import { Embedding } from "../nn/embedding.js";
import { normal_, zeros_ } from "../nn/init.js";
import { KVCache } from "../nn/kv-cache.js";
import { LayerNorm } from "../nn/layer-norm.js";
import { Linear } from "../nn/linear.js";
import { Module, type Parameter } from "../nn/module.js";
import {
  add,
  contiguous,
  crossEntropy,
  dropout,
  eq,
  gelu,
  logicalNot,
  mul,
  narrow,
  relu,
  reshape,
  scaledDotProductAttention,
  silu,
  tanh,
  transpose,
  where,
} from "../ops/index.js";
import { arange, tensor, zeros } from "../tensor/create.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { defaultGenerator, type Generator } from "../util/rng.js";
import { shapeStr } from "../util/shape.js";
import { type BartActivation, type BartConfig, bartConfigFromHF, bartConfigToHF } from "./bart-config.js";
import { buildFromHF, exportHFWeights, type HFKeyMap, type HFLoadOptions } from "./hf.js";

export * from "./bart-config.js";

/** BartConfig's float-typed fields (transformers 5 refuses `0` for them; they are written `0.0`). */
const BART_FLOAT_FIELDS = [
  "activation_dropout",
  "attention_dropout",
  "classifier_dropout",
  "decoder_layerdrop",
  "dropout",
  "encoder_layerdrop",
  "init_std",
];

/** HF's additive padding value: the most negative float32 (not −∞), as its eager attention uses. */
const MASK_MIN = -3.4028234663852886e38;

function activate(name: BartActivation, x: Tensor): Tensor {
  if (name === "gelu") return gelu(x);
  if (name === "gelu_new" || name === "gelu_pytorch_tanh") return gelu(x, { approximate: "tanh" });
  if (name === "relu") return relu(x);
  if (name === "silu" || name === "swish") return silu(x);
  return tanh(x);
}

/**
 * An HF attention mask (N, S) with 1 = attend, 0 = padding (any dtype) as an additive float
 * mask (N, 1, 1, S): 0 where kept, the most negative float where padded.
 * @example const m = paddingToAdditive(attentionMask, "float32"); // (N, 1, 1, S)
 */
export function paddingToAdditive(mask: Tensor, dtype: FloatDType): Tensor {
  if (mask.ndim !== 2) throw new Error(`BART: attention masks must be (N, S), got ${shapeStr(mask.shape)}`);
  const [N, S] = mask.shape;
  const pad = mask.dtype === "bool" ? logicalNot(mask) : eq(mask, 0);
  return reshape(where(pad, MASK_MIN, zeros([], { dtype })), [N, 1, 1, S]);
}

/**
 * HF's shift_tokens_right: decoder inputs from labels (N, T): `decoderStartTokenId` then the
 * labels shifted right by one, with -100 (ignored positions) replaced by `padTokenId`.
 * @example shiftTokensRight(labels, 1, 2) // [[0, 5, 2]] → [[2, 0, 5]]
 */
export function shiftTokensRight(labels: Tensor, padTokenId: number, decoderStartTokenId: number): Tensor {
  if (labels.ndim !== 2)
    throw new Error(`shiftTokensRight: labels must be (N, T), got ${shapeStr(labels.shape)}`);
  const [N, T] = labels.shape;
  const src = labels.toArray();
  const out = new Int32Array(N * T);
  for (let n = 0; n < N; n++) {
    out[n * T] = decoderStartTokenId;
    for (let t = 1; t < T; t++) {
      const v = Number(src[n * T + t - 1]);
      out[n * T + t] = v === -100 ? padTokenId : v;
    }
  }
  return tensor(out, { shape: [N, T] });
}

/**
 * Learned positions with BART's offset of 2 (its table has maxPositions + 2 rows; the first two
 * are never used, a fairseq legacy): position p reads row p + 2.
 * @example new BartLearnedPositionalEmbedding(128, 64).forward(5, 0) // (5, 64)
 */
export class BartLearnedPositionalEmbedding extends Embedding {
  readonly offset = 2;

  constructor(
    numEmbeddings: number,
    embeddingDim: number,
    opts: { dtype?: FloatDType; generator?: Generator } = {},
  ) {
    super(numEmbeddings + 2, embeddingDim, opts);
  }

  /** Rows for positions past … past + T − 1 → (T, dModel). */
  positions(T: number, past = 0): Tensor {
    const max = this.weight.shape[0] - this.offset;
    if (past + T > max) throw new Error(`BART: ${past + T} positions exceed max_position_embeddings ${max}`);
    return super.forward(arange(past + this.offset, past + T + this.offset, 1, { dtype: "int32" }));
  }
}

/**
 * Token embedding multiplied by `embedScale` (√dModel with scale_embedding, else 1), as HF's
 * BartScaledWordEmbedding. One instance is shared by the encoder, the decoder and `model.shared`.
 * @example new BartScaledWordEmbedding(401, 64, 8).forward(ids) // (N, T, 64)
 */
export class BartScaledWordEmbedding extends Embedding {
  constructor(
    numEmbeddings: number,
    embeddingDim: number,
    readonly embedScale: number,
    opts: { dtype?: FloatDType; generator?: Generator } = {},
  ) {
    super(numEmbeddings, embeddingDim, opts);
  }

  /** Embeds the int32 `ids` and multiplies by the embedding scale: (N, T) → (N, T, dModel). */
  override forward(ids: Tensor): Tensor {
    const e = super.forward(ids);
    return this.embedScale === 1 ? e : mul(e, this.embedScale);
  }
}

/**
 * Options of {@link BartAttention.forward}.
 * @example { keyValue: encoderStates, mask: paddingToAdditive(attentionMask, "float32") }
 */
export interface BartAttentionOptions {
  /** Cross-attention: the encoder states (N, S, E); self-attention when absent. */
  keyValue?: Tensor | null;
  /** Additive mask broadcastable to (N, H, L, S). */
  mask?: Tensor | null;
  /** Causal self-attention (bottom-right aligned when a cache holds earlier positions). */
  causal?: boolean;
  /** Incremental decoding: slot `layer` of this cache holds the earlier keys/values and the memory's. */
  cache?: KVCache;
  layer?: number;
}

/**
 * Multi-head attention with HF BART's separate q/k/v/out projections (with biases) and
 * 1/√head_dim scaling, over qkv's scaledDotProductAttention.
 * @example new BartAttention(64, 4, 0).forward(x, { causal: true }) // (N, L, 64)
 */
export class BartAttention extends Module {
  k_proj: Linear;
  v_proj: Linear;
  q_proj: Linear;
  out_proj: Linear;
  readonly headDim: number;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    readonly dropoutP: number,
    opts: { dtype?: FloatDType; generator?: Generator } = {},
  ) {
    super();
    this.headDim = Math.floor(embedDim / numHeads);
    if (this.headDim * numHeads !== embedDim)
      throw new Error(`BartAttention: d_model ${embedDim} must be divisible by the ${numHeads} heads`);
    const lin = () => new Linear(embedDim, embedDim, opts);
    this.k_proj = lin();
    this.v_proj = lin();
    this.q_proj = lin();
    this.out_proj = lin();
  }

  /** Attention over `x` (N, L, E): self-attention, or cross-attention over `opts.keyValue`; → (N, L, E). */
  forward(x: Tensor, opts: BartAttentionOptions = {}, generator?: Generator): Tensor {
    const [N, L, E] = x.shape;
    const H = this.numHeads;
    const hd = this.headDim;
    const heads = (t: Tensor) => transpose(reshape(t, [N, t.shape[1], H, hd]), 1, 2); // (N, H, ·, hd)
    const q = heads(this.q_proj.forward(x)); // (N, H, L, hd)
    const { cache, keyValue } = opts;
    const slot = opts.layer ?? 0;
    let k: Tensor;
    let v: Tensor;
    if (keyValue) {
      const stored = cache?.memory(slot);
      if (stored) [k, v] = stored;
      else {
        k = contiguous(heads(this.k_proj.forward(keyValue))); // (N, H, S, hd), projected once per source
        v = contiguous(heads(this.v_proj.forward(keyValue)));
        cache?.setMemory(slot, k, v);
      }
    } else {
      k = heads(this.k_proj.forward(x));
      v = heads(this.v_proj.forward(x));
      if (cache) [k, v] = cache.update(slot, k, v); // (N, H, past + L, hd)
    }
    const S = k.shape[2];
    let mask = opts.mask ?? null;
    const causal = (opts.causal ?? false) && !keyValue;
    if (causal && (mask || S !== L)) {
      const cm = causalMask(L, S, x.dtype as FloatDType, S - L); // the L new queries are the last L positions
      mask = mask ? add(mask, cm) : cm;
    }
    const out = scaledDotProductAttention(q, k, v, {
      attnMask: mask,
      isCausal: causal && !mask,
      dropoutP: this.training ? this.dropoutP : 0,
      generator,
    }); // (N, H, L, hd)
    return this.out_proj.forward(reshape(transpose(out, 1, 2), [N, L, E]));
  }
}

/** Dropout as HF's functional call: active in training only. */
function drop(m: Module, x: Tensor, p: number, g: Generator): Tensor {
  return m.training && p > 0 ? dropout(x, p, { training: true, generator: g }) : x;
}

/**
 * One post-norm encoder layer: x = LN(x + drop(selfAttn(x))); x = LN(x + drop(fc2(drop(act(fc1(x)))))).
 * @example new BartEncoderLayer(config).forward(x, mask) // (N, S, dModel)
 */
export class BartEncoderLayer extends Module {
  self_attn: BartAttention;
  self_attn_layer_norm: LayerNorm;
  fc1: Linear;
  fc2: Linear;
  final_layer_norm: LayerNorm;

  constructor(
    readonly config: BartConfig,
    private readonly g: Generator = defaultGenerator,
    dtype: FloatDType = "float32",
  ) {
    super();
    const d = config.dModel;
    const o = { dtype, generator: g };
    this.self_attn = new BartAttention(d, config.encoderAttentionHeads, config.attentionDropout ?? 0, o);
    this.self_attn_layer_norm = new LayerNorm(d, { dtype });
    this.fc1 = new Linear(d, config.encoderFfnDim, o);
    this.fc2 = new Linear(config.encoderFfnDim, d, o);
    this.final_layer_norm = new LayerNorm(d, { dtype });
  }

  /** Self-attention then feed-forward, each with dropout, a residual and a post-LayerNorm: (N, S, D) → (N, S, D). */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const c = this.config;
    const p = c.dropout ?? 0.1;
    const a = drop(this, this.self_attn.forward(x, { mask }, this.g), p, this.g);
    const h = this.self_attn_layer_norm.forward(add(x, a));
    const f = this.fc1.forward(h);
    const ff = this.fc2.forward(
      drop(this, activate(c.activationFunction ?? "gelu", f), c.activationDropout ?? 0, this.g),
    );
    return this.final_layer_norm.forward(add(h, drop(this, ff, p, this.g)));
  }
}

/**
 * One post-norm decoder layer: causal self-attention, cross-attention over the encoder states,
 * feed-forward, each followed by dropout, a residual and LayerNorm.
 * @example new BartDecoderLayer(config).forward(y, memory, { selfMask: null, crossMask }) // (N, T, dModel)
 */
export class BartDecoderLayer extends Module {
  self_attn: BartAttention;
  self_attn_layer_norm: LayerNorm;
  encoder_attn: BartAttention;
  encoder_attn_layer_norm: LayerNorm;
  fc1: Linear;
  fc2: Linear;
  final_layer_norm: LayerNorm;

  constructor(
    readonly config: BartConfig,
    private readonly g: Generator = defaultGenerator,
    dtype: FloatDType = "float32",
  ) {
    super();
    const d = config.dModel;
    const o = { dtype, generator: g };
    const h = config.decoderAttentionHeads;
    this.self_attn = new BartAttention(d, h, config.attentionDropout ?? 0, o);
    this.self_attn_layer_norm = new LayerNorm(d, { dtype });
    this.encoder_attn = new BartAttention(d, h, config.attentionDropout ?? 0, o);
    this.encoder_attn_layer_norm = new LayerNorm(d, { dtype });
    this.fc1 = new Linear(d, config.decoderFfnDim, o);
    this.fc2 = new Linear(config.decoderFfnDim, d, o);
    this.final_layer_norm = new LayerNorm(d, { dtype });
  }

  /** Causal self-attention, cross-attention over `memory` (N, S, D), then feed-forward, each post-norm: → (N, T, D). */
  forward(
    x: Tensor,
    memory: Tensor,
    opts: { selfMask?: Tensor | null; crossMask?: Tensor | null; cache?: KVCache; layer?: number } = {},
  ): Tensor {
    const c = this.config;
    const p = c.dropout ?? 0.1;
    const { cache, layer } = opts;
    const sa = this.self_attn.forward(x, { mask: opts.selfMask, causal: true, cache, layer }, this.g);
    let h = this.self_attn_layer_norm.forward(add(x, drop(this, sa, p, this.g)));
    const ca = this.encoder_attn.forward(h, { keyValue: memory, mask: opts.crossMask, cache, layer }, this.g);
    h = this.encoder_attn_layer_norm.forward(add(h, drop(this, ca, p, this.g)));
    const f = activate(c.activationFunction ?? "gelu", this.fc1.forward(h));
    const ff = this.fc2.forward(drop(this, f, c.activationDropout ?? 0, this.g));
    return this.final_layer_norm.forward(add(h, drop(this, ff, p, this.g)));
  }
}

/**
 * BART's encoder: scaled token embeddings + learned positions, layernorm_embedding, dropout, layers.
 * @example encoder.forward(inputIds, attentionMask) // (N, S, dModel)
 */
export class BartEncoder extends Module {
  embed_tokens: BartScaledWordEmbedding;
  embed_positions: BartLearnedPositionalEmbedding;
  layers: ModuleList<BartEncoderLayer>;
  layernorm_embedding: LayerNorm;

  constructor(
    readonly config: BartConfig,
    embedTokens: BartScaledWordEmbedding,
    private readonly g: Generator = defaultGenerator,
    dtype: FloatDType = "float32",
  ) {
    super();
    this.embed_tokens = embedTokens;
    this.embed_positions = new BartLearnedPositionalEmbedding(config.maxPositionEmbeddings, config.dModel, {
      dtype,
      generator: g,
    });
    this.layers = new ModuleList(
      Array.from({ length: config.encoderLayers }, () => new BartEncoderLayer(config, g, dtype)),
    );
    this.layernorm_embedding = new LayerNorm(config.dModel, { dtype });
  }

  /** Source ids (N, S) and an optional HF mask (N, S) (1 = token, 0 = padding) → (N, S, dModel). */
  forward(inputIds: Tensor, attentionMask: Tensor | null = null): Tensor {
    if (inputIds.ndim !== 2)
      throw new Error(`BartEncoder: input_ids must be (N, S), got ${shapeStr(inputIds.shape)}`);
    const S = inputIds.shape[1];
    const e = this.embed_tokens.forward(inputIds); // (N, S, D)
    let x = this.layernorm_embedding.forward(add(e, this.embed_positions.positions(S)));
    x = drop(this, x, this.config.dropout ?? 0.1, this.g);
    const mask = attentionMask ? paddingToAdditive(attentionMask, x.dtype as FloatDType) : null;
    for (const layer of this.layers) x = layer.forward(x, mask);
    return x;
  }
}

/**
 * Options of {@link BartDecoder.forward}.
 * @example { encoderAttentionMask: attentionMask, cache }
 */
export interface BartDecoderOptions {
  /** (N, T) HF mask of the decoder inputs (with a cache: (N, past + T)). */
  attentionMask?: Tensor | null;
  /** (N, S) HF mask of the encoder inputs. */
  encoderAttentionMask?: Tensor | null;
  /** Incremental decoding: pass only the new ids; positions continue from `cache.length`. */
  cache?: KVCache;
}

/**
 * BART's decoder: embeddings as the encoder's (positions continue from the cache), then
 * causal self-attention + cross-attention layers.
 * @example decoder.forward(decoderInputIds, memory, { encoderAttentionMask }) // (N, T, dModel)
 */
export class BartDecoder extends Module {
  embed_tokens: BartScaledWordEmbedding;
  embed_positions: BartLearnedPositionalEmbedding;
  layers: ModuleList<BartDecoderLayer>;
  layernorm_embedding: LayerNorm;

  constructor(
    readonly config: BartConfig,
    embedTokens: BartScaledWordEmbedding,
    private readonly g: Generator = defaultGenerator,
    dtype: FloatDType = "float32",
  ) {
    super();
    this.embed_tokens = embedTokens;
    this.embed_positions = new BartLearnedPositionalEmbedding(config.maxPositionEmbeddings, config.dModel, {
      dtype,
      generator: g,
    });
    this.layers = new ModuleList(
      Array.from({ length: config.decoderLayers }, () => new BartDecoderLayer(config, g, dtype)),
    );
    this.layernorm_embedding = new LayerNorm(config.dModel, { dtype });
  }

  /** An empty cache for incremental decoding: one slot per layer. */
  createCache(): KVCache {
    return new KVCache(this.layers.length, { maxLength: this.config.maxPositionEmbeddings });
  }

  /** Decoder ids (N, T) attending causally to themselves and to the encoder's `memory` (N, S, D) → (N, T, dModel). */
  forward(decoderInputIds: Tensor, memory: Tensor, opts: BartDecoderOptions = {}): Tensor {
    if (decoderInputIds.ndim !== 2)
      throw new Error(
        `BartDecoder: decoder_input_ids must be (N, T), got ${shapeStr(decoderInputIds.shape)}`,
      );
    const { cache } = opts;
    if (cache && cache.numLayers !== this.layers.length)
      throw new Error(`BartDecoder: cache has ${cache.numLayers} layers, the decoder ${this.layers.length}`);
    const T = decoderInputIds.shape[1];
    const past = cache?.length ?? 0;
    const e = this.embed_tokens.forward(decoderInputIds);
    let x = this.layernorm_embedding.forward(add(e, this.embed_positions.positions(T, past)));
    x = drop(this, x, this.config.dropout ?? 0.1, this.g);
    const dtype = x.dtype as FloatDType;
    const selfMask = opts.attentionMask ? paddingToAdditive(opts.attentionMask, dtype) : null;
    const crossMask = opts.encoderAttentionMask ? paddingToAdditive(opts.encoderAttentionMask, dtype) : null;
    let i = 0;
    for (const layer of this.layers) x = layer.forward(x, memory, { selfMask, crossMask, cache, layer: i++ });
    return x;
  }
}

/**
 * Inputs of {@link BartModel.forward} and {@link BartForConditionalGeneration.forward} (HF's
 * keyword arguments, camel-cased). Masks are HF's: 1 = token, 0 = padding.
 * @example { inputIds, attentionMask, labels }
 */
export interface BartInputs {
  /** (N, S) int32 source ids (not needed when `encoderOutputs` is given). */
  inputIds?: Tensor;
  attentionMask?: Tensor | null;
  /** (N, T) int32; from `labels` by shiftTokensRight when absent. */
  decoderInputIds?: Tensor;
  decoderAttentionMask?: Tensor | null;
  /** (N, S, dModel) encoder states computed earlier (generation). */
  encoderOutputs?: Tensor;
  /** Incremental decoding cache of the decoder. */
  cache?: KVCache;
}

/**
 * What {@link BartModel.forward} returns.
 * @example const { lastHiddenState, encoderLastHiddenState } = model.forward({ inputIds, decoderInputIds });
 */
export interface BartModelOutput {
  /** (N, T, dModel) decoder output. */
  lastHiddenState: Tensor;
  /** (N, S, dModel). */
  encoderLastHiddenState: Tensor;
}

/**
 * BartModel: the shared embedding, the encoder and the decoder.
 * @example new BartModel(config).forward({ inputIds, decoderInputIds }).lastHiddenState
 */
export class BartModel extends Module {
  shared: BartScaledWordEmbedding;
  encoder: BartEncoder;
  decoder: BartDecoder;

  constructor(
    readonly config: BartConfig,
    opts: { dtype?: FloatDType; generator?: Generator } = {},
  ) {
    super();
    const g = opts.generator ?? defaultGenerator;
    const dtype = opts.dtype ?? "float32";
    const scale = config.scaleEmbedding ? Math.sqrt(config.dModel) : 1;
    this.shared = new BartScaledWordEmbedding(config.vocabSize, config.dModel, scale, {
      dtype,
      generator: g,
    });
    this.encoder = new BartEncoder(config, this.shared, g, dtype);
    this.decoder = new BartDecoder(config, this.shared, g, dtype);
  }

  /** Runs the encoder (unless `encoderOutputs` is given) and the decoder; returns both last hidden states. */
  forward(inputs: BartInputs): BartModelOutput {
    const memory =
      inputs.encoderOutputs ??
      this.encoder.forward(need(inputs.inputIds, "inputIds"), inputs.attentionMask ?? null);
    const dec = need(inputs.decoderInputIds, "decoderInputIds");
    const lastHiddenState = this.decoder.forward(dec, memory, {
      attentionMask: inputs.decoderAttentionMask,
      encoderAttentionMask: inputs.attentionMask,
      cache: inputs.cache,
    });
    return { lastHiddenState, encoderLastHiddenState: memory };
  }
}

function need<T>(v: T | undefined, name: string): T {
  if (v === undefined) throw new Error(`BART: ${name} is required`);
  return v;
}

/** HF's _init_weights for BART: N(0, init_std) for Linear and Embedding weights, zero biases, the padding row zeroed. */
function initBart(root: Module, config: BartConfig, g: Generator): void {
  const std = config.initStd ?? 0.02;
  for (const m of root.modules()) {
    if (m instanceof Linear) {
      normal_(m.weight, 0, std, g);
      if (m.bias) zeros_(m.bias);
    } else if (m instanceof Embedding) normal_(m.weight, 0, std, g);
  }
  const pad = config.padTokenId ?? 1;
  for (const m of root.modules()) {
    if (m instanceof BartScaledWordEmbedding && pad < config.vocabSize) zeros_(narrow(m.weight, 0, pad, 1));
  }
}

/**
 * Checkpoint keys ↔ BartForConditionalGeneration (or BartModel with `base`): names are HF's; the
 * tied `lm_head.weight` and `model.{encoder,decoder}.embed_tokens.weight` aliases of `model.shared`
 * are neither read nor written; a BartModel checkpoint (no `model.` prefix) loads into either, and
 * a missing final_logits_bias stays zero (HF's `_keys_to_ignore_on_load_missing`).
 * @example loadHFWeights(bart, tensors, bartKeyMap(false))
 */
export function bartKeyMap(base: boolean): HFKeyMap {
  const prefix = base ? "" : "model.";
  const tiedNames = ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"].map((k) => prefix + k);
  const tied = new Set(base ? tiedNames : [...tiedNames, "lm_head.weight"]);
  return {
    toModel(k) {
      if (k === "lm_head.weight" || k.endsWith("embed_tokens.weight")) return null;
      if (k === "final_logits_bias") return base ? null : k;
      const bare = k.startsWith("model.") ? k.slice(6) : k;
      if (!/^(shared|encoder|decoder)\./.test(bare)) return k;
      return prefix + bare;
    },
    toHF: (k) => k,
    transposed: () => false,
    tied,
    optional: (k) => k === "final_logits_bias",
  };
}

/**
 * What {@link BartForConditionalGeneration.forward} returns.
 * @example const { logits, loss } = bart.forward({ inputIds, attentionMask, labels });
 */
export interface Seq2SeqLMOutput {
  /** (N, T, V), or (N, 1, V) with `lastOnly`. */
  logits: Tensor;
  /** Mean cross-entropy over labels ≠ -100, when labels were given. */
  loss?: Tensor;
  encoderLastHiddenState: Tensor;
}

/**
 * BartForConditionalGeneration: BartModel, the lm_head tied to the shared embedding, and
 * `final_logits_bias` (a (1, V) buffer). With `labels` the decoder inputs default to
 * shiftTokensRight(labels) and the loss is HF's (mean cross-entropy, -100 ignored).
 * `fromHF` / `toHF` read and write HF's checkpoint layout; `generate` is
 * `bartGenerate(model, …)` from the generation module.
 * @example
 * const bart = BartForConditionalGeneration.fromHF(config, tensors);
 * const { loss } = bart.train().forward({ inputIds, attentionMask, labels });
 */
export class BartForConditionalGeneration extends Module {
  model: BartModel;
  lm_head: Linear;
  declare final_logits_bias: Tensor;
  /** The config.json this model was loaded from (other fields are written back by toHF). */
  hfConfig: Record<string, unknown> | null = null;
  /** generation_config.json of the folder it came from, when there was one. */
  generationConfig: Record<string, unknown> | null = null;

  constructor(
    readonly config: BartConfig,
    opts: { dtype?: FloatDType; generator?: Generator } = {},
  ) {
    super();
    const g = opts.generator ?? defaultGenerator;
    const dtype = opts.dtype ?? "float32";
    this.model = new BartModel(config, { dtype, generator: g });
    this.lm_head = new Linear(config.dModel, config.vocabSize, { bias: false, dtype, generator: g });
    this.lm_head.weight = this.model.shared.weight as Parameter; // tied, as HF's tie_word_embeddings
    this.registerBuffer("final_logits_bias", zeros([1, config.vocabSize], { dtype }));
    initBart(this, config, g);
  }

  /** Decoder states → logits (…, V): lm_head plus final_logits_bias. */
  logitsOf(h: Tensor): Tensor {
    return add(this.lm_head.forward(h), this.final_logits_bias);
  }

  /** The logits of the decoder positions, and HF's loss when `labels` are given (the decoder inputs then default to the labels shifted right). */
  forward(inputs: BartInputs & { labels?: Tensor | null; lastOnly?: boolean }): Seq2SeqLMOutput {
    const c = this.config;
    const labels = inputs.labels ?? null;
    let dec = inputs.decoderInputIds;
    if (dec === undefined && labels)
      dec = shiftTokensRight(labels, c.padTokenId ?? 1, c.decoderStartTokenId ?? 2);
    const out = this.model.forward({ ...inputs, decoderInputIds: dec });
    let h = out.lastHiddenState; // (N, T, D)
    if (inputs.lastOnly) h = narrow(h, 1, h.shape[1] - 1, 1);
    const logits = this.logitsOf(h); // (N, T, V)
    const result: Seq2SeqLMOutput = { logits, encoderLastHiddenState: out.encoderLastHiddenState };
    if (labels) {
      if (!labels.hasShape(dec!.shape))
        throw new Error(
          `BART: labels ${shapeStr(labels.shape)} must match decoder_input_ids ${shapeStr(dec!.shape)}`,
        );
      const V = c.vocabSize;
      const t =
        labels.dtype === "int32"
          ? labels
          : tensor(Int32Array.from(labels.toArray() as ArrayLike<number>), { shape: [...labels.shape] });
      result.loss = crossEntropy(reshape(logits, [-1, V]), reshape(t, [-1]));
    }
    return result;
  }

  /**
   * Loads an HF checkpoint in memory (config.json parsed, model.safetensors' tensors) of a
   * BartForConditionalGeneration or a BartModel. Comes back in eval mode.
   * @example const bart = BartForConditionalGeneration.fromHF(ck.config, ck.tensors);
   */
  static fromHF(
    configJson: Record<string, unknown>,
    tensors: Map<string, RawTensor>,
    opts: HFLoadOptions & { generationConfig?: Record<string, unknown> | null } = {},
  ): BartForConditionalGeneration {
    const config = bartConfigFromHF(configJson);
    const first = tensors.values().next().value as RawTensor | undefined;
    const dtype = first?.dtype === "float64" ? "float64" : "float32";
    // Built without random init (the checkpoint overwrites it), then filled, as GPT and BERT are.
    const model = buildFromHF(
      () => new BartForConditionalGeneration(config, { dtype }),
      tensors,
      () => bartKeyMap(false),
      { ...opts, what: "BART checkpoint" },
    );
    model.hfConfig = { ...configJson };
    model.generationConfig = opts.generationConfig ?? null;
    return model.eval();
  }

  /**
   * The checkpoint HF's save_pretrained writes: config.json and the tensors, with the tied
   * embeddings stored once as `model.shared.weight`.
   * @example const { config, tensors } = bart.toHF();
   */
  toHF(): HFCheckpoint & { generationConfig?: Record<string, unknown> } {
    const dtype = this.model.shared.weight.dtype;
    const out: HFCheckpoint & { generationConfig?: Record<string, unknown> } = {
      config: bartConfigToHF(this.config, dtype, this.hfConfig ?? {}),
      tensors: exportHFWeights(this, bartKeyMap(false)),
      floatFields: BART_FLOAT_FIELDS,
    };
    if (this.generationConfig) out.generationConfig = this.generationConfig;
    return out;
  }
}
