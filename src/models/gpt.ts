/**
 * GPT: a decoder-only transformer with GPT-2's architecture (Radford et al. 2019), laid out
 * like nanoGPT and named like HF's GPT-2 checkpoints so state dicts map one to one: pre-norm
 * blocks, learned positions, a packed q/k/v projection, the tanh GELU, and an output head tied
 * to the token embedding.
 */
import { isGradEnabled } from "../autograd/graph.js";
import type { RawTensor } from "../io/safetensors.js";
import { GELU } from "../nn/activation.js";
import { causalSelfAttention } from "../nn/causal-attention.js";
import { ModuleList } from "../nn/container.js";
import { Dropout } from "../nn/dropout.js";
import { Embedding } from "../nn/embedding.js";
import { normal_, zeros_ } from "../nn/init.js";
import type { KVCache } from "../nn/kv-cache.js";
import { LayerNorm } from "../nn/layer-norm.js";
import { Linear } from "../nn/linear.js";
import { Module, type Parameter } from "../nn/module.js";
import {
  add,
  crossEntropy,
  fusedTransformerLayer,
  hasFusedTransformerLayer,
  linear,
  narrow,
  reshape,
} from "../ops/index.js";
import { arange } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import { defaultGenerator, type Generator } from "../util/rng.js";
import { shapeStr } from "../util/shape.js";
import { type GPTConfig, type GPTOptions, validateGPTConfig } from "./gpt-config.js";
import {
  addZeroBiases,
  buildFromHF,
  dropZeroBiases,
  exportHFWeights,
  folderLoadingIsNodeOnly,
  gpt2KeyMap,
  type HFCheckpoint,
  type HFLoadOptions,
} from "./hf.js";
import { gpt2ConfigFromHF, gpt2ConfigToHF } from "./hf-config.js";

export type { GPTConfig, GPTOptions } from "./gpt-config.js";

/**
 * Per-call options of {@link GPT.forward}.
 * @example model.forward(ids, null, { lastOnly: true }).logits // (B, 1, V)
 */
export interface GPTForwardOptions {
  /** Key/value cache: feed only new tokens; positions continue from `cache.length`. */
  cache?: KVCache;
  /** Compute logits for the last position only (B, 1, V), as generation needs. */
  lastOnly?: boolean;
  /** Also return the hidden states, as HF's `output_hidden_states`. */
  outputHiddenStates?: boolean;
  /** Also return the attention probabilities, as HF's `output_attentions` (composed ops: slower, logits equal to rounding). */
  outputAttentions?: boolean;
}

/**
 * Result of {@link GPT.forward}.
 * @example const { logits, loss } = model.forward(idx, targets);
 */
export interface GPTOutput {
  /** (B, T, V), or (B, 1, V) with `lastOnly`. */
  logits: Tensor;
  /** Mean cross-entropy over targets ≠ −1, when targets were given. */
  loss?: Tensor;
  /** nLayer + 1 tensors (B, T, C) in HF's convention: the input of every block, then ln_f's output. */
  hiddenStates?: Tensor[];
  /** With `outputAttentions`: nLayer tensors (B, nh, T, S), S = cached + new positions, 0 on the future. */
  attentions?: Tensor[];
}

/**
 * A parameter group for an optimizer: these parameters share a weight decay. (A type alias, not
 * an interface, so it is assignable to the optimizers' group type with its index signature.)
 * @example const [decay, noDecay] = model.configureOptimizerGroups(0.1);
 */
export type GPTParamGroup = {
  params: Parameter[];
  weightDecay: number;
  /** State-dict names of `params`, for inspection. */
  names: string[];
};

/**
 * Multi-head causal self-attention with a packed q/k/v projection (HF/nanoGPT's `c_attn`).
 * @example const y = new CausalSelfAttention(config).forward(x); // x, y (B, T, C)
 */
export class CausalSelfAttention extends Module {
  c_attn: Linear;
  c_proj: Linear;
  attn_dropout: Dropout;
  resid_dropout: Dropout;

  constructor(
    readonly config: GPTConfig,
    opts: GPTOptions = {},
  ) {
    super();
    const { nEmbd: C, bias } = config;
    const { generator } = opts;
    this.c_attn = new Linear(C, 3 * C, { bias, generator });
    this.c_proj = new Linear(C, C, { bias, generator });
    this.attn_dropout = new Dropout(config.dropout);
    this.resid_dropout = new Dropout(config.dropout);
  }

  /** x (B, T, C) → (B, T, C), over cached positions too; `attentions` collects the (B, nh, T, S) weights. */
  forward(x: Tensor, cache?: KVCache, layer = 0, attentions?: Tensor[]): Tensor {
    const y = causalSelfAttention(this.c_attn.forward(x), this.config.nHead, {
      cache,
      layer,
      dropoutP: this.attn_dropout.training ? this.attn_dropout.p : 0,
      generator: this.attn_dropout.generator,
      weights: attentions,
    }); // (B, T, C)
    return this.resid_dropout.forward(this.c_proj.forward(y));
  }
}

/**
 * The position-wise feed-forward network: Linear(C, 4C) → GELU (tanh) → Linear(4C, C).
 * @example const y = new GPTMLP(config).forward(x); // (B, T, C)
 */
export class GPTMLP extends Module {
  c_fc: Linear;
  gelu: GELU;
  c_proj: Linear;
  dropout: Dropout;

  constructor(config: GPTConfig, opts: GPTOptions = {}) {
    super();
    const { generator } = opts;
    this.c_fc = new Linear(config.nEmbd, 4 * config.nEmbd, { bias: config.bias, generator });
    this.gelu = new GELU("tanh");
    this.c_proj = new Linear(4 * config.nEmbd, config.nEmbd, { bias: config.bias, generator });
    this.dropout = new Dropout(config.dropout);
  }

  /** Linear → GELU → Linear → dropout over the last dimension: (B, T, C) → (B, T, C). */
  forward(x: Tensor): Tensor {
    const { c_fc, gelu } = this;
    // c_fc and its GELU in one product: the activation runs in the GEMM's epilogue.
    const h = linear(x, c_fc.weight, c_fc.bias, {
      activation: gelu.approximate === "tanh" ? "geluTanh" : "gelu",
    });
    return this.dropout.forward(this.c_proj.forward(h));
  }
}

/**
 * A pre-norm transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x)).
 * @example const y = new GPTBlock(config).forward(x); // (B, T, C)
 */
export class GPTBlock extends Module {
  ln_1: LayerNorm;
  attn: CausalSelfAttention;
  ln_2: LayerNorm;
  mlp: GPTMLP;

  constructor(config: GPTConfig, opts: GPTOptions = {}) {
    super();
    const lnOpts = { bias: config.bias, eps: config.layerNormEps ?? 1e-5 };
    this.ln_1 = new LayerNorm(config.nEmbd, lnOpts);
    this.attn = new CausalSelfAttention(config, opts);
    this.ln_2 = new LayerNorm(config.nEmbd, lnOpts);
    this.mlp = new GPTMLP(config, opts);
  }

  /** x (B, T, C) → (B, T, C), over cached positions too; `attentions` collects the weights (no fusing). */
  forward(x: Tensor, cache?: KVCache, layer = 0, attentions?: Tensor[]): Tensor {
    if (cache && !attentions && this.canFuse(x)) return this.decode(x, cache, layer);
    x = add(x, this.attn.forward(this.ln_1.forward(x), cache, layer, attentions));
    return add(x, this.mlp.forward(this.ln_2.forward(x)));
  }

  /**
   * Inference with a cache runs as one fused kernel when the backend declares one (no graph to
   * record, no dropout to draw); otherwise the composed forward above, which is its reference.
   */
  private canFuse(x: Tensor): boolean {
    if (isGradEnabled() || !hasFusedTransformerLayer(x.dtype)) return false;
    return !(this.training && this.attn.attn_dropout.p + this.attn.resid_dropout.p + this.mlp.dropout.p > 0);
  }

  /** forward(x, cache, layer) as a single fused layer call, writing the cache in place. */
  private decode(x: Tensor, cache: KVCache, layer: number): Tensor {
    const [B, T, C] = x.shape;
    const nh = this.attn.config.nHead;
    const { ln_1, attn, ln_2, mlp } = this;
    const { k, v, past } = cache.reserve(layer, [B, nh, T, C / nh], T, x.dtype, this.attn.config.blockSize);
    const y = fusedTransformerLayer(
      x,
      { qkv: attn.c_attn, attnOut: attn.c_proj, norm1: ln_1, fc: mlp.c_fc, proj: mlp.c_proj, norm3: ln_2 },
      {
        nHead: nh,
        normFirst: true,
        activation: mlp.gelu.approximate === "tanh" ? "geluTanh" : "gelu",
        causal: true,
        eps: ln_1.eps,
        cache: { k, v, past },
      },
    );
    cache.commit(layer, T);
    return y;
  }
}

/**
 * The GPT language model. The state dict uses HF GPT-2's names without the `transformer.`
 * prefix (`wte.weight`, `h.0.attn.c_attn.weight`, …); `lm_head.weight` is the same Parameter
 * as `wte.weight`, so it appears under both names but is counted and optimised once.
 * @example
 * const model = new GPT({ vocabSize: 65, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0, bias: true });
 * const { logits, loss } = model.forward(idx, targets); // idx, targets (B, T) int32
 */
export class GPT extends Module {
  readonly config: GPTConfig;
  wte: Embedding;
  wpe: Embedding;
  drop: Dropout;
  h: ModuleList<GPTBlock>;
  ln_f: LayerNorm;
  lm_head: Linear;
  /** The config.json this model was loaded from, kept so toHF preserves its extra fields. */
  hfConfig: Record<string, unknown> | null = null;

  constructor(config: GPTConfig, opts: GPTOptions = {}) {
    super();
    validateGPTConfig(config);
    this.config = { ...config };
    const { vocabSize, blockSize, nEmbd, nLayer } = config;
    // Every draw, the submodules' default init included, comes from one generator in PyTorch's
    // construction order, so an mt19937 generator seeded s gives torch.manual_seed(s)'s model
    // (modules first, then the normal_ pass below).
    const generator = opts.generator ?? defaultGenerator;
    const sub = { generator };
    this.wte = new Embedding(vocabSize, nEmbd, sub);
    this.wpe = new Embedding(blockSize, nEmbd, sub);
    this.drop = new Dropout(config.dropout);
    this.h = new ModuleList(Array.from({ length: nLayer }, () => new GPTBlock(config, sub)));
    this.ln_f = new LayerNorm(nEmbd, { bias: config.bias, eps: config.layerNormEps ?? 1e-5 });
    this.lm_head = new Linear(nEmbd, vocabSize, { bias: false, generator });
    this.lm_head.weight = this.wte.weight; // weight tying (Press & Wolf 2017)
    this.initWeights(generator);
  }

  /** nanoGPT's init: N(0, 0.02) weights, zero biases, residual projections N(0, 0.02/√(2·nLayer)). */
  private initWeights(g: Generator): void {
    for (const [name, m] of this.namedModules()) {
      if (m instanceof Linear && m !== this.lm_head) {
        const residual = name.endsWith(".c_proj");
        normal_(m.weight, 0, residual ? 0.02 / Math.sqrt(2 * this.config.nLayer) : 0.02, g);
        if (m.bias) zeros_(m.bias);
      } else if (m instanceof Embedding) {
        normal_(m.weight, 0, 0.02, g);
      }
    }
  }

  /**
   * idx (B, T) int32 → logits (B, T, V), plus the loss when `targets` (B, T) int32 are given
   * (targets of −1 are ignored, as in nanoGPT). With `opts.cache`, idx holds only the new tokens.
   */
  forward(idx: Tensor, targets?: Tensor | null, opts: GPTForwardOptions = {}): GPTOutput {
    const { cache } = opts;
    if (idx.dtype !== "int32" || idx.ndim !== 2 || idx.shape[1] === 0) {
      throw new Error(
        `GPT.forward: idx must be a (B, T) int32 tensor with T ≥ 1, got ${idx.dtype} of shape ${shapeStr(idx.shape)}`,
      );
    }
    const [B, T] = idx.shape;
    const past = cache?.length ?? 0;
    if (cache && past > 0 && cache.batchSize !== B)
      throw new Error(`GPT.forward: batch size ${B} differs from the cache's ${cache.batchSize}`);
    if (cache && cache.numLayers !== this.config.nLayer)
      throw new Error(`GPT.forward: cache has ${cache.numLayers} layers, model ${this.config.nLayer}`);
    if (past + T > this.config.blockSize) {
      const what = past > 0 ? `${past} cached + ${T} new tokens` : `a sequence of ${T} tokens`;
      throw new Error(`GPT.forward: cannot forward ${what}; blockSize is only ${this.config.blockSize}`);
    }
    const ids = idx.toArray();
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= this.config.vocabSize) {
        const b = Math.floor(i / T);
        throw new Error(
          `GPT.forward: token id ${ids[i]} at (${b}, ${i - b * T}) is out of range for vocabSize ${this.config.vocabSize}`,
        );
      }
    }
    const pos = arange(past, past + T, 1, { dtype: "int32" }); // (T)
    let x = this.drop.forward(add(this.wte.forward(idx), this.wpe.forward(pos))); // (B, T, C)
    const hidden: Tensor[] = [];
    const attentions = opts.outputAttentions ? ([] as Tensor[]) : undefined;
    let i = 0;
    for (const block of this.h) {
      if (opts.outputHiddenStates) hidden.push(x);
      x = block.forward(x, cache, i++, attentions);
    }
    x = this.ln_f.forward(x); // (B, T, C)
    if (opts.outputHiddenStates) hidden.push(x);
    const out: GPTOutput = { logits: this.lm_head.forward(opts.lastOnly ? narrow(x, 1, T - 1, 1) : x) };
    if (opts.outputHiddenStates) out.hiddenStates = hidden;
    if (attentions) out.attentions = attentions;
    if (targets) {
      if (opts.lastOnly) throw new Error("GPT.forward: targets cannot be combined with lastOnly");
      if (targets.dtype !== "int32" || !targets.hasShape([B, T])) {
        throw new Error(
          `GPT.forward: targets must be a (${B}, ${T}) int32 tensor like idx, got ${targets.dtype} of shape ${shapeStr(targets.shape)}`,
        );
      }
      const V = this.config.vocabSize;
      out.loss = crossEntropy(reshape(out.logits, [B * T, V]), reshape(targets, [B * T]), {
        ignoreIndex: -1,
      });
    }
    return out;
  }

  /**
   * Optimizer groups: weight decay for the matmul weights (Linear, ≥ 2-D), none for biases,
   * LayerNorm parameters and the embeddings (wte, which lm_head shares, and wpe). nanoGPT also
   * decays the embeddings; qkv follows the common practice of exempting them.
   * @example new AdamW(model.configureOptimizerGroups(0.1), { lr: 6e-4 })
   */
  configureOptimizerGroups(weightDecay: number): GPTParamGroup[] {
    const embeddings = new Set<Parameter>([this.wte.weight, this.wpe.weight]);
    const decay: GPTParamGroup = { params: [], weightDecay, names: [] };
    const noDecay: GPTParamGroup = { params: [], weightDecay: 0, names: [] };
    for (const [name, p] of this.namedParameters()) {
      const group = p.ndim >= 2 && !embeddings.has(p) ? decay : noDecay;
      group.params.push(p);
      group.names.push(name);
    }
    return [decay, noDecay];
  }

  /**
   * Node-only: throws, naming `fromPretrained(GPT, dir)` from "qkv/node" and, for a browser,
   * `loadPretrained(GPT, files)` from "qkv". Models load from memory with `fromHF`.
   * @example const model = await fromPretrained(GPT, "checkpoints/x"); // import { fromPretrained } from "qkv/node"
   */
  static fromPretrained(..._args: unknown[]): never {
    return folderLoadingIsNodeOnly("GPT");
  }

  /**
   * Builds a GPT from an HF GPT-2 config.json object and its safetensors tensors (browser-safe).
   * The model is returned in eval mode, as HF's from_pretrained does.
   * @example const model = GPT.fromHF(JSON.parse(configText), parseSafetensors(bytes).tensors);
   */
  static fromHF(
    configJson: Record<string, unknown>,
    tensors: Map<string, RawTensor>,
    opts: HFLoadOptions = {},
  ): GPT {
    const config = gpt2ConfigFromHF(configJson);
    let weights = tensors;
    if (!config.bias) weights = dropZeroBiases(tensors);
    const model = buildFromHF(() => new GPT(config), weights, gpt2KeyMap, {
      ...opts,
      what: "GPT-2 checkpoint",
    });
    model.hfConfig = { ...configJson };
    return model.eval();
  }

  /**
   * The checkpoint HF's GPT2LMHeadModel.save_pretrained would write: config.json fields and
   * tensors keyed `transformer.…` with Conv1D (in, out) weights, the tied lm_head omitted.
   * @example const { config, tensors } = model.toHF();
   */
  toHF(): HFCheckpoint {
    const tensors = exportHFWeights(this, gpt2KeyMap());
    if (!this.config.bias) addZeroBiases(tensors, this.config, this.wte.weight.dtype);
    return { config: gpt2ConfigToHF(this.config, this.wte.weight.dtype, this.hfConfig ?? {}), tensors };
  }
}
