/**
 * Training configuration: defaults, presets, and validation that names the offending field.
 * The field names follow nanoGPT's train.py (camelCased) so its recipes carry over.
 */

import { QkvError } from "../util/errors.js";
import { showValue } from "../util/json.js";

/** The model families `qkv train` can train. */
export type ModelKind = "gpt" | "bert" | "seq2seq";
/** The tokenizers `qkv train` can build: one id per character, or a BPE trained on the data. */
export type TokenizerKind = "char" | "bpe";

/** Every setting of a training run, with nanoGPT's train.py names camelCased; see {@link DEFAULTS}. */
export interface TrainConfig {
  model: ModelKind;
  /** Text file or folder (gpt, bert), or a TSV file / "reverse" / "addition" (seq2seq). Empty = bundled Tiny Shakespeare. */
  data: string;
  /**
   * A pretrained Hugging Face folder to fine-tune instead of a fresh model (seq2seq: a BART
   * folder with its tokenizer.json). Empty = train from scratch.
   */
  initFrom: string;
  /**
   * What a bert run trains: "mlm" (masked-LM, the default) or "classify" (sequence
   * classification on a `text<TAB>label` TSV). Empty = the model's default; other models take none.
   */
  task: "" | "mlm" | "classify";
  /** Held-out TSV for --task classify; empty = a seeded 10% of the training rows. */
  valData: string;
  tokenizer: TokenizerKind;
  /** Target vocabulary size when training a BPE tokenizer. */
  vocabSize: number;
  outDir: string;
  // model
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  dropout: number;
  bias: boolean;
  // optimisation
  batchSize: number;
  gradAccum: number;
  maxIters: number;
  lr: number;
  minLr: number;
  warmupIters: number;
  lrDecayIters: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  gradClip: number;
  // evaluation and logging
  evalInterval: number;
  evalIters: number;
  logInterval: number;
  /** Write a checkpoint at every evaluation (else only when the val loss improves). */
  alwaysSaveCheckpoint: boolean;
  seed: number;
  // sampling at the end of training
  sampleTokens: number;
  temperature: number;
  topK: number;
}

/** nanoGPT's "baby GPT" for a CPU: character-level Shakespeare (config/train_shakespeare_char.py with its CPU overrides). */
const shakespeareChar: Partial<TrainConfig> = {
  model: "gpt",
  tokenizer: "char",
  nLayer: 4,
  nHead: 4,
  nEmbd: 128,
  blockSize: 64,
  batchSize: 12,
  gradAccum: 1,
  dropout: 0,
  bias: false,
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.99,
  warmupIters: 100,
  maxIters: 2000,
  lrDecayIters: 2000,
  minLr: 1e-4,
  weightDecay: 0.1,
  gradClip: 1,
  evalInterval: 250,
  evalIters: 200,
  logInterval: 10,
};

/** Named partial configurations (`--preset tiny`), applied over the defaults and under explicit settings. */
export const PRESETS: Record<string, Partial<TrainConfig>> = {
  "shakespeare-char": shakespeareChar,
  /** A few dozen iterations of a tiny GPT: for smoke tests and CI. */
  tiny: {
    ...shakespeareChar,
    nLayer: 2,
    nHead: 2,
    nEmbd: 32,
    blockSize: 32,
    batchSize: 8,
    maxIters: 40,
    lrDecayIters: 40,
    warmupIters: 5,
    evalInterval: 20,
    evalIters: 4,
    logInterval: 5,
    sampleTokens: 64,
  },
  /** Masked-LM pretraining of a small BERT on the same text. */
  "bert-small": {
    model: "bert",
    tokenizer: "char",
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    blockSize: 64,
    batchSize: 16,
    dropout: 0.1,
    bias: true,
    lr: 1e-3,
    beta2: 0.99,
    warmupIters: 100,
    maxIters: 2000,
    lrDecayIters: 2000,
    minLr: 1e-4,
    weightDecay: 0.01,
    evalInterval: 250,
    evalIters: 50,
  },
  /** Encoder-decoder on the built-in string-reversal task. */
  "seq2seq-reverse": {
    model: "seq2seq",
    data: "reverse",
    tokenizer: "char",
    nLayer: 2,
    nHead: 4,
    nEmbd: 64,
    blockSize: 16,
    batchSize: 32,
    dropout: 0,
    lr: 1e-3,
    beta2: 0.98,
    warmupIters: 100,
    maxIters: 1500,
    lrDecayIters: 1500,
    minLr: 1e-4,
    weightDecay: 0.01,
    evalInterval: 250,
    evalIters: 10,
  },
};

/** The value of every field when neither a preset nor the user sets it. */
export const DEFAULTS: TrainConfig = {
  model: "gpt",
  data: "",
  initFrom: "",
  task: "",
  valData: "",
  tokenizer: "char",
  vocabSize: 512,
  outDir: "runs/default",
  nLayer: 4,
  nHead: 4,
  nEmbd: 128,
  blockSize: 64,
  dropout: 0,
  bias: false,
  batchSize: 12,
  gradAccum: 1,
  maxIters: 2000,
  lr: 1e-3,
  minLr: 1e-4,
  warmupIters: 100,
  lrDecayIters: 2000,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  gradClip: 1,
  evalInterval: 250,
  evalIters: 200,
  logInterval: 10,
  alwaysSaveCheckpoint: true,
  seed: 1337,
  sampleTokens: 300,
  temperature: 0.8,
  topK: 200,
};

/** A configuration error; `field` is the config key (the CLI maps it to its flag). */
export class ConfigError extends QkvError {
  declare readonly field: string;
  constructor(field: string, message: string, file?: string) {
    super(message, { field, file });
    this.name = "ConfigError";
  }
}

const INT_FIELDS = [
  "vocabSize",
  "nLayer",
  "nHead",
  "nEmbd",
  "blockSize",
  "batchSize",
  "gradAccum",
  "maxIters",
  "warmupIters",
  "lrDecayIters",
  "evalInterval",
  "evalIters",
  "logInterval",
  "seed",
  "sampleTokens",
  "topK",
] as const;

/**
 * Upper bounds of the integer fields: far above any run qkv can do, low enough that no value
 * reaches an allocation or loop V8 cannot survive (a 2^53 batch size, 10^15 iterations). Memory
 * for the sizes that remain is checked by {@link estimateTrainingBytes}.
 */
export const INT_MAX: Record<(typeof INT_FIELDS)[number], number> = {
  vocabSize: 1 << 20,
  nLayer: 1024,
  nHead: 1024,
  nEmbd: 1 << 16,
  blockSize: 1 << 20,
  batchSize: 1 << 20,
  gradAccum: 1 << 20,
  maxIters: 1_000_000_000,
  warmupIters: 1_000_000_000,
  lrDecayIters: 1_000_000_000,
  evalInterval: 1_000_000_000,
  evalIters: 1_000_000,
  logInterval: 1_000_000_000,
  seed: 0xffffffff,
  sampleTokens: 1_000_000,
  topK: 1 << 20,
};

/**
 * A rough upper estimate of the bytes a training run holds at once: parameters with their
 * gradients and two AdamW moments (4 copies), plus one micro-batch's saved activations
 * (per layer about 16·C values per token for the MLP, attention and norms, plus nh·T attention
 * weights per token) and the logits with their gradient. Used to refuse, by field, a run that
 * cannot fit before anything is allocated.
 * @example estimateTrainingBytes(resolveConfig({ preset: "tiny" }), 65) // ≈ 2 MB
 */
export function estimateTrainingBytes(c: TrainConfig, vocab: number): number {
  const C = c.nEmbd;
  const T = c.blockSize;
  const params = vocab * C + T * C + c.nLayer * (12 * C * C + 13 * C) + 2 * C;
  const tokens = c.batchSize * T;
  const activations = tokens * c.nLayer * (16 * C + 2 * c.nHead * T) + tokens * vocab * 3;
  const bytesPer = 4;
  return (params * 4 + activations) * bytesPer;
}

/** The most elements one tensor of a training run may have (2^31: a 8 GiB float32 array). */
export const MAX_TENSOR_ELEMENTS = 2 ** 31;

/**
 * Throws a ConfigError naming the largest size field when a run's estimate exceeds
 * `budgetBytes` (the CLI passes a share of the machine's memory).
 * @example checkTrainingMemory(cfg, 65, os.totalmem() * 0.8)
 */
export function checkTrainingMemory(c: TrainConfig, vocab: number, budgetBytes: number, file?: string): void {
  // One typed array per tensor: V8 refuses (or fails to allocate) arrays past ~2^31 elements.
  const T = c.blockSize;
  const B = c.batchSize;
  const largest: [string, number][] = [
    ["batchSize", B * T * vocab], // logits (B, T, V)
    ["blockSize", B * c.nHead * T * T], // attention weights (B, nh, T, T)
    ["nEmbd", Math.max(B * T * 4 * c.nEmbd, vocab * c.nEmbd, c.nEmbd * 4 * c.nEmbd)],
  ];
  for (const [field, n] of largest) {
    if (n > MAX_TENSOR_ELEMENTS)
      throw new ConfigError(
        field,
        `one tensor of this run would hold ${n.toExponential(2)} values (batchSize ${B}, blockSize ${T}, nEmbd ${c.nEmbd}, vocabulary ${vocab}), more than the ${MAX_TENSOR_ELEMENTS.toExponential(2)} one array can; lower ${field}`,
        file,
      );
  }
  const need = estimateTrainingBytes(c, vocab);
  if (need <= budgetBytes) return;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  // Blame the field that grows the estimate most when doubled.
  const fields = ["batchSize", "blockSize", "nEmbd", "nLayer", "nHead"] as const;
  let worst: (typeof fields)[number] = "batchSize";
  let worstGrowth = 0;
  for (const f of fields) {
    const grown = estimateTrainingBytes({ ...c, [f]: c[f] * 2 }, vocab) - need;
    if (grown > worstGrowth) {
      worstGrowth = grown;
      worst = f;
    }
  }
  throw new ConfigError(
    worst,
    `this run needs about ${gib(need)} (${worst} ${c[worst]}, batchSize ${c.batchSize}, blockSize ${c.blockSize}, nEmbd ${c.nEmbd}, nLayer ${c.nLayer}), more than the ${gib(budgetBytes)} available; lower ${worst}`,
    file,
  );
}

/**
 * Builds a full configuration: defaults, then a preset, then `overrides` (e.g. a JSON file and
 * flags). Unknown keys and out-of-range values throw a ConfigError naming the field.
 * @example resolveConfig({ preset: "tiny", overrides: { maxIters: 10 } })
 */
export function resolveConfig(
  opts: { preset?: string; overrides?: Record<string, unknown>[] } = {},
): TrainConfig {
  const o = opts.overrides ?? [];
  if (o.some((x) => x === null || typeof x !== "object" || Array.isArray(x)))
    throw new ConfigError("config", "the configuration must be a JSON object");
  const cfg: Record<string, unknown> = { ...DEFAULTS };
  if (opts.preset !== undefined) {
    const p = Object.hasOwn(PRESETS, opts.preset) ? PRESETS[opts.preset] : undefined;
    if (!p)
      throw new ConfigError(
        "preset",
        `unknown preset "${opts.preset}"; choose one of: ${Object.keys(PRESETS).join(", ")}`,
      );
    Object.assign(cfg, p);
  }
  for (const o of opts.overrides ?? []) {
    for (const [k, v] of Object.entries(o)) {
      if (v === undefined) continue;
      // Own keys only: "constructor" or "__proto__" from a JSON file are unknown fields, not the prototype's.
      if (!Object.hasOwn(DEFAULTS, k)) throw new ConfigError(k, `unknown config field "${k}"`);
      cfg[k] = v;
    }
  }
  validate(cfg);
  return cfg as unknown as TrainConfig;
}

function validate(c: Record<string, unknown>): void {
  const num = (k: string): number => {
    const v = c[k];
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new ConfigError(k, `${k} must be a finite number, got ${showValue(v)}`);
    return v;
  };
  for (const k of INT_FIELDS) {
    const v = num(k);
    if (!Number.isInteger(v)) throw new ConfigError(k, `${k} must be an integer, got ${v}`);
    if (v < 0) throw new ConfigError(k, `${k} must be ≥ 0, got ${v}`);
    if (v > INT_MAX[k]) throw new ConfigError(k, `${k} must be ≤ ${INT_MAX[k]}, got ${v}`);
  }
  for (const k of [
    "nLayer",
    "nHead",
    "nEmbd",
    "blockSize",
    "batchSize",
    "gradAccum",
    "evalIters",
    "logInterval",
    "evalInterval",
  ]) {
    if (num(k) < 1) throw new ConfigError(k, `${k} must be ≥ 1, got ${c[k]}`);
  }
  for (const k of ["lr", "minLr", "weightDecay", "gradClip", "temperature"]) {
    if (num(k) < 0) throw new ConfigError(k, `${k} must be ≥ 0, got ${c[k]}`);
  }
  for (const k of ["beta1", "beta2", "dropout"]) {
    const v = num(k);
    if (v < 0 || v >= 1) throw new ConfigError(k, `${k} must be in [0, 1), got ${v}`);
  }
  if ((c.nEmbd as number) % (c.nHead as number) !== 0) {
    throw new ConfigError("nHead", `nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})`);
  }
  if (!["gpt", "bert", "seq2seq"].includes(c.model as string)) {
    throw new ConfigError("model", `model must be one of gpt, bert, seq2seq; got ${showValue(c.model)}`);
  }
  if (!["char", "bpe"].includes(c.tokenizer as string)) {
    throw new ConfigError("tokenizer", `tokenizer must be "char" or "bpe", got ${showValue(c.tokenizer)}`);
  }
  if (c.tokenizer === "bpe" && (c.vocabSize as number) < 257) {
    throw new ConfigError(
      "vocabSize",
      `vocabSize must be at least 257 for a byte-level BPE, got ${c.vocabSize}`,
    );
  }
  if (typeof c.data !== "string") throw new ConfigError("data", "data must be a string path");
  if (typeof c.initFrom !== "string") throw new ConfigError("initFrom", "initFrom must be a string path");
  if (typeof c.task !== "string" || !["", "mlm", "classify"].includes(c.task))
    throw new ConfigError("task", `task must be "mlm" or "classify", got ${showValue(c.task)}`);
  if (c.task !== "" && c.model !== "bert")
    throw new ConfigError(
      "task",
      `task ${JSON.stringify(c.task)} is for --model bert (mlm or classify); --model ${c.model} has one task and takes no --task`,
    );
  if (typeof c.valData !== "string") throw new ConfigError("valData", "valData must be a string path");
  if (c.valData !== "" && c.task !== "classify")
    throw new ConfigError("valData", "valData is for --model bert --task classify (a held-out TSV)");
  if (typeof c.outDir !== "string" || c.outDir === "")
    throw new ConfigError("outDir", "outDir must be a non-empty path");
  for (const k of ["bias", "alwaysSaveCheckpoint"]) {
    if (typeof c[k] !== "boolean")
      throw new ConfigError(k, `${k} must be true or false, got ${showValue(c[k])}`);
  }
}
