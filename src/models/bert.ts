/**
 * BERT (Devlin et al. 2019): a post-norm transformer encoder with word, position and
 * token-type embeddings, plus the masked-LM and sequence-classification heads. Module and
 * field names follow HF transformers' BertModel exactly, so state-dict keys are HF's keys.
 */
import { isGradEnabled } from "../autograd/graph.js";
import type { RawTensor } from "../io/safetensors.js";
import { GELU, ReLU, Tanh } from "../nn/activation.js";
import { ModuleList } from "../nn/container.js";
import { Dropout } from "../nn/dropout.js";
import { Embedding } from "../nn/embedding.js";
import { normal_, zeros_ } from "../nn/init.js";
import { LayerNorm } from "../nn/layer-norm.js";
import { Linear } from "../nn/linear.js";
import { Module, type Parameter } from "../nn/module.js";
import { fusedTransformerLayer, hasFusedTransformerLayer } from "../ops/fused-layer.js";
import { add, contiguous, reshape, scaledDotProductAttention, select, transpose } from "../ops/index.js";
import { arange, tensor, zeros } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import { defaultGenerator, type Generator } from "../util/rng.js";
import { shapeStr } from "../util/shape.js";
import { type BertConfig, type BertOptions, validateBertConfig } from "./bert-config.js";
import {
  folderLoadingIsNodeOnly,
  type HFCheckpoint,
  type HFLoadOptions,
  loadBertFamily,
  saveBertFamily,
} from "./hf.js";
import type { BertActivation } from "./hf-config.js";

export type { BertConfig, BertOptions } from "./bert-config.js";

/**
 * Per-call inputs besides the token ids.
 * @example bert.forward(ids, { tokenTypeIds, attentionMask, outputHiddenStates: true })
 */
export interface BertInputs {
  /** (B, T) int32 segment ids (default all 0). */
  tokenTypeIds?: Tensor | null;
  /** (B, T), 1 (or true) = attend, 0 = padding. */
  attentionMask?: Tensor | null;
  /** Also return the embeddings output and every layer's output (numHiddenLayers + 1 tensors). */
  outputHiddenStates?: boolean;
}

/**
 * Result of {@link Bert.forward}.
 * @example const { lastHiddenState, pooledOutput } = bert.forward(ids);
 */
export interface BertOutput {
  /** (B, T, H) */
  lastHiddenState: Tensor;
  /** (B, H): tanh(dense(first token)); null for a model built without the pooler. */
  pooledOutput: Tensor | null;
  hiddenStates?: Tensor[];
}

/** HF's additive padding mask value: the most negative float32, not −∞, so empty rows stay finite. */
const MASK_MIN = -3.4028234663852886e38;

/**
 * The module for an HF `hidden_act` name.
 * @example activation("gelu").forward(x)
 */
export function activation(name: BertActivation): GELU | ReLU {
  if (name === "gelu") return new GELU("none");
  if (name === "gelu_new") return new GELU("tanh");
  if (name === "relu") return new ReLU();
  throw new Error(`Bert: hidden_act "${name}" is not supported`);
}

/**
 * Sum of word, position and token-type embeddings, then LayerNorm and dropout.
 * @example const h = new BertEmbeddings(config).forward(ids, tokenTypeIds); // (B, T, H)
 */
export class BertEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(readonly config: BertConfig) {
    super();
    this.word_embeddings = new Embedding(config.vocabSize, config.hiddenSize);
    this.position_embeddings = new Embedding(config.maxPositionEmbeddings, config.hiddenSize);
    this.token_type_embeddings = new Embedding(config.typeVocabSize, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }

  /** ids, tokenTypeIds (B, T) int32 → (B, T, H). */
  forward(ids: Tensor, tokenTypeIds: Tensor): Tensor {
    const pos = arange(0, ids.shape[1], 1, { dtype: "int32" }); // (T)
    const x = add(
      add(this.word_embeddings.forward(ids), this.token_type_embeddings.forward(tokenTypeIds)),
      this.position_embeddings.forward(pos),
    );
    return this.dropout.forward(this.LayerNorm.forward(x));
  }
}

/**
 * The q/k/v projections of a BERT attention block (HF's BertSelfAttention).
 * @example const ctx = new BertSelfAttention(config).forward(x, null); // (B, T, H)
 */
export class BertSelfAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;
  dropout: Dropout;

  constructor(readonly config: BertConfig) {
    super();
    const H = config.hiddenSize;
    this.query = new Linear(H, H);
    this.key = new Linear(H, H);
    this.value = new Linear(H, H);
    this.dropout = new Dropout(config.attentionProbsDropoutProb);
  }

  /** x (B, T, H), mask (B, 1, 1, T) additive or null → context (B, T, H). */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const [B, T, H] = x.shape;
    const nh = this.config.numAttentionHeads;
    const heads = (t: Tensor) => transpose(reshape(t, [B, T, nh, H / nh]), 1, 2); // (B, nh, T, hs)
    const y = scaledDotProductAttention(
      heads(this.query.forward(x)),
      heads(this.key.forward(x)),
      heads(this.value.forward(x)),
      {
        attnMask: mask,
        dropoutP: this.dropout.training ? this.dropout.p : 0,
        generator: this.dropout.generator,
      },
    ); // (B, nh, T, hs)
    return reshape(contiguous(transpose(y, 1, 2)), [B, T, H]);
  }
}

/**
 * dense → dropout → LayerNorm(· + residual): the post-norm sub-layer output of BERT.
 * @example const y = new BertResidualOutput(config, config.hiddenSize).forward(ctx, x);
 */
export class BertResidualOutput extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(config: BertConfig, inFeatures: number) {
    super();
    this.dense = new Linear(inFeatures, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }
  /** LayerNorm(dropout(dense(x)) + residual). */
  forward(x: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.forward(add(this.dropout.forward(this.dense.forward(x)), residual));
  }
}

/**
 * Self-attention plus its output sub-layer (HF's BertAttention: `self`, `output`).
 * @example const y = new BertAttention(config).forward(x, mask); // (B, T, H)
 */
export class BertAttention extends Module {
  self: BertSelfAttention;
  output: BertResidualOutput;

  constructor(config: BertConfig) {
    super();
    this.self = new BertSelfAttention(config);
    this.output = new BertResidualOutput(config, config.hiddenSize);
  }
  /** Self-attention over `x` (B, T, H) with the additive `mask`, then the output sub-layer. */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    return this.output.forward(this.self.forward(x, mask), x);
  }
}

/**
 * The feed-forward expansion, dense → activation (HF's BertIntermediate).
 * @example const h = new BertIntermediate(config).forward(x); // (B, T, intermediateSize)
 */
export class BertIntermediate extends Module {
  dense: Linear;
  intermediate_act_fn: GELU | ReLU;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.intermediateSize);
    this.intermediate_act_fn = activation(config.hiddenAct);
  }
  /** dense → activation: (B, T, H) → (B, T, intermediateSize). */
  forward(x: Tensor): Tensor {
    return this.intermediate_act_fn.forward(this.dense.forward(x));
  }
}

/**
 * One encoder layer: attention, intermediate, output (each sub-layer post-norm).
 * @example const y = new BertLayer(config).forward(x, mask); // (B, T, H)
 */
export class BertLayer extends Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertResidualOutput;

  constructor(config: BertConfig) {
    super();
    this.attention = new BertAttention(config);
    this.intermediate = new BertIntermediate(config);
    this.output = new BertResidualOutput(config, config.intermediateSize);
  }
  /** One post-norm encoder layer over `x` (B, T, H) with the additive `mask`. */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    if (this.canFuse(x)) return this.fused(x, mask);
    const a = this.attention.forward(x, mask);
    return this.output.forward(this.intermediate.forward(a), a);
  }

  /** Inference (no graph, no dropout drawn) runs as one fused kernel where the backend has one. */
  private canFuse(x: Tensor): boolean {
    if (isGradEnabled() || !hasFusedTransformerLayer(x.dtype) || x.ndim !== 3) return false;
    const c = this.attention.self.config;
    return !(this.training && c.attentionProbsDropoutProb + c.hiddenDropoutProb > 0);
  }

  /** forward(x, mask) as a single post-norm fused layer call; the composed forward is its reference. */
  private fused(x: Tensor, mask: Tensor | null): Tensor {
    const { self, output: sub } = this.attention;
    const act = this.intermediate.intermediate_act_fn;
    const qkv = { q: self.query, k: self.key, v: self.value };
    const [fc, proj, norm3] = [this.intermediate.dense, this.output.dense, this.output.LayerNorm];
    return fusedTransformerLayer(
      x,
      { qkv, attnOut: sub.dense, norm1: sub.LayerNorm, fc, proj, norm3 },
      {
        nHead: self.config.numAttentionHeads,
        normFirst: false,
        activation: act instanceof ReLU ? "relu" : act.approximate === "tanh" ? "geluTanh" : "gelu",
        eps: sub.LayerNorm.eps,
        mask,
      },
    );
  }
}

/**
 * The stack of encoder layers (HF's BertEncoder, holding `layer`).
 * @example for (const layer of new BertEncoder(config).layer) x = layer.forward(x, mask);
 */
export class BertEncoder extends Module {
  layer: ModuleList<BertLayer>;

  constructor(config: BertConfig) {
    super();
    this.layer = new ModuleList(Array.from({ length: config.numHiddenLayers }, () => new BertLayer(config)));
  }
}

/**
 * tanh(dense(h[:, 0])): the [CLS] summary used for classification.
 * @example const pooled = new BertPooler(config).forward(h); // (B, H)
 */
export class BertPooler extends Module {
  dense: Linear;
  activation: Tanh;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
    this.activation = new Tanh();
  }
  /** tanh(dense(h[:, 0])): the [CLS] states (B, T, H) → (B, H). */
  forward(h: Tensor): Tensor {
    return this.activation.forward(this.dense.forward(select(h, 1, 0))); // (B, H)
  }
}

/**
 * HF's BERT init under `root`: N(0, 0.02) for Linear and Embedding weights, zero biases (LayerNorm
 * stays 1/0), skipping the tied `skip` weight.
 * @example initBert(classifier, new Generator(0));
 */
export function initBert(root: Module, g: Generator, skip?: Parameter): void {
  for (const m of root.modules()) {
    if (m instanceof Linear && m.weight !== skip) {
      normal_(m.weight, 0, 0.02, g);
      if (m.bias) zeros_(m.bias);
    } else if (m instanceof Embedding) {
      normal_(m.weight, 0, 0.02, g);
    }
  }
}

function checkIds(what: string, t: Tensor, n: number, name: string, shape?: readonly number[]): void {
  if (t.dtype !== "int32" || t.ndim !== 2 || (shape && !t.hasShape(shape))) {
    throw new Error(
      `${what}: ${name} must be a ${shape ? `(${shape.join(", ")})` : "(B, T)"} int32 tensor, got ${t.dtype} of shape ${shapeStr(t.shape)}`,
    );
  }
  const d = t.toArray();
  const T = t.shape[1];
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0 || d[i] >= n)
      throw new Error(
        `${what}: ${name} ${d[i]} at (${Math.floor(i / T)}, ${i % T}) is out of range [0, ${n})`,
      );
  }
}

/**
 * The bare BERT encoder (HF's BertModel).
 * @example
 * const bert = await fromPretrained(Bert, "checkpoints/bert-base-uncased"); // fromPretrained: qkv/node
 * const { lastHiddenState, pooledOutput } = bert.forward(ids, { attentionMask }); // (B, T, H), (B, H)
 */
export class Bert extends Module {
  readonly config: BertConfig;
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;
  /** The config.json this model was loaded from (kept so toHF preserves its extra fields). */
  hfConfig: Record<string, unknown> | null = null;

  constructor(config: BertConfig, opts: BertOptions = {}) {
    super();
    validateBertConfig(config);
    this.config = { ...config };
    this.embeddings = new BertEmbeddings(config);
    this.encoder = new BertEncoder(config);
    this.pooler = (opts.addPoolingLayer ?? true) ? new BertPooler(config) : null;
    initBert(this, opts.generator ?? defaultGenerator);
  }

  /** inputIds (B, T) int32 → hidden states (B, T, H) and the pooled [CLS] vector (B, H). */
  forward(inputIds: Tensor, inputs: BertInputs = {}): BertOutput {
    const what = "Bert.forward";
    const c = this.config;
    checkIds(what, inputIds, c.vocabSize, "input id");
    const [B, T] = inputIds.shape;
    if (T > c.maxPositionEmbeddings)
      throw new Error(
        `${what}: sequence length ${T} exceeds maxPositionEmbeddings ${c.maxPositionEmbeddings}`,
      );
    const types = inputs.tokenTypeIds ?? zeros([B, T], { dtype: "int32" });
    checkIds(what, types, c.typeVocabSize, "token type id", [B, T]);
    const mask = inputs.attentionMask ? this.extendedMask(inputs.attentionMask, B, T) : null; // (B, 1, 1, T)
    let x = this.embeddings.forward(inputIds, types); // (B, T, H)
    const hiddenStates = [x];
    for (const layer of this.encoder.layer) {
      x = layer.forward(x, mask);
      hiddenStates.push(x);
    }
    const out: BertOutput = { lastHiddenState: x, pooledOutput: this.pooler ? this.pooler.forward(x) : null };
    if (inputs.outputHiddenStates) out.hiddenStates = hiddenStates;
    return out;
  }

  /** attention mask (B, T) with 1 = attend → additive (B, 1, 1, T): 0 or the float32 minimum. */
  private extendedMask(m: Tensor, B: number, T: number): Tensor {
    if (!m.hasShape([B, T]))
      throw new Error(`Bert.forward: attentionMask must have shape (${B}, ${T}), got ${shapeStr(m.shape)}`);
    const src = m.toArray();
    const dtype = this.embeddings.word_embeddings.weight.dtype === "float64" ? "float64" : "float32";
    const vals = dtype === "float64" ? new Float64Array(B * T) : new Float32Array(B * T);
    for (let i = 0; i < vals.length; i++) vals[i] = (1 - Number(src[i])) * MASK_MIN;
    return tensor(vals, { shape: [B, 1, 1, T] });
  }

  /**
   * Node-only: throws, naming `fromPretrained(Bert, dir)` from "qkv/node" and, for a browser,
   * `loadPretrained(Bert, files)` from "qkv". Models load from memory with `fromHF`.
   * @example const model = await fromPretrained(Bert, "checkpoints/x"); // import { fromPretrained } from "qkv/node"
   */
  static fromPretrained(..._args: unknown[]): never {
    return folderLoadingIsNodeOnly("Bert");
  }

  /** Builds a Bert (HF BertModel) from config.json and safetensors tensors (browser-safe); eval mode. */
  static fromHF(
    configJson: Record<string, unknown>,
    tensors: Map<string, RawTensor>,
    opts: HFLoadOptions = {},
  ): Bert {
    return loadBertFamily("base", configJson, tensors, opts, (config) => new Bert(config));
  }

  /** The checkpoint HF's BertModel.save_pretrained would write. */
  toHF(): HFCheckpoint {
    return saveBertFamily(this, "base", "BertModel", this.hfConfig);
  }
}
