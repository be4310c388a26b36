/** GPT's hyperparameters and construction options, with nanoGPT's names, and their validation. */
import type { Generator } from "../util/rng.js";

/**
 * Model hyperparameters, with nanoGPT's names.
 * @example const config: GPTConfig = { vocabSize: 65, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0.2, bias: false };
 */
export interface GPTConfig {
  vocabSize: number;
  /** Maximum sequence length (number of learned positions). */
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  /** Dropout probability for embeddings, attention weights and residual branches. */
  dropout: number;
  /** Biases in Linear and LayerNorm layers (GPT-2: true; nanoGPT suggests false). */
  bias: boolean;
  /** LayerNorm epsilon (default 1e-5, GPT-2's). */
  layerNormEps?: number;
}

/**
 * Construction options.
 * @example new GPT(config, { generator: new Generator(1337) })
 */
export interface GPTOptions {
  /**
   * Generator for the initial weights (default: the global one), drawn from by the submodules'
   * own initialisation too, in the order PyTorch's constructors draw.
   */
  generator?: Generator;
}

/** Throws on a config no GPT can be built from. */
export function validateGPTConfig(c: GPTConfig): void {
  for (const k of ["vocabSize", "blockSize", "nLayer", "nHead", "nEmbd"] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0)
      throw new Error(`GPT: config.${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.nEmbd % c.nHead !== 0)
    throw new Error(`GPT: nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`GPT: dropout must be in [0, 1), got ${c.dropout}`);
}
