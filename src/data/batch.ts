/**
 * Language-model batches: random (x, y) windows drawn as in nanoGPT's `get_batch`, from a seeded
 * generator whose state is saved with a checkpoint, and a sequential iterator for evaluation.
 */

import { tensor } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import { Generator, type GeneratorState } from "../util/rng.js";
import type { Split, TokenDataset, TokenIds } from "./dataset.js";

/**
 * Inputs and next-token targets, both int32 of shape (B, T): `y[b][t] = x[b][t + 1]` in the stream.
 *
 * @example
 * ```ts
 * const { x, y } = sampler.getBatch("train", 4, 8); // x.shape: [4, 8]
 * ```
 */
export interface LMBatch {
  x: Tensor;
  y: Tensor;
}

/**
 * Everything needed to resume a {@link BatchSampler} exactly: the generator state.
 *
 * @example
 * ```ts
 * const saved: BatchSamplerState = sampler.getState(); // JSON-serialisable
 * ```
 */
export interface BatchSamplerState {
  generator: GeneratorState;
}

/**
 * Options for {@link BatchSampler}.
 *
 * @example
 * ```ts
 * const opts: BatchSamplerOptions = { seed: 1337 };
 * ```
 */
export interface BatchSamplerOptions {
  /** Generator to draw offsets from (used as is, not copied). Default `new Generator(seed)`. */
  generator?: Generator;
  /** Seed of the sampler's own generator when `generator` is not given. Default 0. */
  seed?: number;
}

/**
 * Options for {@link sequentialBatches}.
 *
 * @example
 * ```ts
 * const opts: SequentialBatchOptions = { maxBatches: 20 };
 * ```
 */
export interface SequentialBatchOptions {
  /** Stop after this many batches. Default: cover the whole split. */
  maxBatches?: number;
}

function checkSizes(what: string, batchSize: number, blockSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`${what}: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new Error(`${what}: blockSize must be a positive integer, got ${blockSize}`);
  }
}

/** Builds (x, y) from window start offsets. */
function windows(data: TokenIds, offsets: readonly number[], blockSize: number): LMBatch {
  const b = offsets.length;
  const x = new Int32Array(b * blockSize);
  const y = new Int32Array(b * blockSize);
  for (let r = 0; r < b; r++) {
    const o = offsets[r];
    x.set(data.subarray(o, o + blockSize), r * blockSize);
    y.set(data.subarray(o + 1, o + 1 + blockSize), r * blockSize);
  }
  return { x: tensor(x, { shape: [b, blockSize] }), y: tensor(y, { shape: [b, blockSize] }) };
}

/**
 * Cuts `data` into consecutive, non-overlapping windows of `blockSize` (+1 for the targets) and
 * yields them `batchSize` at a time; the last batch may be smaller and a tail shorter than a
 * window is skipped. Deterministic: use it for validation loss.
 *
 * @example
 * ```ts
 * for (const { x, y } of sequentialBatches(ds.val, 8, 64)) loss += model.loss(x, y).item();
 * ```
 */
export function* sequentialBatches(
  data: TokenIds,
  batchSize: number,
  blockSize: number,
  opts: SequentialBatchOptions = {},
): IterableIterator<LMBatch> {
  checkSizes("sequentialBatches", batchSize, blockSize);
  const nWindows = Math.floor((data.length - 1) / blockSize);
  if (nWindows < 1) {
    throw new Error(
      `sequentialBatches: ${data.length} tokens cannot fill one window of blockSize ${blockSize} (needs ${blockSize + 1})`,
    );
  }
  const maxBatches = opts.maxBatches ?? Number.POSITIVE_INFINITY;
  let produced = 0;
  for (let w = 0; w < nWindows && produced < maxBatches; w += batchSize, produced++) {
    const offsets: number[] = [];
    for (let i = w; i < Math.min(w + batchSize, nWindows); i++) offsets.push(i * blockSize);
    yield windows(data, offsets, blockSize);
  }
}

/**
 * Draws random training windows, as nanoGPT's `get_batch`: `B` offsets uniform in
 * `[0, n − T)`, `x = data[o : o+T]`, `y = data[o+1 : o+1+T]`. Equal seeds give equal batches, and
 * `getState`/`setState` resume the exact sequence after a restart.
 *
 * @example
 * ```ts
 * const sampler = new BatchSampler(ds, { seed: 1337 });
 * const { x, y } = sampler.getBatch("train", 12, 64);
 * const saved = sampler.getState(); // store with the checkpoint
 * sampler.setState(saved); // later: continue identically
 * ```
 */
export class BatchSampler {
  /** The generator offsets are drawn from. */
  readonly generator: Generator;

  /**
   * @example
   * ```ts
   * const sampler = new BatchSampler(TokenDataset.fromIds(ids), { seed: 0 });
   * ```
   */
  constructor(
    readonly dataset: TokenDataset,
    opts: BatchSamplerOptions = {},
  ) {
    this.generator = opts.generator ?? new Generator(opts.seed ?? 0);
  }

  /**
   * A random batch from `split`: x and y int32 (batchSize, blockSize).
   *
   * @example
   * ```ts
   * const { x, y } = sampler.getBatch("val", 4, 32);
   * ```
   */
  getBatch(split: Split, batchSize: number, blockSize: number): LMBatch {
    checkSizes("getBatch", batchSize, blockSize);
    const data = this.dataset.split(split);
    const range = data.length - blockSize;
    if (range < 1) {
      throw new Error(
        `getBatch: the ${split} split has ${data.length} tokens, too few for blockSize ${blockSize} (needs at least ${blockSize + 1})`,
      );
    }
    const offsets: number[] = [];
    for (let i = 0; i < batchSize; i++) offsets.push(this.generator.randint(0, range));
    return windows(data, offsets, blockSize);
  }

  /**
   * Consecutive evaluation batches over `split` (see {@link sequentialBatches}); draws nothing
   * from the generator.
   *
   * @example
   * ```ts
   * for (const batch of sampler.evalBatches("val", 8, 64, { maxBatches: 10 })) evaluate(batch);
   * ```
   */
  evalBatches(
    split: Split,
    batchSize: number,
    blockSize: number,
    opts: SequentialBatchOptions = {},
  ): IterableIterator<LMBatch> {
    return sequentialBatches(this.dataset.split(split), batchSize, blockSize, opts);
  }

  /**
   * The state to save with a checkpoint (a deep copy, JSON-serialisable).
   *
   * @example
   * ```ts
   * const json = JSON.stringify(sampler.getState());
   * ```
   */
  getState(): BatchSamplerState {
    return { generator: this.generator.getState() }; // getState returns fresh arrays
  }

  /**
   * Restores a state from {@link BatchSampler.getState}; the next batches equal those that
   * followed the save.
   *
   * @example
   * ```ts
   * sampler.setState(JSON.parse(json));
   * ```
   */
  setState(state: BatchSamplerState): this {
    if (!state || typeof state !== "object" || !state.generator) {
      throw new Error("BatchSampler.setState: malformed state (expected { generator: <Generator state> })");
    }
    this.generator.setState(state.generator);
    return this;
  }
}
