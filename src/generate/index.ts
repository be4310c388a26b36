/**
 * Browser-safe text generation: next-token sampling (temperature, top-k, top-p, repetition
 * penalty), one streaming autoregressive loop with stop conditions, and beam search, all driving
 * models through the {@link StepModel} interface.
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
  type FinishReason,
  type GenerateAsyncOptions,
  type GenerateOptions,
  type GenerateResult,
  generate,
  generateAsync,
  generateBatch,
  type RecomputingModelOptions,
  recomputingModel,
} from "./generate.js";
export {
  type BartGenerateOptions,
  bartGenerate,
  type GenerationSettings,
  generationSettingsFromHF,
} from "./hf-generate.js";
export {
  type BartDecodeState,
  bartStepModel,
  type GPTDecodeState,
  gptStepModel,
  type Seq2SeqDecodeState,
  type Seq2SeqStepOptions,
  seq2seqStepModel,
  type TranslateOptions,
  translateBeam,
  translateGreedy,
} from "./models.js";
export {
  applyRepetitionPenalty,
  type SamplingOptions,
  sampleFromProbabilities,
  sampleNext,
  samplingProbabilities,
} from "./sampling.js";
export {
  type AsyncNextTokenModel,
  type AsyncStepModel,
  asStepModel,
  isStepModel,
  type NextLogitsFn,
  type NextTokenModel,
  type StepLogits,
  type StepModel,
} from "./step.js";
