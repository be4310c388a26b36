/**
 * Training tasks, one per model family: how a micro-batch is drawn and scored. The evaluation
 * batches come from their own fixed-seed generators, so every evaluation scores the same
 * batches and evaluating never disturbs the training stream (which keeps resume exact).
 */
import { tidy } from "../autograd/graph.js";
import { BatchSampler, type BatchSamplerState } from "../data/batch.js";
import type { TokenDataset } from "../data/dataset.js";
import type { GPT } from "../models/gpt.js";
import type { Tensor } from "../tensor/tensor.js";
import { Generator, type RngAlgorithm } from "../util/rng.js";
import type { TrainTask } from "./trainer.js";

/** Next-token prediction for a GPT on a token dataset (nanoGPT's get_batch). */
export class LanguageModelTask implements TrainTask {
  readonly sampler: BatchSampler;
  readonly tokensPerBatch: number;

  constructor(
    readonly model: GPT,
    readonly dataset: TokenDataset,
    readonly opts: { batchSize: number; blockSize: number; seed: number; algorithm?: RngAlgorithm },
  ) {
    this.sampler = new BatchSampler(dataset, {
      generator: new Generator(opts.seed, { algorithm: opts.algorithm }),
    });
    this.tokensPerBatch = opts.batchSize * opts.blockSize;
  }

  trainLoss(): Tensor {
    const { x, y } = this.sampler.getBatch("train", this.opts.batchSize, this.opts.blockSize);
    return this.model.forward(x, y).loss!;
  }

  evalLoss(split: "train" | "val", iters: number): number {
    const seed = this.opts.seed + (split === "val" ? 2 : 1);
    const sampler = new BatchSampler(this.dataset, {
      generator: new Generator(seed, { algorithm: this.opts.algorithm }),
    });
    let total = 0;
    for (let i = 0; i < iters; i++) {
      const { x, y } = sampler.getBatch(split, this.opts.batchSize, this.opts.blockSize);
      total += tidy(() => this.model.forward(x, y).loss!.item()); // recycle the batch's activations
    }
    return total / iters;
  }

  getState(): BatchSamplerState {
    return this.sampler.getState();
  }

  setState(state: unknown): void {
    this.sampler.setState(state as BatchSamplerState);
  }
}
