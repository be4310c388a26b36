/** BERT's hyperparameters (HF's BertConfig fields in camelCase), construction options and their validation. */
import type { Generator } from "../util/rng.js";
import type { BertActivation } from "./hf-config.js";

/**
 * BERT hyperparameters (HF's BertConfig fields in camelCase).
 * @example const config = bertConfigFromHF(JSON.parse(configText)); // a BertConfig
 */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  /** "gelu" is the exact (erf) GELU, as BERT uses. */
  hiddenAct: BertActivation;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  /** Dropout before the classifier (default: hiddenDropoutProb). */
  classifierDropout?: number;
}

/**
 * Construction options shared by the BERT classes.
 * @example new Bert(config, { generator: new Generator(0), addPoolingLayer: false })
 */
export interface BertOptions {
  /** Generator for the initial weights (default: the global one). */
  generator?: Generator;
  /** Build the pooler (default true; BertForMaskedLM has none, as in HF). */
  addPoolingLayer?: boolean;
}

/** Throws on a config no BERT can be built from. */
export function validateBertConfig(c: BertConfig): void {
  for (const k of [
    "vocabSize",
    "hiddenSize",
    "numHiddenLayers",
    "numAttentionHeads",
    "intermediateSize",
    "maxPositionEmbeddings",
    "typeVocabSize",
  ] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0)
      throw new Error(`Bert: config.${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.hiddenSize % c.numAttentionHeads !== 0) {
    throw new Error(
      `Bert: hiddenSize (${c.hiddenSize}) must be divisible by numAttentionHeads (${c.numAttentionHeads})`,
    );
  }
}
