/**
 * The BERT task heads, named like HF's: BertForMaskedLM (`cls.predictions`, decoder tied to the
 * word embeddings) and BertForSequenceClassification (`classifier` on the pooled output).
 */
import type { RawTensor } from "../io/safetensors.js";
import type { GELU, ReLU } from "../nn/activation.js";
import { Dropout } from "../nn/dropout.js";
import { LayerNorm } from "../nn/layer-norm.js";
import { Linear } from "../nn/linear.js";
import { Module, Parameter } from "../nn/module.js";
import { add, binaryCrossEntropyWithLogits, crossEntropy, mseLoss, reshape } from "../ops/index.js";
import { zeros } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import { defaultGenerator } from "../util/rng.js";
import { activation, Bert, type BertConfig, type BertInputs, type BertOptions, initBert } from "./bert.js";
import {
  folderLoadingIsNodeOnly,
  type HFCheckpoint,
  type HFLoadOptions,
  loadBertFamily,
  saveBertFamily,
} from "./hf.js";

/**
 * The masked-LM head: transform (dense → act → LayerNorm), decoder tied to the word embeddings, bias.
 * @example const logits = mlm.cls.predictions.forward(h); // (B, T, V)
 */
export class BertLMPredictionHead extends Module {
  transform: BertPredictionHeadTransform;
  decoder: Linear;
  bias: Parameter;

  constructor(config: BertConfig, wordEmbeddings: Parameter) {
    super();
    this.transform = new BertPredictionHeadTransform(config);
    this.decoder = new Linear(config.hiddenSize, config.vocabSize, { bias: false });
    this.decoder.weight = wordEmbeddings;
    this.bias = new Parameter(zeros([config.vocabSize], { dtype: wordEmbeddings.dtype }));
  }

  /** Hidden states (B, T, H) → vocabulary logits (B, T, V). */
  forward(h: Tensor): Tensor {
    return add(this.decoder.forward(this.transform.forward(h)), this.bias); // (B, T, V)
  }
}

/**
 * dense → activation → LayerNorm, applied before the MLM decoder.
 * @example const t = new BertPredictionHeadTransform(config).forward(h); // (B, T, H)
 */
export class BertPredictionHeadTransform extends Module {
  dense: Linear;
  transform_act_fn: GELU | ReLU;
  LayerNorm: LayerNorm;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
    this.transform_act_fn = activation(config.hiddenAct);
    this.LayerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
  }

  /** dense → activation → LayerNorm on hidden states (B, T, H). */
  forward(h: Tensor): Tensor {
    return this.LayerNorm.forward(this.transform_act_fn.forward(this.dense.forward(h)));
  }
}

/**
 * Holder named like HF's BertOnlyMLMHead so keys read `cls.predictions.…`.
 * @example mlm.cls.predictions.bias // (V)
 */
export class BertOnlyMLMHead extends Module {
  constructor(readonly predictions: BertLMPredictionHead) {
    super();
  }
}

/**
 * BERT with the masked-language-model head (HF's BertForMaskedLM; no pooler).
 * @example
 * const { logits, loss } = mlm.forward(ids, { attentionMask, labels }); // labels −100 = ignored
 */
export class BertForMaskedLM extends Module {
  readonly config: BertConfig;
  bert: Bert;
  cls: BertOnlyMLMHead;
  hfConfig: Record<string, unknown> | null = null;

  constructor(config: BertConfig, opts: Omit<BertOptions, "addPoolingLayer"> = {}) {
    super();
    this.config = { ...config };
    this.bert = new Bert(config, { ...opts, addPoolingLayer: false });
    this.cls = new BertOnlyMLMHead(
      new BertLMPredictionHead(config, this.bert.embeddings.word_embeddings.weight),
    );
    initBert(this.cls, opts.generator ?? defaultGenerator, this.bert.embeddings.word_embeddings.weight);
  }

  /** logits (B, T, V); loss = mean cross-entropy over labels ≠ −100 when labels (B, T) are given. */
  forward(
    inputIds: Tensor,
    inputs: BertInputs & { labels?: Tensor | null } = {},
  ): { logits: Tensor; loss?: Tensor; hiddenStates?: Tensor[] } {
    const { lastHiddenState, hiddenStates } = this.bert.forward(inputIds, inputs);
    const logits = this.cls.predictions.forward(lastHiddenState);
    const out: { logits: Tensor; loss?: Tensor; hiddenStates?: Tensor[] } = { logits };
    if (hiddenStates) out.hiddenStates = hiddenStates;
    if (inputs.labels) {
      const V = this.config.vocabSize;
      out.loss = crossEntropy(reshape(logits, [-1, V]), reshape(inputs.labels, [-1]));
    }
    return out;
  }

  /**
   * Node-only: throws, naming `fromPretrained(BertForMaskedLM, dir)` from "qkv/node" and, for a browser,
   * `loadPretrained(BertForMaskedLM, files)` from "qkv". Models load from memory with `fromHF`.
   * @example const model = await fromPretrained(BertForMaskedLM, "checkpoints/x"); // import { fromPretrained } from "qkv/node"
   */
  static fromPretrained(..._args: unknown[]): never {
    return folderLoadingIsNodeOnly("BertForMaskedLM");
  }

  /** Builds from HF config.json + tensors (browser-safe); eval mode. */
  static fromHF(
    configJson: Record<string, unknown>,
    tensors: Map<string, RawTensor>,
    opts: HFLoadOptions = {},
  ): BertForMaskedLM {
    const t = new Map(tensors);
    const alias = t.get("cls.predictions.decoder.bias");
    if (alias && !t.has("cls.predictions.bias")) t.set("cls.predictions.bias", alias);
    return loadBertFamily("masked-lm", configJson, t, opts, (config) => new BertForMaskedLM(config));
  }

  /** The checkpoint HF's BertForMaskedLM.save_pretrained would write (tied decoder omitted). */
  toHF(): HFCheckpoint {
    return saveBertFamily(this, "masked-lm", "BertForMaskedLM", this.hfConfig);
  }
}

/**
 * BERT with a classifier on the pooled output (HF's BertForSequenceClassification). One label
 * means regression (MSE loss); otherwise cross-entropy on int32 labels (B), or binary
 * cross-entropy on float multi-hot labels (B, numLabels).
 * @example
 * const clf = new BertForSequenceClassification(config, { numLabels: 3 });
 * const { logits, loss } = clf.forward(ids, { attentionMask, labels }); // (B, 3)
 */
export class BertForSequenceClassification extends Module {
  readonly config: BertConfig;
  readonly numLabels: number;
  bert: Bert;
  dropout: Dropout;
  classifier: Linear;
  hfConfig: Record<string, unknown> | null = null;

  constructor(config: BertConfig, opts: Omit<BertOptions, "addPoolingLayer"> & { numLabels?: number } = {}) {
    super();
    this.config = { ...config };
    this.numLabels = opts.numLabels ?? 2;
    if (!Number.isInteger(this.numLabels) || this.numLabels <= 0)
      throw new Error(
        `BertForSequenceClassification: numLabels must be a positive integer, got ${this.numLabels}`,
      );
    this.bert = new Bert(config, opts);
    this.dropout = new Dropout(config.classifierDropout ?? config.hiddenDropoutProb);
    this.classifier = new Linear(config.hiddenSize, this.numLabels);
    initBert(this.classifier, opts.generator ?? defaultGenerator);
  }

  /**
   * Class logits (B, numLabels) from the pooled [CLS] state, and with `labels` HF's loss: MSE for
   * one label, cross-entropy for int32 labels (B), BCE-with-logits for float labels (B, numLabels).
   */
  forward(
    inputIds: Tensor,
    inputs: BertInputs & { labels?: Tensor | null } = {},
  ): { logits: Tensor; loss?: Tensor } {
    const { pooledOutput } = this.bert.forward(inputIds, inputs);
    const logits = this.classifier.forward(this.dropout.forward(pooledOutput as Tensor)); // (B, numLabels)
    const labels = inputs.labels;
    if (!labels) return { logits };
    if (this.numLabels === 1) return { logits, loss: mseLoss(reshape(logits, [-1]), reshape(labels, [-1])) };
    // HF's problem types: int labels (B) → single-label; float labels (B, numLabels) → multi-label.
    if (labels.dtype === "int32") return { logits, loss: crossEntropy(logits, reshape(labels, [-1])) };
    return { logits, loss: binaryCrossEntropyWithLogits(logits, labels) };
  }

  /**
   * Node-only: throws, naming `fromPretrained(BertForSequenceClassification, dir)` from "qkv/node" and, for a browser,
   * `loadPretrained(BertForSequenceClassification, files)` from "qkv". Models load from memory with `fromHF`.
   * @example const model = await fromPretrained(BertForSequenceClassification, "checkpoints/x"); // import { fromPretrained } from "qkv/node"
   */
  static fromPretrained(..._args: unknown[]): never {
    return folderLoadingIsNodeOnly("BertForSequenceClassification");
  }

  /** Builds from HF config.json + tensors (browser-safe); a missing classifier/pooler is freshly initialised. */
  static fromHF(
    configJson: Record<string, unknown>,
    tensors: Map<string, RawTensor>,
    opts: HFLoadOptions & { numLabels?: number } = {},
  ): BertForSequenceClassification {
    const id2label = configJson.id2label;
    const fromConfig =
      id2label && typeof id2label === "object"
        ? Object.keys(id2label).length
        : (configJson.num_labels as number | undefined);
    const numLabels = opts.numLabels ?? fromConfig ?? 2;
    return loadBertFamily(
      "sequence-classification",
      configJson,
      tensors,
      opts,
      (config) => new BertForSequenceClassification(config, { numLabels }),
    );
  }

  /** The checkpoint HF's BertForSequenceClassification.save_pretrained would write. */
  toHF(): HFCheckpoint {
    const base = { ...(this.hfConfig ?? {}) };
    const labels = base.id2label as Record<string, string> | undefined;
    if (!labels || Object.keys(labels).length !== this.numLabels) {
      base.id2label = Object.fromEntries(
        Array.from({ length: this.numLabels }, (_, i) => [String(i), `LABEL_${i}`]),
      );
      base.label2id = Object.fromEntries(Array.from({ length: this.numLabels }, (_, i) => [`LABEL_${i}`, i]));
    }
    return saveBertFamily(this, "sequence-classification", "BertForSequenceClassification", base);
  }
}
