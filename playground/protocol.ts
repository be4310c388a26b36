/** Messages between the playground page (main.ts) and its worker (worker.ts). Types only. */

/** The model and optimisation settings of a new training run. */
export interface TrainSettings {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  batchSize: number;
  /** Steps of the learning-rate schedule (warmup, then cosine decay to minLr). */
  maxIters: number;
  lr: number;
  seed: number;
  /** "" for the bundled Tiny Shakespeare, as in train_config.json; otherwise a description. */
  dataName: string;
}

/** Sampling settings, mapped to `generate` exactly as `qkv sample` maps its flags. */
export interface SampleSettings {
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  /** 0: off. */
  topK: number;
  /** 1: off. */
  topP: number;
  seed: number;
}

export type ToWorker =
  | { type: "init"; backend: string | null }
  | { type: "train-new"; settings: TrainSettings; text: string }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "generate"; settings: SampleSettings }
  | { type: "stop-generate" }
  | { type: "attention"; prompt: string }
  | { type: "load"; files: { name: string; data: Uint8Array }[] }
  | { type: "export" };

/** What the page shows about the current model. */
export interface ModelInfo {
  source: "trained" | "checkpoint";
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  vocabSize: number;
  params: number;
  /** Steps trained (null when a checkpoint does not say). */
  iter: number | null;
  tokenizer: string;
}

export type FromWorker =
  | { type: "ready"; backend: string; backends: string[]; isolated: boolean; cores: number }
  | { type: "model"; info: ModelInfo; trainable: boolean }
  | { type: "data"; trainTokens: number; valTokens: number; vocabSize: number }
  | { type: "step"; iter: number; loss: number; lr: number; msPerIter: number; tokensPerSec: number }
  | { type: "eval"; iter: number; trainLoss: number; valLoss: number }
  | { type: "training"; running: boolean; iter: number; maxIters: number }
  | { type: "token"; text: string }
  | { type: "generated"; text: string; tokens: number; ms: number; finishReason: string }
  | {
      type: "attention";
      tokens: string[];
      /** Tokens cut from the front of the prompt to fit the context (blockSize). */
      dropped: number;
      nLayer: number;
      nHead: number;
      T: number;
      /** (nLayer, nHead, T, T) probabilities, row-major. */
      weights: Float32Array;
    }
  | { type: "exported"; name: string; zip: Uint8Array }
  | { type: "error"; where: string; message: string };
