/** Models: GPT (decoder-only), BERT (encoder), BART and the seq2seq Transformer (encoder-decoders), and their Hugging Face checkpoint compatibility. */

export * from "./bart.js";
export {
  Bert,
  BertAttention,
  type BertConfig,
  BertEmbeddings,
  BertEncoder,
  type BertInputs,
  BertIntermediate,
  BertLayer,
  type BertOptions,
  type BertOutput,
  BertPooler,
  BertResidualOutput,
  BertSelfAttention,
} from "./bert.js";
export * from "./bert-heads.js";
export * from "./gpt.js";
export {
  type BertKind,
  bertKeyMap,
  exportHFWeights,
  gpt2KeyMap,
  type HFKeyMap,
  type HFLoadOptions,
  loadHFWeights,
  rawToTensor,
  tensorToRaw,
} from "./hf.js";
export * from "./hf-config.js";
export * from "./seq2seq.js";
