/**
 * Hugging Face `config.json` translation for GPT-2 and BERT: HF field names and defaults to qkv
 * configs and back. Unknown fields are ignored; missing required ones are named in the error.
 */
import { QkvError } from "../util/errors.js";
import { showValue } from "../util/json.js";

/** A refusal of config.json, naming the file and (where there is one) the field. */
function configError(message: string, field?: string): QkvError {
  return new QkvError(
    message,
    field === undefined ? { file: "config.json" } : { file: "config.json", field },
  );
}

import type { BertConfig } from "./bert.js";
import type { GPTConfig } from "./gpt.js";

/** The largest size field accepted (the checkpoint then bounds the model far below it). */
const MAX_CONFIG_INT = 2 ** 31 - 1;

/** Reads typed fields from a config.json object, collecting the names of missing required ones. */
class ConfigReader {
  private readonly missing: string[] = [];

  constructor(
    private readonly json: Record<string, unknown>,
    private readonly what: string,
  ) {
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw configError(`${what}: config must be a JSON object, got ${json === null ? "null" : typeof json}`);
    }
  }

  private lookup(names: string[]): [string, unknown] | null {
    for (const n of names) if (this.json[n] !== undefined && this.json[n] !== null) return [n, this.json[n]];
    return null;
  }

  /** A required positive integer; `names` are aliases tried in order (e.g. n_positions, n_ctx). */
  int(...names: string[]): number {
    const hit = this.lookup(names);
    if (!hit) {
      this.missing.push(names.join(" (or ") + ")".repeat(names.length - 1));
      return 0;
    }
    const [n, v] = hit;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > MAX_CONFIG_INT) {
      throw configError(
        `${this.what}: config field "${n}" must be a positive integer up to 2^31 - 1, got ${showValue(v)}`,
        n,
      );
    }
    return v;
  }

  num(name: string, fallback: number): number {
    const v = this.json[name] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw configError(`${this.what}: config field "${name}" must be a number, got ${showValue(v)}`, name);
    }
    return v;
  }

  /** An optional positive integer. */
  posInt(name: string, fallback: number): number {
    const v = this.num(name, fallback);
    if (!Number.isInteger(v) || v <= 0 || v > MAX_CONFIG_INT)
      throw configError(
        `${this.what}: config field "${name}" must be a positive integer up to 2^31 - 1, got ${v}`,
        name,
      );
    return v;
  }

  /** A dropout probability: a number in [0, 1], or [0, 1) with `below1` (GPT's dropout). */
  prob(name: string, fallback: number, below1 = false): number {
    const v = this.num(name, fallback);
    if (v < 0 || v > 1 || (below1 && v === 1))
      throw configError(
        `${this.what}: config field "${name}" must be a probability in [0, 1${below1 ? ")" : "]"}, got ${v}`,
        name,
      );
    return v;
  }

  str(name: string, fallback: string): string {
    const v = this.json[name] ?? fallback;
    if (typeof v !== "string")
      throw configError(`${this.what}: config field "${name}" must be a string, got ${showValue(v)}`, name);
    return v;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.json[name] ?? fallback;
    if (typeof v !== "boolean")
      throw configError(`${this.what}: config field "${name}" must be a boolean, got ${showValue(v)}`, name);
    return v;
  }

  /** Throws naming every missing required field. */
  done(): void {
    if (this.missing.length > 0) {
      throw configError(
        `${this.what}: config.json is missing required field${this.missing.length > 1 ? "s" : ""} ${this.missing.join(", ")}`,
      );
    }
  }
}

function checkModelType(json: Record<string, unknown>, expected: string, what: string): void {
  const t = json.model_type;
  if (t !== undefined && t !== expected)
    throw configError(
      `${what}: config.json has model_type ${showValue(t)}, expected "${expected}"`,
      "model_type",
    );
}

/** GPT-2 activation names that all denote the tanh approximation of GELU. */
const GPT2_TANH_GELUS = new Set(["gelu_new", "gelu_pytorch_tanh", "gelu_fast"]);

/**
 * Translates a GPT-2 `config.json` (n_embd, n_layer, n_head, n_positions or n_ctx, vocab_size,
 * layer_norm_epsilon, resid_pdrop, activation_function) to a qkv {@link GPTConfig}. Unknown fields
 * are ignored; missing required ones are named in the error; settings qkv cannot reproduce
 * (another activation, n_inner ≠ 4·n_embd, unscaled attention, untied lm_head) throw.
 * @example gpt2ConfigFromHF({ vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 })
 */
export function gpt2ConfigFromHF(json: Record<string, unknown>): GPTConfig {
  const what = "GPT-2 config";
  const r = new ConfigReader(json, what);
  checkModelType(json, "gpt2", what);
  const config: GPTConfig = {
    vocabSize: r.int("vocab_size"),
    blockSize: r.int("n_positions", "n_ctx"),
    nLayer: r.int("n_layer"),
    nHead: r.int("n_head"),
    nEmbd: r.int("n_embd"),
    dropout: r.prob("resid_pdrop", 0.1, true),
    bias: json.qkv_bias !== false,
    layerNormEps: r.num("layer_norm_epsilon", 1e-5),
  };
  r.done();
  if (config.nEmbd % config.nHead !== 0)
    throw configError(
      `${what}: n_embd (${config.nEmbd}) must be divisible by n_head (${config.nHead})`,
      "n_head",
    );
  const act = r.str("activation_function", "gelu_new");
  if (!GPT2_TANH_GELUS.has(act))
    throw configError(
      `${what}: activation_function "${act}" is not supported (qkv's GPT uses the tanh GELU, "gelu_new")`,
    );
  const inner = json.n_inner;
  if (inner !== undefined && inner !== null && inner !== 4 * config.nEmbd) {
    throw configError(
      `${what}: n_inner ${showValue(inner)} is not supported (qkv's GPT MLP is 4·n_embd = ${4 * config.nEmbd})`,
      "n_inner",
    );
  }
  if (!r.bool("scale_attn_weights", true) || r.bool("scale_attn_by_inverse_layer_idx", false)) {
    throw configError(`${what}: only the standard 1/√head_dim attention scaling is supported`);
  }
  if (!r.bool("tie_word_embeddings", true))
    throw configError(`${what}: untied lm_head (tie_word_embeddings: false) is not supported`);
  if (r.bool("add_cross_attention", false))
    throw configError(`${what}: cross-attention GPT-2 is not supported`);
  return config;
}

/**
 * The `config.json` HF's GPT2LMHeadModel.save_pretrained would write for `config`. Fields of
 * `base` (a config read earlier, e.g. token ids) are kept unless qkv sets them.
 * @example gpt2ConfigToHF(model.config).n_embd // 768
 */
export function gpt2ConfigToHF(
  config: GPTConfig,
  dtype = "float32",
  base: Record<string, unknown> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    // GPT2Config defaults that HF writes out (kept from `base` when it has them).
    bos_token_id: 50256,
    eos_token_id: 50256,
    summary_activation: null,
    summary_first_dropout: 0.1,
    summary_proj_to_labels: true,
    summary_type: "cls_index",
    summary_use_proj: true,
    ...base,
    activation_function: "gelu_new",
    architectures: ["GPT2LMHeadModel"],
    attn_pdrop: config.dropout,
    embd_pdrop: config.dropout,
    initializer_range: base.initializer_range ?? 0.02,
    layer_norm_epsilon: config.layerNormEps ?? 1e-5,
    model_type: "gpt2",
    n_embd: config.nEmbd,
    n_head: config.nHead,
    n_inner: null,
    n_layer: config.nLayer,
    n_positions: config.blockSize,
    reorder_and_upcast_attn: false,
    resid_pdrop: config.dropout,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    torch_dtype: dtype,
    use_cache: true,
    vocab_size: config.vocabSize,
  };
  if ("n_ctx" in base) out.n_ctx = config.blockSize; // legacy alias, kept consistent
  // Biasless models are written with zero biases (HF's GPT-2 always has them); this marks them.
  if (config.bias) delete out.qkv_bias;
  else out.qkv_bias = false;
  return sortKeys(out);
}

/**
 * BERT activation names qkv supports, from HF's `hidden_act`.
 * @example const act: BertActivation = "gelu";
 */
export type BertActivation = "gelu" | "gelu_new" | "relu";

/**
 * Translates a BERT `config.json` to a qkv {@link BertConfig}. Unknown fields are ignored;
 * missing required ones (vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
 * intermediate_size, max_position_embeddings) are named in the error.
 * @example bertConfigFromHF(JSON.parse(text)).hiddenSize
 */
export function bertConfigFromHF(json: Record<string, unknown>): BertConfig {
  const what = "BERT config";
  const r = new ConfigReader(json, what);
  checkModelType(json, "bert", what);
  const config: BertConfig = {
    vocabSize: r.int("vocab_size"),
    hiddenSize: r.int("hidden_size"),
    numHiddenLayers: r.int("num_hidden_layers"),
    numAttentionHeads: r.int("num_attention_heads"),
    intermediateSize: r.int("intermediate_size"),
    hiddenAct: r.str("hidden_act", "gelu") as BertActivation,
    hiddenDropoutProb: r.prob("hidden_dropout_prob", 0.1),
    attentionProbsDropoutProb: r.prob("attention_probs_dropout_prob", 0.1),
    maxPositionEmbeddings: r.int("max_position_embeddings"),
    typeVocabSize: r.posInt("type_vocab_size", 2),
    layerNormEps: r.num("layer_norm_eps", 1e-12),
  };
  r.done();
  if (config.hiddenSize % config.numAttentionHeads !== 0)
    throw configError(
      `${what}: hidden_size (${config.hiddenSize}) must be divisible by num_attention_heads (${config.numAttentionHeads})`,
      "num_attention_heads",
    );
  if (!["gelu", "gelu_new", "relu"].includes(config.hiddenAct)) {
    throw configError(
      `${what}: hidden_act "${config.hiddenAct}" is not supported (use "gelu", "gelu_new" or "relu")`,
    );
  }
  const pos = r.str("position_embedding_type", "absolute");
  if (pos !== "absolute")
    throw configError(
      `${what}: position_embedding_type "${pos}" is not supported (only "absolute")`,
      "position_embedding_type",
    );
  if (json.classifier_dropout !== undefined && json.classifier_dropout !== null)
    config.classifierDropout = r.prob("classifier_dropout", 0.1);
  return config;
}

/**
 * The `config.json` HF's save_pretrained would write for a BERT model of class `architecture`
 * ("BertModel", "BertForMaskedLM" or "BertForSequenceClassification").
 * @example bertConfigToHF(model.config, "BertForMaskedLM").hidden_size
 */
export function bertConfigToHF(
  config: BertConfig,
  architecture: string,
  dtype = "float32",
  base: Record<string, unknown> = {},
): Record<string, unknown> {
  return sortKeys({
    pad_token_id: 0,
    ...base,
    architectures: [architecture],
    attention_probs_dropout_prob: config.attentionProbsDropoutProb,
    classifier_dropout: config.classifierDropout ?? null,
    hidden_act: config.hiddenAct,
    hidden_dropout_prob: config.hiddenDropoutProb,
    hidden_size: config.hiddenSize,
    initializer_range: base.initializer_range ?? 0.02,
    intermediate_size: config.intermediateSize,
    layer_norm_eps: config.layerNormEps,
    max_position_embeddings: config.maxPositionEmbeddings,
    model_type: "bert",
    num_attention_heads: config.numAttentionHeads,
    num_hidden_layers: config.numHiddenLayers,
    position_embedding_type: "absolute",
    torch_dtype: dtype,
    type_vocab_size: config.typeVocabSize,
    use_cache: true,
    vocab_size: config.vocabSize,
  });
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
