/**
 * The training loop: gradient accumulation, a learning-rate schedule, gradient clipping,
 * periodic evaluation and checkpointing. It is browser-safe and never prints: progress goes out
 * as events, and checkpoints go to an injected store (the CLI's writes folders on disk).
 */
import { tidy, withNoGrad } from "../autograd/graph.js";
import type { Module } from "../nn/module.js";
import { clipGradNorm } from "../optim/clip.js";
import type { Tensor } from "../tensor/tensor.js";
import { QkvError } from "../util/errors.js";
import { defaultGenerator, type GeneratorState } from "../util/rng.js";

/** What a model family contributes to training: batches, losses and evaluation. */
export interface TrainTask {
  readonly model: Module;
  /** Tokens (or target positions) consumed by one micro-batch, for throughput figures. */
  readonly tokensPerBatch: number;
  /** Loss of one fresh training micro-batch, with the graph recorded. */
  trainLoss(): Tensor;
  /** Mean loss over `iters` batches of a split; the batches are the same at every evaluation. */
  evalLoss(split: "train" | "val", iters: number): number;
  /** Further held-out metrics (e.g. masked-token accuracy), computed at each evaluation. */
  evalMetrics?(): Record<string, number>;
  /** Data-position state (sampler generators), saved in checkpoints for exact resume. */
  getState(): unknown;
  /** Restores what {@link TrainTask.getState} returned. */
  setState(state: unknown): void;
}

/** The optimizer surface the loop needs (qkv's optim classes satisfy it). */
export interface TrainOptimizer {
  paramGroups: { lr: number }[];
  /** Applies one update from the accumulated gradients. */
  step(): void;
  /** Clears the parameters' gradients. */
  zeroGrad(): void;
  /** Its state (moments, step counts, groups), for checkpoints. */
  stateDict(): unknown;
  /** Restores what stateDict returned. */
  loadStateDict(state: never): void;
}

/** The loop's own state, saved in every checkpoint so a run resumes where it stopped. */
export interface TrainerState {
  /** The next iteration to run. */
  iter: number;
  bestValLoss: number;
  /** State of the default generator (dropout masks). */
  rng: GeneratorState;
  task: unknown;
  /** Training time spent so far, across resumes. */
  elapsedMs: number;
}

/** What the loop reports through `onEvent`: each logged step, each evaluation, each saved checkpoint, a NaN/Inf, and the end. */
export type TrainEvent =
  | {
      type: "step";
      iter: number;
      loss: number;
      lr: number;
      gradNorm: number;
      msPerIter: number;
      tokensPerSec: number;
      elapsedMs: number;
    }
  | {
      type: "eval";
      iter: number;
      trainLoss: number;
      valLoss: number;
      improved: boolean;
      metrics: Record<string, number>;
      elapsedMs: number;
    }
  | { type: "checkpoint"; iter: number; kind: "last" | "best"; path: string }
  | {
      /** A loss, gradient or parameter went NaN/Inf at `iter`; `what` names it; `action` is what the loop did. */
      type: "nonfinite";
      iter: number;
      what: string;
      action: "stop" | "skip";
    }
  | { type: "done"; iter: number; bestValLoss: number; elapsedMs: number };

/**
 * What the loop does when a loss, gradient or parameter becomes NaN or ±Inf: "stop" throws a
 * {@link NonFiniteError} before anything is saved; "skip" drops that step's update (parameters
 * and optimizer state are as before the step, the data position moves on) and continues.
 */
export type OnNonFinite = "stop" | "skip";

/** Training produced a NaN/Inf; `iter` is the step and `field` the loss or parameter named. */
export class NonFiniteError extends QkvError {
  constructor(
    readonly iter: number,
    readonly what: string,
  ) {
    super(`non-finite ${what} at iteration ${iter}; nothing was saved from this step`, { field: what });
    this.name = "NonFiniteError";
  }
}

/** Name of the first parameter (or its gradient) holding a NaN/Inf, or null when all are finite. */
export function firstNonFinite(model: Module, which: "param" | "grad"): string | null {
  for (const [name, p] of model.namedParameters()) {
    const t = which === "param" ? p : p.grad;
    if (!t) continue;
    const d = (
      t.isContiguous() ? t.data.subarray(t.offset, t.offset + t.numel()) : t.toArray()
    ) as ArrayLike<number>;
    for (let i = 0; i < d.length; i++) {
      // x − x is 0 for every finite x and NaN for NaN and ±Inf: one test for both.
      if (d[i] - d[i] !== 0) return which === "param" ? `parameter ${name}` : `gradient of ${name}`;
    }
  }
  return null;
}

/** Persists checkpoints; `kind` "best" is the lowest validation loss so far, "last" the newest. */
export interface CheckpointStore {
  /** Writes a checkpoint of the given kind and resolves to where it went. */
  save(kind: "last" | "best", state: TrainerState): Promise<string>;
}

/** Settings of the training loop: iteration counts, accumulation, clipping, the schedule, and callbacks. */
export interface TrainerOptions {
  maxIters: number;
  gradAccum: number;
  /** Clip the global gradient norm to this value (0 disables clipping). */
  gradClip: number;
  evalInterval: number;
  evalIters: number;
  logInterval: number;
  alwaysSaveCheckpoint: boolean;
  /** Learning rate at iteration `it`. */
  lrAt: (it: number) => number;
  /** Receives every {@link TrainEvent} (the CLI prints them). */
  onEvent?: (e: TrainEvent) => void;
  store?: CheckpointStore;
  /** Monotonic clock in ms (injectable for tests). */
  now?: () => number;
  /** NaN/Inf policy (default "stop"). */
  onNonFinite?: OnNonFinite;
}

/**
 * Runs training for a task and optimizer.
 * @example
 * const trainer = new Trainer(task, optimizer, { maxIters: 100, gradAccum: 1, gradClip: 1, ... });
 * await trainer.run();
 */
export class Trainer {
  iter = 0;
  bestValLoss = Number.POSITIVE_INFINITY;
  private elapsedMs = 0;
  private stopRequested = false;
  /** The iteration a checkpoint was restored at: its evaluation already happened before saving. */
  private resumedAt = -1;

  constructor(
    readonly task: TrainTask,
    readonly optimizer: TrainOptimizer,
    readonly opts: TrainerOptions,
  ) {}

  /** The state a checkpoint must hold to continue exactly. */
  state(): TrainerState {
    return {
      iter: this.iter,
      bestValLoss: this.bestValLoss,
      rng: defaultGenerator.getState(),
      task: this.task.getState(),
      elapsedMs: this.elapsedMs,
    };
  }

  /** Restores a saved state (model and optimizer weights are restored by the caller). */
  restore(s: TrainerState): void {
    this.iter = s.iter;
    this.bestValLoss = s.bestValLoss ?? Number.POSITIVE_INFINITY;
    this.elapsedMs = s.elapsedMs ?? 0;
    defaultGenerator.setState(s.rng);
    this.task.setState(s.task);
    this.resumedAt = s.iter;
  }

  /** Asks the loop to stop after the current iteration (e.g. on SIGINT). */
  requestStop(): void {
    this.stopRequested = true;
  }

  /**
   * One optimisation step (gradient accumulation, clipping, update); returns the mean loss and
   * grad norm, and `bad` naming the loss, gradient or parameter that went NaN/Inf (then the
   * update was not applied, or was undone: see {@link OnNonFinite}).
   */
  step(lr: number): { loss: number; gradNorm: number; bad?: string } {
    const { task, optimizer, opts } = this;
    task.model.train();
    for (const g of optimizer.paramGroups) g.lr = lr;
    let lossSum = 0;
    for (let micro = 0; micro < opts.gradAccum; micro++) {
      // tidy: the step's activations and gradients go back to the memory pool afterwards.
      const l = tidy(() => {
        const loss = task.trainLoss();
        const v = loss.item();
        // A non-finite loss is not backpropagated: its gradients would be NaN everywhere.
        if (!Number.isFinite(v)) return v;
        // Scale so accumulated gradients equal those of one batch gradAccum times larger.
        (opts.gradAccum > 1 ? loss.div(opts.gradAccum) : loss).backward();
        return v;
      });
      if (!Number.isFinite(l)) {
        optimizer.zeroGrad();
        return {
          loss: l,
          gradNorm: Number.NaN,
          bad: opts.gradAccum > 1 ? `loss (micro-batch ${micro})` : "loss",
        };
      }
      lossSum += l;
    }
    const loss = lossSum / opts.gradAccum;
    const badGrad = firstNonFinite(task.model, "grad");
    if (badGrad) {
      optimizer.zeroGrad();
      return { loss, gradNorm: Number.NaN, bad: badGrad };
    }
    const params = task.model.parameters();
    const gradNorm = opts.gradClip > 0 ? clipGradNorm(params, opts.gradClip) : Number.NaN;
    // Finite gradients can still overflow a parameter (a huge learning rate): with "skip" the
    // step is undone from a copy of the parameters and the optimizer state taken here.
    const before = (opts.onNonFinite ?? "stop") === "skip" ? this.snapshot() : null;
    optimizer.step();
    optimizer.zeroGrad();
    const badParam = firstNonFinite(task.model, "param");
    if (badParam && before) before();
    return badParam ? { loss, gradNorm, bad: badParam } : { loss, gradNorm };
  }

  /** Copies parameters and optimizer state; the returned function puts them back. */
  private snapshot(): () => void {
    const params = this.task.model.parameters();
    const copies = params.map((p) => p.data.slice(p.offset, p.offset + p.numel()));
    const opt = this.optimizer.stateDict();
    return () => {
      params.forEach((p, i) => {
        p.data.set(copies[i] as never, p.offset);
      });
      this.optimizer.loadStateDict(opt as never);
    };
  }

  /** Evaluates both splits (eval mode, no graph). */
  evaluate(): { trainLoss: number; valLoss: number; metrics: Record<string, number> } {
    const { task, opts } = this;
    task.model.eval();
    try {
      return withNoGrad(() => ({
        trainLoss: task.evalLoss("train", opts.evalIters),
        valLoss: task.evalLoss("val", opts.evalIters),
        metrics: task.evalMetrics?.() ?? {},
      }));
    } finally {
      task.model.train();
    }
  }

  /** Trains until maxIters (evaluating at 0, every evalInterval, and at the end). */
  async run(): Promise<TrainerState> {
    const { opts } = this;
    const now = opts.now ?? (() => performance.now());
    const emit = opts.onEvent ?? (() => {});
    let windowStart = now();
    let windowIters = 0;
    while (this.iter <= opts.maxIters && !this.stopRequested) {
      const it = this.iter;
      if ((it % opts.evalInterval === 0 || it === opts.maxIters) && it !== this.resumedAt) {
        const t0 = now();
        const ev = this.evaluate();
        const badEval = !Number.isFinite(ev.valLoss)
          ? "validation loss"
          : !Number.isFinite(ev.trainLoss)
            ? "evaluation train loss"
            : null;
        if (badEval) {
          // Never saved: a non-finite evaluation skips this round's checkpoints (or stops).
          const action = opts.onNonFinite ?? "stop";
          emit({ type: "nonfinite", iter: it, what: badEval, action });
          if (action === "stop") throw new NonFiniteError(it, badEval);
        }
        const improved = !badEval && ev.valLoss < this.bestValLoss;
        if (improved) this.bestValLoss = ev.valLoss;
        this.elapsedMs += now() - t0;
        emit({ type: "eval", iter: it, ...ev, improved, elapsedMs: this.elapsedMs });
        if (opts.store && it > 0 && !badEval) {
          const badParam = firstNonFinite(this.task.model, "param");
          if (badParam) throw new NonFiniteError(it, badParam);
          // "best" is written before "last", so a crash in between still leaves a usable "last".
          if (improved)
            emit({
              type: "checkpoint",
              iter: it,
              kind: "best",
              path: await opts.store.save("best", this.state()),
            });
          if (opts.alwaysSaveCheckpoint || it === opts.maxIters) {
            emit({
              type: "checkpoint",
              iter: it,
              kind: "last",
              path: await opts.store.save("last", this.state()),
            });
          }
        }
        windowStart = now();
        windowIters = 0;
      }
      if (it === opts.maxIters) break;
      const t0 = now();
      const { loss, gradNorm, bad } = this.step(opts.lrAt(it));
      const t1 = now();
      if (bad) {
        const action = opts.onNonFinite ?? "stop";
        emit({ type: "nonfinite", iter: it, what: bad, action });
        if (action === "stop") throw new NonFiniteError(it, bad);
      }
      this.elapsedMs += t1 - t0;
      windowIters++;
      this.iter = it + 1;
      if (it % opts.logInterval === 0) {
        const ms = (t1 - windowStart) / windowIters;
        emit({
          type: "step",
          iter: it,
          loss,
          lr: opts.lrAt(it),
          gradNorm,
          msPerIter: ms,
          tokensPerSec: (this.task.tokensPerBatch * opts.gradAccum * 1000) / ms,
          elapsedMs: this.elapsedMs,
        });
        windowStart = now();
        windowIters = 0;
      }
    }
    emit({ type: "done", iter: this.iter, bestValLoss: this.bestValLoss, elapsedMs: this.elapsedMs });
    return this.state();
  }
}
