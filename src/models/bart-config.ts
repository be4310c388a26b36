/**
 * BART's configuration and its Hugging Face `config.json` translation (BartConfig's field names
 * and defaults, transformers 5). Unknown fields are ignored; settings qkv cannot reproduce (an
 * unknown activation, layer drop, untied embeddings) are refused by name. Generation settings
 * live in `generation_config.json` and are read by src/generate/hf-generate.ts.
 */
import { QkvError } from "../util/errors.js";

/**
 * Feed-forward activations of BART's `activation_function` that qkv runs.
 * @example const act: BartActivation = "gelu";
 */
export type BartActivation = "gelu" | "relu" | "gelu_new" | "gelu_pytorch_tanh" | "silu" | "swish" | "tanh";

const ACTIVATIONS = new Set<string>([
  "gelu",
  "relu",
  "gelu_new",
  "gelu_pytorch_tanh",
  "silu",
  "swish",
  "tanh",
]);

/**
 * A BART encoder-decoder's shape and token ids (BartConfig's fields, camel-cased). Defaults are
 * BartConfig's where it has them.
 * @example { vocabSize: 401, dModel: 64, encoderLayers: 2, decoderLayers: 2, encoderAttentionHeads: 4, decoderAttentionHeads: 4, encoderFfnDim: 128, decoderFfnDim: 128, maxPositionEmbeddings: 128 }
 */
export interface BartConfig {
  vocabSize: number;
  dModel: number;
  encoderLayers: number;
  decoderLayers: number;
  encoderAttentionHeads: number;
  decoderAttentionHeads: number;
  encoderFfnDim: number;
  decoderFfnDim: number;
  maxPositionEmbeddings: number;
  /** Default "gelu" (the exact, erf GELU). */
  activationFunction?: BartActivation;
  /** After the embeddings, each attention block and the feed-forward block (default 0.1). */
  dropout?: number;
  /** On the attention weights (default 0). */
  attentionDropout?: number;
  /** Inside the feed-forward block, after the activation (default 0). */
  activationDropout?: number;
  /** Token embeddings are multiplied by √dModel (default false). */
  scaleEmbedding?: boolean;
  /** Default 1. */
  padTokenId?: number;
  /** Default 0. */
  bosTokenId?: number;
  /** Default 2. */
  eosTokenId?: number;
  /** First decoder input, and what shiftTokensRight puts in front of the labels (default 2). */
  decoderStartTokenId?: number;
  /** Standard deviation of the initial weights (default 0.02). */
  initStd?: number;
}

function fail(field: string, msg: string): never {
  throw new QkvError(`BART config: ${msg}`, { file: "config.json", field });
}

/**
 * Translates a BART `config.json` to a {@link BartConfig}, naming missing or unsupported fields.
 * @example bartConfigFromHF(JSON.parse(readFileSync("bart/config.json", "utf8"))).dModel
 */
export function bartConfigFromHF(json: Record<string, unknown>): BartConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new QkvError("BART config: config.json must hold a JSON object", { file: "config.json" });
  if (json.model_type !== undefined && json.model_type !== "bart")
    fail("model_type", `model_type ${JSON.stringify(json.model_type)} is not "bart"`);
  const int = (name: string, fallback?: number, min = 1): number => {
    const v = json[name] ?? fallback;
    if (v === undefined) fail(name, `config.json is missing required field ${name}`);
    if (typeof v !== "number" || !Number.isInteger(v) || v < min)
      fail(name, `field "${name}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const num = (name: string, fallback: number): number => {
    const v = json[name] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
      fail(name, `field "${name}" must be a non-negative number, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const v = json[name] ?? fallback;
    if (typeof v !== "boolean") fail(name, `field "${name}" must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  };
  const act = json.activation_function ?? "gelu";
  if (typeof act !== "string" || !ACTIVATIONS.has(act))
    fail(
      "activation_function",
      `activation_function ${JSON.stringify(act)} is not supported (${[...ACTIVATIONS].join(", ")})`,
    );
  for (const f of ["encoder_layerdrop", "decoder_layerdrop"])
    if (num(f, 0) !== 0) fail(f, `${f} > 0 (LayerDrop) is not supported`);
  if (!bool("tie_word_embeddings", true)) fail("tie_word_embeddings", "untied lm_head is not supported");
  if (bool("normalize_before", false) || bool("add_final_layer_norm", false))
    fail("normalize_before", "pre-norm (mBART-style) layers are not part of BART");
  const eos = json.eos_token_id ?? 2;
  return {
    vocabSize: int("vocab_size", 50265),
    dModel: int("d_model", 1024),
    encoderLayers: int("encoder_layers", 12),
    decoderLayers: int("decoder_layers", 12),
    encoderAttentionHeads: int("encoder_attention_heads", 16),
    decoderAttentionHeads: int("decoder_attention_heads", 16),
    encoderFfnDim: int("encoder_ffn_dim", 4096),
    decoderFfnDim: int("decoder_ffn_dim", 4096),
    maxPositionEmbeddings: int("max_position_embeddings", 1024),
    activationFunction: act as BartActivation,
    dropout: num("dropout", 0.1),
    attentionDropout: num("attention_dropout", 0),
    activationDropout: num("activation_dropout", 0),
    scaleEmbedding: bool("scale_embedding", false),
    padTokenId: int("pad_token_id", 1, 0),
    bosTokenId: int("bos_token_id", 0, 0),
    eosTokenId: Array.isArray(eos) ? (eos[0] as number) : (eos as number),
    decoderStartTokenId: int("decoder_start_token_id", 2, 0),
    initStd: num("init_std", 0.02),
  };
}

/**
 * The `config.json` HF's BartForConditionalGeneration.save_pretrained writes for `config`;
 * fields of `base` (the config read earlier: label maps, forced_eos_token_id, …) are kept.
 * @example bartConfigToHF(model.config).d_model
 */
export function bartConfigToHF(
  c: BartConfig,
  dtype = "float32",
  base: Record<string, unknown> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    classifier_dropout: 0,
    forced_eos_token_id: 2,
    init_std: 0.02,
    is_encoder_decoder: true,
    use_cache: true,
    ...base,
    activation_dropout: c.activationDropout ?? 0,
    activation_function: c.activationFunction ?? "gelu",
    architectures: ["BartForConditionalGeneration"],
    attention_dropout: c.attentionDropout ?? 0,
    bos_token_id: c.bosTokenId ?? 0,
    d_model: c.dModel,
    decoder_attention_heads: c.decoderAttentionHeads,
    decoder_ffn_dim: c.decoderFfnDim,
    decoder_layerdrop: 0,
    decoder_layers: c.decoderLayers,
    decoder_start_token_id: c.decoderStartTokenId ?? 2,
    dropout: c.dropout ?? 0.1,
    dtype,
    encoder_attention_heads: c.encoderAttentionHeads,
    encoder_ffn_dim: c.encoderFfnDim,
    encoder_layerdrop: 0,
    encoder_layers: c.encoderLayers,
    eos_token_id: c.eosTokenId ?? 2,
    max_position_embeddings: c.maxPositionEmbeddings,
    model_type: "bart",
    pad_token_id: c.padTokenId ?? 1,
    scale_embedding: c.scaleEmbedding ?? false,
    tie_word_embeddings: true,
    vocab_size: c.vocabSize,
  };
  delete out.torch_dtype;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
