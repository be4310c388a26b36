/**
 * Browser-safe text generation: next-token sampling (temperature, top-k, top-p, repetition
 * penalty), streaming autoregressive generation with stop conditions, and beam search.
 */

export {
  type BeamHypothesis,
  type BeamSearchOptions,
  type BeamStepContext,
  type BeamStepFn,
  beamSearch,
  greedySearch,
} from "./beam.js";
export {
  type AsyncNextTokenModel,
  type FinishReason,
  type GenerateAsyncOptions,
  type GenerateOptions,
  type GenerateResult,
  generate,
  generateAsync,
  type NextLogitsFn,
  type NextTokenModel,
  type RecomputingModelOptions,
  recomputingModel,
} from "./generate.js";
export { type GPTDecodeState, gptNextTokenModel } from "./lm.js";
export {
  applyRepetitionPenalty,
  type SamplingOptions,
  sampleFromProbabilities,
  sampleNext,
  samplingProbabilities,
} from "./sampling.js";
