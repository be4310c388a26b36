/**
 * qkv: transformers in TypeScript. This is the one public entry point:
 * `import { tensor, nn, optim } from "qkv"`. Importing it only defines things: no backend is
 * loaded, no environment variable read and nothing printed until the first op runs (see
 * backend/select.ts; test/arch/side-effects.test.ts checks it).
 */
// Defines Tensor's methods (`x.add(y)`, `loss.backward()`), once, in the module that implements them.
import "./ops/methods.js";

export { isGradEnabled, noGrad, record, setGradEnabled, tidy, withNoGrad } from "./autograd/graph.js";
export type {
  AdamStepArgs,
  AdamStepOptions,
  ArgReduceArgs,
  ArgReduceOp,
  AttentionArgs,
  AttentionBackwardArgs,
  AttentionForwardArgs,
  AttentionLayout,
  Backend,
  BinaryArgs,
  BinaryOp,
  ClampArgs,
  CompareArgs,
  CompareOp,
  CopyArgs,
  CrossEntropyArgs,
  CrossEntropyBackwardArgs,
  FillArgs,
  GatherArgs,
  GemmArgs,
  HeadLayout,
  IndexAddArgs,
  IndexSelectArgs,
  LayerNormArgs,
  LayerNormBackwardArgs,
  ReduceArgs,
  ReduceOp,
  RowsArgs,
  RowsBackwardArgs,
  ScaleInPlaceArgs,
  ScatterAddArgs,
  Strided,
  SumOfSquaresArgs,
  UnaryArgs,
  UnaryBackwardArgs,
  UnaryOp,
  WhereArgs,
} from "./backend/backend.js";
export type {
  FusedKernels,
  FusedQuantizedLinear,
  FusedTransformerLayer,
  QuantizedLinearArgs,
  QuantizedMatrix,
  TransformerLayerArgs,
} from "./backend/fused.js";
export {
  AUTO_BACKEND_ORDER,
  type BackendChoice,
  type BackendInfo,
  type BackendLoaderOptions,
  backend,
  backendInfo,
  cpuBackend,
  getBackendName,
  listBackends,
  ready,
  registerBackend,
  setBackend,
} from "./backend/select.js";
export {
  getNumThreads,
  loadNativeBackend,
  nativeInfo,
  nativeLoadError,
  setNumThreads,
} from "./backends/native/index.js";
export {
  getWasmThreads,
  initWasm,
  loadWasmBackend,
  setWasmThreads,
  stopWasmThreads,
  type WasmVariant,
  wasmInfo,
  wasmLoadError,
} from "./backends/wasm/index.js";
export * from "./data/index.js";
export * from "./generate/index.js";
export * from "./io/index.js";
export * from "./models/index.js";
/** torch.nn: modules (Linear, LayerNorm, MultiheadAttention, Transformer…), containers, and `nn.init`. */
export * as nn from "./nn/index.js";
export { KVCache, type KVCacheOptions, type LayerKV } from "./nn/kv-cache.js";
export { Module, Parameter } from "./nn/module.js";
export {
  QuantizedEmbedding,
  QuantizedLinear,
  type QuantizeOptions,
  quantize,
} from "./nn/quantize.js";
export * from "./ops/index.js";
/** torch.optim: optimizers (SGD, Adam, AdamW, RMSprop), learning-rate schedulers and gradient clipping. */
export * as optim from "./optim/index.js";
export * from "./tensor/create.js";
export type { AnyArray, DType, FloatArray, FloatDType } from "./tensor/dtype.js";
export { memoryPool, RecycledTensorError } from "./tensor/pool.js";
export { type NestedArray, type Node, Tensor } from "./tensor/tensor.js";
export * from "./tokenizers/index.js";
export * from "./train/index.js";
export { QkvError } from "./util/errors.js";
export {
  defaultGenerator,
  Generator,
  type GeneratorOptions,
  type GeneratorState,
  type Mt19937State,
  manualSeed,
  type RngAlgorithm,
  type SampleArray,
  type XoshiroState,
} from "./util/rng.js";
export * from "./viz/index.js";
