/**
 * Learning-rate schedules, stepping like torch.optim.lr_scheduler: the constructor records each
 * group's `initialLr` and sets the lr for epoch 0; every `step()` advances one epoch (or
 * iteration) and writes the new lr into the optimizer's groups.
 */
import type { Optimizer, OptimizerOptions } from "./optimizer.js";

/** JSON-like fields of a scheduler (everything but the optimizer and any functions). */
export type SchedulerStateDict = Record<string, unknown>;

function isFunctionValued(v: unknown): boolean {
  return typeof v === "function" || (Array.isArray(v) && v.some((x) => typeof x === "function"));
}

function copyJson<T>(v: T): T {
  if (Array.isArray(v)) return v.map(copyJson) as T;
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = copyJson(x);
    return out as T;
  }
  return v;
}

/**
 * Base class. Subclasses compute the lr of every group for `lastEpoch` in `computeLr`, and call
 * `this.initialStep()` at the end of their constructor (after their own fields are set), which
 * is where PyTorch's constructor takes its first step.
 */
export abstract class LRScheduler {
  readonly optimizer: Optimizer<OptimizerOptions>;
  /** The epoch (or iteration) whose lr is in effect; −1 before the initial step. */
  lastEpoch: number;
  /** Each group's lr when the schedule started (its `initialLr`). */
  baseLrs: number[];
  /** Number of `step()` calls, counting the initial one. */
  stepCount = 0;
  private lastLr: number[] = [];

  /** With `lastEpoch` ≥ 0 the schedule resumes, and every group must already have `initialLr`. */
  constructor(optimizer: Optimizer<OptimizerOptions>, lastEpoch = -1) {
    this.optimizer = optimizer;
    const name = this.constructor.name;
    optimizer.paramGroups.forEach((g, i) => {
      if (lastEpoch === -1) g.initialLr = g.lr;
      else if (g.initialLr === undefined)
        throw new Error(
          `${name}: param group ${i} has no initialLr; pass lastEpoch = -1 to start a schedule`,
        );
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** Takes the first step (epoch lastEpoch + 1); subclasses call it last in their constructor. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The lr of every group at `this.lastEpoch`. */
  protected abstract computeLr(): number[];

  /** Advances one epoch and sets the groups' lrs. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    const lrs = this.computeLr();
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = lrs[i];
    });
    this.lastLr = [...lrs];
  }

  /** The lrs the last step set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** Every field but the optimizer and functions (like PyTorch's `__dict__` minus the optimizer). */
  stateDict(): SchedulerStateDict {
    const sd: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(this))
      if (k !== "optimizer" && !isFunctionValued(v)) sd[k] = copyJson(v);
    return sd;
  }

  /** Restores fields saved by `stateDict()`; the optimizer's lrs are restored by its own state dict. */
  loadStateDict(sd: SchedulerStateDict): void {
    const own = this as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(sd)) {
      if (k === "optimizer" || !(k in own) || isFunctionValued(own[k])) {
        throw new Error(`${this.constructor.name}.loadStateDict: unexpected key "${k}"`);
      }
      own[k] = copyJson(v);
    }
  }
}

/**
 * Multiplies the lr by `gamma` every `stepSize` epochs (torch's chainable form: lr ← lr·γ on
 * epochs that are multiples of stepSize).
 * @example const sched = new StepLR(opt, { stepSize: 30, gamma: 0.1 });
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(
    optimizer: Optimizer<OptimizerOptions>,
    opts: { stepSize: number; gamma?: number; lastEpoch?: number },
  ) {
    super(optimizer, opts.lastEpoch);
    if (!(Number.isInteger(opts.stepSize) && opts.stepSize > 0))
      throw new Error(`StepLR: stepSize must be a positive integer, got ${opts.stepSize}`);
    this.stepSize = opts.stepSize;
    this.gamma = opts.gamma ?? 0.1;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }
}

/**
 * lr = initialLr · λ(epoch), one λ for all groups or one per group. The λs are not saved in the
 * state dict (as in PyTorch).
 * @example const sched = new LambdaLR(opt, (e) => 0.95 ** e);
 */
export class LambdaLR extends LRScheduler {
  private readonly lrLambdas: ((epoch: number) => number)[];

  constructor(
    optimizer: Optimizer<OptimizerOptions>,
    lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[],
    lastEpoch = -1,
  ) {
    super(optimizer, lastEpoch);
    const n = optimizer.paramGroups.length;
    if (Array.isArray(lrLambda)) {
      if (lrLambda.length !== n)
        throw new Error(`LambdaLR: expected ${n} lr lambdas, got ${lrLambda.length}`);
      this.lrLambdas = [...lrLambda];
    } else this.lrLambdas = new Array(n).fill(lrLambda);
    this.initialStep();
  }

  protected computeLr(): number[] {
    return this.baseLrs.map((b, i) => b * this.lrLambdas[i](this.lastEpoch));
  }
}

/** The schedule of {@link CosineWithWarmup}: linear warmup, then cosine decay to `minLr` (nanoGPT's). */
export interface CosineWithWarmupOptions {
  /** Iterations of linear warmup. */
  warmupIters: number;
  /** Iteration at which the cosine reaches minLr (after it, the lr stays at minLr). */
  lrDecayIters: number;
  /** Final lr (absolute, shared by all groups). */
  minLr: number;
}

/**
 * nanoGPT's `get_lr(it)`, verbatim: for it < warmupIters the warmup is
 * lr·(it + 1)/(warmupIters + 1) — nanoGPT's current form, so iteration 0 already trains at
 * lr/(warmupIters + 1) rather than 0 and the ramp reaches lr·warmup/(warmup + 1) before the cosine
 * takes over at lr; then minLr + ½(1 + cos(π·r))·(lr − minLr) with
 * r = (it − warmupIters)/(lrDecayIters − warmupIters); after lrDecayIters, minLr.
 * @example cosineWithWarmupLr(100, { lr: 6e-4, warmupIters: 2000, lrDecayIters: 600000, minLr: 6e-5 })
 */
export function cosineWithWarmupLr(it: number, opts: CosineWithWarmupOptions & { lr: number }): number {
  const { lr, warmupIters, lrDecayIters, minLr } = opts;
  if (it < warmupIters) return (lr * (it + 1)) / (warmupIters + 1);
  if (it > lrDecayIters) return minLr;
  const decayRatio = (it - warmupIters) / (lrDecayIters - warmupIters);
  const coeff = 0.5 * (1.0 + Math.cos(Math.PI * decayRatio));
  return minLr + coeff * (lr - minLr);
}

/**
 * Linear warmup then cosine decay to minLr, as nanoGPT (see `cosineWithWarmupLr`), with each
 * group's initialLr as the peak lr and lastEpoch as the iteration.
 * @example const sched = new CosineWithWarmup(opt, { warmupIters: 100, lrDecayIters: 5000, minLr: 6e-5 });
 */
export class CosineWithWarmup extends LRScheduler {
  readonly warmupIters: number;
  readonly lrDecayIters: number;
  readonly minLr: number;

  constructor(
    optimizer: Optimizer<OptimizerOptions>,
    opts: CosineWithWarmupOptions & { lastEpoch?: number },
  ) {
    super(optimizer, opts.lastEpoch);
    if (!(opts.warmupIters >= 0))
      throw new Error(`CosineWithWarmup: warmupIters must be ≥ 0, got ${opts.warmupIters}`);
    if (!(opts.lrDecayIters > opts.warmupIters)) {
      throw new Error(
        `CosineWithWarmup: lrDecayIters (${opts.lrDecayIters}) must exceed warmupIters (${opts.warmupIters})`,
      );
    }
    this.warmupIters = opts.warmupIters;
    this.lrDecayIters = opts.lrDecayIters;
    this.minLr = opts.minLr;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const { warmupIters, lrDecayIters, minLr } = this;
    return this.baseLrs.map((lr) =>
      cosineWithWarmupLr(this.lastEpoch, { lr, warmupIters, lrDecayIters, minLr }),
    );
  }
}

/** The schedule of {@link InverseSqrtWarmup}: lr = factor · dModel^−½ · min(step^−½, step · warmup^−³ᐟ²). */
export interface InverseSqrtWarmupOptions {
  /** Model width d_model. */
  dModel: number;
  /** Warmup steps. */
  warmup: number;
  /** Overall scale (1 in the paper). */
  factor?: number;
}

/**
 * "Attention Is All You Need" (Vaswani et al. 2017, eq. 3):
 * factor · d_model^−0.5 · min(step^−0.5, step · warmup^−1.5), for training step ≥ 1.
 * @example inverseSqrtWarmupLr(1, { dModel: 512, warmup: 4000 })
 */
export function inverseSqrtWarmupLr(step: number, opts: InverseSqrtWarmupOptions): number {
  if (!(step >= 1)) throw new Error(`inverseSqrtWarmupLr: step counts from 1, got ${step}`);
  const factor = opts.factor ?? 1;
  return factor * (opts.dModel ** -0.5 * Math.min(step ** -0.5, step * opts.warmup ** -1.5));
}

/**
 * The Transformer schedule: lr = initialLr · inverseSqrtWarmupLr(lastEpoch + 1, opts), so the
 * optimizer's lr acts as a multiplier (give it lr 1 for the paper's formula) and epoch 0 is the
 * paper's step_num 1. Equivalent to torch's LambdaLR with λ(e) = rate(e + 1).
 * @example const sched = new InverseSqrtWarmup(new Adam(params, { lr: 1, betas: [0.9, 0.98], eps: 1e-9 }), { dModel: 512, warmup: 4000 });
 */
export class InverseSqrtWarmup extends LRScheduler {
  readonly dModel: number;
  readonly warmup: number;
  readonly factor: number;

  constructor(
    optimizer: Optimizer<OptimizerOptions>,
    opts: InverseSqrtWarmupOptions & { lastEpoch?: number },
  ) {
    super(optimizer, opts.lastEpoch);
    if (!(opts.dModel > 0)) throw new Error(`InverseSqrtWarmup: dModel must be positive, got ${opts.dModel}`);
    if (!(opts.warmup > 0)) throw new Error(`InverseSqrtWarmup: warmup must be positive, got ${opts.warmup}`);
    this.dModel = opts.dModel;
    this.warmup = opts.warmup;
    this.factor = opts.factor ?? 1;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const opts = { dModel: this.dModel, warmup: this.warmup, factor: this.factor };
    return this.baseLrs.map((b) => b * inverseSqrtWarmupLr(this.lastEpoch + 1, opts));
  }
}
