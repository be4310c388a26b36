/**
 * Hugging Face compatibility for weights: mapping `model.safetensors` key names and layouts
 * between HF transformers checkpoints and qkv modules (config.json fields are translated in
 * ./hf-config.ts). Browser-safe: models load from and export to an in-memory HFCheckpoint
 * (io/hf-checkpoint.ts); folders are read and written by `qkv/node` (io/node-pretrained.ts).
 */
import { withNoGrad } from "../autograd/graph.js";
import type { HFCheckpoint } from "../io/hf-checkpoint.js";
import type { RawTensor, RawTensorSource } from "../io/safetensors.js";
import { withoutInit } from "../nn/init.js";
import { type Module, Parameter } from "../nn/module.js";
import { contiguous, copy_, transpose } from "../ops/index.js";
import { isHookedStorage, ShapeBudgetExceeded, withShapeOnlyStorage } from "../tensor/pool.js";
import { Tensor } from "../tensor/tensor.js";
import { QkvError } from "../util/errors.js";
import { sameShape, shapeStr } from "../util/shape.js";
import type { Bert, BertConfig } from "./bert.js";
import type { GPTConfig } from "./gpt.js";
import { bertConfigFromHF, bertConfigToHF } from "./hf-config.js";

export type { HFCheckpoint } from "../io/hf-checkpoint.js";

/**
 * Options shared by the models' `fromHF` loaders (and `fromPretrained` from `qkv/node`).
 * @example GPT.fromHF(config, tensors, { strict: false, warn: () => {} })
 */
export interface HFLoadOptions {
  /**
   * Throw on checkpoint tensors the model has no place for (default true). Known leftovers
   * (attention-mask buffers, `position_ids`, the heads of other model classes) never count.
   */
  strict?: boolean;
  /** Receives notes such as "classifier.weight was not in the checkpoint" (default console.warn). */
  warn?: (message: string) => void;
}

/**
 * What a model's static `fromPretrained(dir)` does: refuse, naming the two APIs that load a folder.
 * Reading a folder needs Node.js, so the main entry has no folder I/O; in Node `qkv/node` does it,
 * in a page `loadPretrained` takes the files' bytes.
 * @example GPT.fromPretrained("gpt2"); // throws: … use fromPretrained(GPT, dir) from "qkv/node" …
 */
export function folderLoadingIsNodeOnly(cls: string): never {
  throw new QkvError(
    `${cls}.fromPretrained(dir) reads a folder, which is Node-only: in Node use fromPretrained(${cls}, dir) ` +
      `from "qkv/node"; in a browser use loadPretrained(${cls}, files) from "qkv" with the files' bytes ` +
      "(fetched, dropped or picked)",
  );
}

// ---- tensors -----------------------------------------------------------------------------------

/** A tensor over a RawTensor's data (no copy). @example rawToTensor(tensors.get("wte.weight")!) */
export function rawToTensor(raw: RawTensor): Tensor {
  return new Tensor(raw.data, raw.shape);
}

/** A RawTensor holding a fresh row-major copy of `t`. @example tensorToRaw(model.wte.weight) */
export function tensorToRaw(t: Tensor): RawTensor {
  if (t.dtype === "bool") throw new Error("tensorToRaw: bool tensors cannot be stored");
  const data = t.toArray() as RawTensor["data"];
  return { dtype: t.dtype, shape: [...t.shape], data };
}

/**
 * How a model's state-dict names relate to an HF checkpoint's keys. Keys reaching `toModel`
 * have had legacy LayerNorm names (`gamma`, `beta`) renamed to `weight`, `bias`.
 * @example gpt2KeyMap().toModel("transformer.h.0.attn.c_attn.weight") // "h.0.attn.c_attn.weight"
 */
export interface HFKeyMap {
  /** The model key for a checkpoint key, or null for a tensor to skip silently. */
  toModel(hfKey: string): string | null;
  /** The checkpoint key written for a model key. */
  toHF(key: string): string;
  /** Model keys stored transposed in the checkpoint (GPT-2's Conv1D keeps weights as (in, out)). */
  transposed(key: string): boolean;
  /** Model keys that alias another parameter (tied weights): neither read nor written. */
  tied: ReadonlySet<string>;
  /** Model keys that may be absent; they keep their fresh initialisation, with a warning. */
  optional?(key: string): boolean;
}

function legacyName(k: string): string {
  return k.replace(/\.gamma$/, ".weight").replace(/\.beta$/, ".bias");
}

function listNames(names: string[], max = 8): string {
  return names.length <= max
    ? names.join(", ")
    : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

/**
 * What {@link planHFWeights} found: checkpoint tensors by model key, and the model keys the
 * checkpoint lacks (tied aliases excluded).
 */
export interface HFWeightPlan {
  found: Map<string, [hfKey: string, raw: RawTensor]>;
  missing: string[];
}

/**
 * Matches checkpoint `tensors` to the model keys and shapes in `own` through `map`, using only
 * each tensor's name and shape (never its data, so lazily read tensors stay unread). Throws
 * naming duplicate, missing and (when strict) unexpected keys and shape mismatches.
 * @example const { missing } = planHFWeights(model.stateDict(), tensors, gpt2KeyMap());
 */
export function planHFWeights(
  own: Record<string, { readonly shape: readonly number[] }>,
  tensors: Map<string, RawTensor>,
  map: HFKeyMap,
  opts: HFLoadOptions & { what?: string } = {},
): HFWeightPlan {
  const what = opts.what ?? "checkpoint";
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const found = new Map<string, [string, RawTensor]>();
  const unexpected: string[] = [];
  for (const [hfKey, raw] of tensors) {
    const key = map.toModel(legacyName(hfKey));
    if (key === null || map.tied.has(key)) continue;
    if (!Object.hasOwn(own, key)) {
      // own names only: never Object.prototype's "constructor"
      unexpected.push(hfKey);
      continue;
    }
    const prev = found.get(key);
    if (prev)
      throw new QkvError(`${what}: checkpoint keys "${prev[0]}" and "${hfKey}" both map to ${key}`, {
        field: hfKey,
      });
    let shape: readonly number[] = raw.shape;
    if (map.transposed(key)) {
      if (shape.length !== 2)
        throw new QkvError(`${what}: ${hfKey} should be 2-D, got shape ${shapeStr(shape)}`, { field: hfKey });
      shape = [shape[1], shape[0]];
    }
    const target = own[key];
    if (!sameShape(shape, target.shape)) {
      const note = map.transposed(key) ? " (after transposing HF's Conv1D (in, out) layout)" : "";
      throw new QkvError(
        `${what}: ${hfKey} has shape ${shapeStr(shape)}${note} but the model's ${key} has ${shapeStr(target.shape)}`,
        { field: hfKey },
      );
    }
    found.set(key, [hfKey, raw]);
  }
  const missing = Object.keys(own).filter((k) => !found.has(k) && !map.tied.has(k));
  const required = missing.filter((k) => !map.optional?.(k));
  if (required.length > 0)
    throw new QkvError(
      `${what}: checkpoint is missing ${required.length} tensor(s): ${listNames(required)}`,
      {
        field: required[0],
      },
    );
  if (unexpected.length > 0) {
    const msg = `${what}: checkpoint has ${unexpected.length} tensor(s) the model does not use: ${listNames(unexpected)}`;
    if (opts.strict ?? true)
      throw new QkvError(`${msg} (pass strict: false to ignore them)`, { field: unexpected[0] });
    warn(msg);
  }
  return { found, missing };
}

/**
 * A checkpoint tensor as the model's tensor over the same data: as is, or (a 2-D (rows, cols)
 * tensor stored transposed) its transpose as a view, shape (cols, rows) with strides (1, cols).
 */
function asModelTensor(raw: RawTensor, transposed: boolean): Tensor {
  if (!transposed) return rawToTensor(raw);
  const [rows, cols] = raw.shape;
  return new Tensor(raw.data, [cols, rows], [1, cols], 0);
}

/**
 * Copies checkpoint `tensors` into `model` through `map`, transposing Conv1D weights (or, read
 * from a file, viewing them transposed: (out, in) with strides (1, out), no copy). Throws
 * naming missing keys, unexpected keys (when strict) and shape mismatches; nothing is written
 * (and no tensor's data is read) unless every check passes. Lazily read tensors (a file's, see
 * {@link RawTensorSource}) are then read together and become the parameters' storage (no copy,
 * no per-tensor allocation), except into a backend's own storage (the wasm heap) or another
 * dtype; tensors given in memory are copied, as their caller may still hold them.
 * @example loadHFWeights(model, tensors, gpt2KeyMap(), { what: "gpt2" })
 */
export function loadHFWeights(
  model: Module,
  tensors: Map<string, RawTensor>,
  map: HFKeyMap,
  opts: HFLoadOptions & { what?: string } = {},
): void {
  const what = opts.what ?? "checkpoint";
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const own = model.stateDict();
  const { found, missing } = planHFWeights(own, tensors, map, opts);
  if (missing.length > 0) warn(`${what}: newly initialised (not in the checkpoint): ${listNames(missing)}`);
  // Tensors of a lazily read file are read together into one buffer of their own (transposed as
  // they are read where the key map says so) and become the parameters' storage: no copy. Not
  // for storage a backend keeps in its own memory (the wasm heap), nor a dtype the model does
  // not have; those, and tensors given in memory (which the caller may still hold), are copied.
  const adopt = (key: string, raw: RawTensor): boolean =>
    raw.dtype === own[key].dtype && !isHookedStorage(own[key].data) && own[key].isContiguous();
  const bySource = new Map<RawTensorSource, string[]>();
  for (const [key, [, raw]] of found) {
    if (!raw.source || !adopt(key, raw)) continue;
    const keys = bySource.get(raw.source);
    if (keys) keys.push(key);
    else bySource.set(raw.source, [key]);
  }
  // Transposed ones (GPT-2's Conv1D (in, out) weights) come as stored and become transposed
  // views, (out, in) with strides (1, out): no transpose pass at load; `linear` reads such a
  // weight transposed, its gradient comes in the same layout, and the optimizers update it in
  // place in its storage order (see optim/optimizer.ts paramData).
  const assigned = new Map<Tensor, Tensor>();
  const read = new Map<string, RawTensor>();
  for (const [source, keys] of bySource) {
    const got = source.readTogether(
      keys.map((k) => (found.get(k) as [string, RawTensor])[1]),
      keys.map((k) => map.transposed(k)),
      { transposedAsStored: true },
    );
    keys.forEach((k, i) => {
      const raw = got[i];
      if (raw.owned && adopt(k, raw)) assigned.set(own[k], asModelTensor(raw, map.transposed(k)));
      else read.set(k, raw); // copied below like any other
    });
  }
  withNoGrad(() => {
    for (const [key, [, raw]] of found) {
      if (assigned.has(own[key])) continue;
      copy_(own[key], asModelTensor(read.get(key) ?? raw, map.transposed(key)));
    }
  });
  model.assignTensors(assigned);
}

/**
 * Builds a model for a checkpoint the way `from_pretrained` does, checking before allocating:
 * 1. `build` runs with shape-only storage and no init, giving the parameter names and shapes;
 *    the checkpoint is checked against them from its tensors' names and shapes alone (a lazily
 *    read file is still unread), so a mismatch costs no parameter memory;
 * 2. `build` runs for real, without random init (unless an optional tensor is missing and must
 *    keep a fresh one), and {@link loadHFWeights} fills it.
 * `mapOf` gives the key map for a built model (BERT's depends on whether it has a pooler).
 * @example const model = buildFromHF(() => new GPT(config), tensors, () => gpt2KeyMap(), { what: "GPT-2" });
 */
export function buildFromHF<M extends Module>(
  build: () => M,
  tensors: Map<string, RawTensor>,
  mapOf: (model: M) => HFKeyMap,
  opts: HFLoadOptions & { what?: string } = {},
): M {
  // The model may not need more than the checkpoint holds (a little slack for fresh optional
  // heads and buffers): a config asking for 50,000 layers or 10M positions is refused while
  // building, before it costs objects or memory.
  let nTensors = 0;
  let nElements = 0;
  for (const t of tensors.values()) {
    nTensors++;
    nElements += t.shape.reduce((a, b) => a * b, 1);
  }
  const what = opts.what ?? "checkpoint";
  let shapes: M;
  try {
    shapes = withShapeOnlyStorage(() => withoutInit(build), {
      maxTensors: 2 * nTensors + 16,
      maxElements: 2 * nElements + 2 ** 20,
    });
  } catch (e) {
    if (!(e instanceof ShapeBudgetExceeded)) throw e;
    throw new QkvError(
      `${what}: config.json describes a model bigger than the checkpoint (more than ${e.tensors} tensors or ${e.elements} values; the checkpoint has ${nTensors} tensors of ${nElements} values)`,
      { file: "config.json" },
    );
  }
  const { missing } = planHFWeights(shapes.stateDict(), tensors, mapOf(shapes), { ...opts, warn: () => {} });
  // Only a missing parameter needs the random init; a missing buffer keeps what its module made.
  const fresh = shapes.stateDict();
  const model = missing.some((k) => fresh[k] instanceof Parameter) ? build() : withoutInit(build);
  loadHFWeights(model, tensors, mapOf(model), opts);
  return model;
}

/**
 * The model's tensors under checkpoint names and layout (tied aliases omitted, Conv1D weights
 * transposed to (in, out)), ready for `serializeSafetensors`.
 * @example const tensors = exportHFWeights(model, gpt2KeyMap());
 */
export function exportHFWeights(model: Module, map: HFKeyMap): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [key, t] of Object.entries(model.stateDict())) {
    if (map.tied.has(key)) continue;
    out.set(map.toHF(key), tensorToRaw(map.transposed(key) ? contiguous(transpose(t, 0, 1)) : t));
  }
  return out;
}

// ---- key maps ----------------------------------------------------------------------------------

const CONV1D = /\.(c_attn|c_proj|c_fc)\.weight$/;

/**
 * GPT-2 (GPT2LMHeadModel / GPT2Model) keys ↔ qkv GPT: HF's `transformer.` prefix (optional on
 * load), Conv1D orientation, skipped `attn.bias` / `attn.masked_bias` buffers, tied lm_head.
 * @example loadHFWeights(gpt, tensors, gpt2KeyMap())
 */
export function gpt2KeyMap(): HFKeyMap {
  return {
    toModel(k) {
      if (k === "lm_head.weight") return null; // tied to wte
      const s = k.startsWith("transformer.") ? k.slice("transformer.".length) : k;
      if (/^h\.\d+\.attn\.(bias|masked_bias)$/.test(s)) return null; // causal-mask buffers
      return s;
    },
    toHF: (k) => `transformer.${k}`,
    transposed: (k) => CONV1D.test(k),
    tied: new Set(["lm_head.weight"]),
  };
}

/**
 * Which BERT class a key map is for.
 * @example bertKeyMap("masked-lm", false)
 */
export type BertKind = "base" | "masked-lm" | "sequence-classification";

const BERT_BASE = /^(embeddings|encoder|pooler)\./;
const BERT_BUFFERS = new Set(["embeddings.position_ids", "embeddings.token_type_ids"]);

/**
 * BERT keys ↔ qkv Bert / BertForMaskedLM / BertForSequenceClassification: the `bert.` prefix
 * (present in head-model checkpoints, absent in BertModel ones, accepted either way), legacy
 * gamma/beta, skipped buffers, the decoder tied to the word embeddings, and the heads of other
 * BERT classes ignored; a missing pooler or classifier stays freshly initialised, as in HF.
 * Names otherwise match HF's exactly.
 * @example loadHFWeights(mlm, tensors, bertKeyMap("masked-lm", false))
 */
export function bertKeyMap(kind: BertKind, hasPooler: boolean): HFKeyMap {
  const prefix = kind === "base" ? "" : "bert.";
  const tied = new Set(kind === "masked-lm" ? ["cls.predictions.decoder.weight"] : []);
  return {
    toModel(k) {
      const base = k.startsWith("bert.") ? k.slice(5) : BERT_BASE.test(k) ? k : null;
      if (base !== null) {
        if (BERT_BUFFERS.has(base)) return null;
        if (!hasPooler && base.startsWith("pooler.")) return null; // e.g. a BertForMaskedLM has none
        return prefix + base;
      }
      if (kind === "masked-lm") {
        if (k === "cls.predictions.decoder.weight") return null; // tied to the word embeddings
        // Older checkpoints store the output bias (also) as decoder.bias, an alias of predictions.bias.
        if (k === "cls.predictions.decoder.bias") return null;
        if (k.startsWith("cls.seq_relationship.")) return null; // BertForPreTraining's NSP head
        return k;
      }
      if (k.startsWith("cls.")) return null; // pre-training heads are not part of this model
      return kind === "sequence-classification" ? k : k.startsWith("classifier.") ? null : k;
    },
    toHF: (k) => k,
    transposed: () => false,
    tied,
    // Like HF, a pooler or classifier absent from the checkpoint is freshly initialised (with a warning).
    optional: (k) => k.startsWith("classifier.") || k.startsWith(`${prefix}pooler.`),
  };
}

const GPT2_BIAS =
  /^(transformer\.)?(h\.\d+\.(ln_1|ln_2|attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)|ln_f)\.bias$/;

/**
 * For biasless models: drops the all-zero biases a checkpoint carries for HF's sake.
 * @example const weights = dropZeroBiases(tensors);
 */
export function dropZeroBiases(tensors: Map<string, RawTensor>): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [k, t] of tensors) {
    if (GPT2_BIAS.test(k)) {
      if (t.data.some((v) => v !== 0))
        throw new Error(`GPT-2 checkpoint: config says qkv_bias false but ${k} is not all zeros`);
      continue;
    }
    out.set(k, t);
  }
  return out;
}

/**
 * Adds the zero biases HF's GPT-2 expects to a biasless model's export.
 * @example addZeroBiases(tensors, model.config, "float32");
 */
export function addZeroBiases(
  tensors: Map<string, RawTensor>,
  config: GPTConfig,
  dtype: Tensor["dtype"],
): void {
  const { nLayer, nEmbd: C } = config;
  const zeros = (n: number): RawTensor =>
    dtype === "float64"
      ? { dtype, shape: [n], data: new Float64Array(n) }
      : { dtype: "float32", shape: [n], data: new Float32Array(n) };
  const sizes: [string, number][] = [
    ["ln_1", C],
    ["ln_2", C],
    ["attn.c_attn", 3 * C],
    ["attn.c_proj", C],
    ["mlp.c_fc", 4 * C],
    ["mlp.c_proj", C],
  ];
  for (let i = 0; i < nLayer; i++)
    for (const [m, n] of sizes) tensors.set(`transformer.h.${i}.${m}.bias`, zeros(n));
  tensors.set("transformer.ln_f.bias", zeros(C));
}

// ---- BERT family load/save -------------------------------------------------------------------

/**
 * A BERT-family model (Bert or one with a `bert` encoder) as the HF helpers below see it.
 * @example const m: BertFamily = BertForMaskedLM.fromHF(config, tensors);
 */
export interface BertFamily extends Module {
  readonly config: BertConfig;
  hfConfig: Record<string, unknown> | null;
}

function encoderOf(m: BertFamily): Bert {
  return "bert" in m ? (m as unknown as { bert: Bert }).bert : (m as unknown as Bert);
}

/**
 * Shared loader of the BERT classes: config translation, weights through {@link bertKeyMap},
 * eval mode. Used by the `fromHF` statics.
 * @example loadBertFamily("base", configJson, tensors, {}, (c) => new Bert(c))
 */
export function loadBertFamily<M extends BertFamily>(
  kind: BertKind,
  configJson: Record<string, unknown>,
  tensors: Map<string, RawTensor>,
  opts: HFLoadOptions,
  build: (config: BertConfig) => M,
): M {
  const config = bertConfigFromHF(configJson);
  const model = buildFromHF(
    () => build(config),
    tensors,
    (m) => bertKeyMap(kind, encoderOf(m).pooler !== null),
    { ...opts, what: "BERT checkpoint" },
  );
  model.hfConfig = { ...configJson };
  model.eval();
  return model;
}

/**
 * Shared exporter of the BERT classes: what HF's save_pretrained writes for class `arch`.
 * @example saveBertFamily(model, "base", "BertModel", model.hfConfig)
 */
export function saveBertFamily(
  model: BertFamily,
  kind: BertKind,
  arch: string,
  base: Record<string, unknown> | null,
): HFCheckpoint {
  const enc = encoderOf(model);
  const dtype = enc.embeddings.word_embeddings.weight.dtype;
  return {
    config: bertConfigToHF(model.config, arch, dtype, base ?? {}),
    tensors: exportHFWeights(model, bertKeyMap(kind, enc.pooler !== null)),
  };
}
