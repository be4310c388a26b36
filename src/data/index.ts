/**
 * Browser-safe data utilities: token datasets and nanoGPT-style batches, seq2seq pairs with
 * collation, synthetic tasks, and BERT masking. File loading and caching live in io/node-data.
 */

export {
  BatchSampler,
  type BatchSamplerOptions,
  type BatchSamplerState,
  type LMBatch,
  type SequentialBatchOptions,
  sequentialBatches,
} from "./batch.js";
export { type Split, TokenDataset, type TokenDatasetOptions, type TokenIds, toTokenIds } from "./dataset.js";
export { type LabelledText, labelSet, parseLabelledTsv } from "./labelled.js";
export { type MaskedTokens, type MaskTokensOptions, maskTokens } from "./masking.js";
export {
  type CollateOptions,
  collate,
  IGNORE_INDEX,
  type PairBatchOptions,
  PairDataset,
  parseTsv,
  type Seq2SeqBatch,
  type TextPair,
  type TokenPair,
} from "./pairs.js";
export { type AdditionTaskOptions, additionTask, type ReverseTaskOptions, reverseTask } from "./tasks.js";
