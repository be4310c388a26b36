/**
 * A feedforward network (input → hidden layers → output) trained by backpropagation on
 * interleaved spirals, a dataset no linear classifier separates. Every run is seeded through
 * qkv's Generator, so the numbers it prints are reproducible.
 *
 * It trains one network per activation (ReLU, sigmoid, tanh, GELU; softmax enters through
 * crossEntropy, which fuses log-softmax with the negative log-likelihood) and per optimizer
 * (SGD with the plain rule w ← w − η·∂L/∂w, Adam, RMSprop), and prints the training loss and
 * the accuracy on a held-out split.
 *
 *     npx tsx examples/feedforward.ts [--classes 3] [--steps 1000] [--seed 0]
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { crossEntropy, Generator, nn, optim, type Tensor, tensor, withNoGrad } from "../src/index.js";

export interface SpiralOptions {
  /** Number of spiral arms, one class each (default 3). */
  classes?: number;
  /** Points per arm (default 200). */
  pointsPerClass?: number;
  /** Full turns each arm makes from the centre to radius 1 (default 1.5). */
  turns?: number;
  /** Standard deviation of the angular noise in radians (default 0.1). */
  noise?: number;
  generator?: Generator;
}

export interface Dataset {
  /** (N, 2) float32 points. */
  x: Tensor;
  /** (N) int32 class labels. */
  y: Tensor;
}

/**
 * `classes` interleaved spiral arms: for arm k, point i has radius r = (i + 1)/n and angle
 * 2πk/K + 2π·turns·r + noise, so the arms wind around each other.
 * @example const { x, y } = makeSpirals({ classes: 2, generator: new Generator(0) });
 */
export function makeSpirals(opts: SpiralOptions = {}): Dataset {
  const K = opts.classes ?? 3;
  const n = opts.pointsPerClass ?? 200;
  const turns = opts.turns ?? 1.5;
  const noise = opts.noise ?? 0.1;
  const g = opts.generator ?? new Generator(0);
  const x = new Float32Array(K * n * 2);
  const y = new Int32Array(K * n);
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < n; i++) {
      const r = (i + 1) / n;
      const theta = (2 * Math.PI * k) / K + 2 * Math.PI * turns * r + noise * g.normal();
      const j = k * n + i;
      x[2 * j] = r * Math.cos(theta);
      x[2 * j + 1] = r * Math.sin(theta);
      y[j] = k;
    }
  }
  return { x: tensor(x, { shape: [K * n, 2] }), y: tensor(y) };
}

/** Shuffles the rows with `generator` and holds out `fraction` of them. */
export function trainTestSplit(
  data: Dataset,
  fraction: number,
  generator: Generator,
): { train: Dataset; test: Dataset } {
  const n = data.y.numel();
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = generator.randint(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nTest = Math.round(n * fraction);
  const take = (idx: number[]): Dataset => {
    const xd = data.x.toArray();
    const yd = data.y.toArray();
    const x = new Float32Array(idx.length * 2);
    const y = new Int32Array(idx.length);
    idx.forEach((src, dst) => {
      x[2 * dst] = xd[2 * src];
      x[2 * dst + 1] = xd[2 * src + 1];
      y[dst] = yd[src];
    });
    return { x: tensor(x, { shape: [idx.length, 2] }), y: tensor(y) };
  };
  return { test: take(order.slice(0, nTest)), train: take(order.slice(nTest)) };
}

export type OptimizerName = "sgd" | "adam" | "rmsprop";

export interface TrainOptions {
  activation?: nn.ActivationName;
  optimizer?: OptimizerName;
  /** Hidden layer widths (default [32, 32]). */
  hidden?: number[];
  /** Learning rate (default: a per-optimizer value that suits this problem). */
  lr?: number;
  /** Training steps (default 1000). */
  steps?: number;
  /** Mini-batch size; 0 (default) trains on the full training set every step. */
  batchSize?: number;
  /** Evaluate on the held-out split every this many steps (default 50). */
  evalEvery?: number;
  /** Stop as soon as held-out accuracy reaches this (default: never stop early). */
  stopAt?: number;
  /** Seeds the data, the split, the initialisation and the batches (default 0). */
  seed?: number;
  data?: SpiralOptions;
  /** Fraction of points held out (default 0.25). */
  testFraction?: number;
}

export interface TrainResult {
  activation: nn.ActivationName;
  optimizer: OptimizerName;
  lr: number;
  /** Steps taken. */
  steps: number;
  /** Training loss of the last step. */
  loss: number;
  trainAccuracy: number;
  testAccuracy: number;
  /** First evaluated step at which held-out accuracy reached `stopAt` (or 0.97), or null. */
  stepsTo97: number | null;
  /** (step, loss, held-out accuracy) at each evaluation. */
  history: { step: number; loss: number; testAccuracy: number }[];
  model: nn.MLP;
}

/** Learning rates that train this network well with full-batch steps. */
export const DEFAULT_LR: Record<OptimizerName, number> = { sgd: 0.5, adam: 0.02, rmsprop: 0.005 };

/** Fraction of rows whose arg-max logit is the label. */
export function accuracy(model: nn.MLP, data: Dataset): number {
  return withNoGrad(() => {
    const logits = model.forward(data.x).toArray();
    const y = data.y.toArray();
    const C = logits.length / y.length;
    let right = 0;
    for (let i = 0; i < y.length; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (logits[i * C + c] > logits[i * C + best]) best = c;
      if (best === y[i]) right++;
    }
    return right / y.length;
  });
}

function makeOptimizer(name: OptimizerName, params: nn.Parameter[], lr: number): optim.Optimizer {
  switch (name) {
    case "sgd":
      return new optim.SGD(params, { lr }); // w ← w − η·∂L/∂w
    case "adam":
      return new optim.Adam(params, { lr });
    case "rmsprop":
      return new optim.RMSprop(params, { lr });
  }
}

function rows(data: Dataset, idx: Int32Array): Dataset {
  const idxT = tensor(idx);
  return { x: data.x.indexSelect(0, idxT), y: data.y.indexSelect(0, idxT) };
}

/**
 * Trains an MLP [2, …hidden, classes] with softmax cross-entropy by backprop and returns the loss
 * and accuracies. Deterministic for a given seed.
 * @example const r = trainFeedforward({ activation: "tanh", optimizer: "adam", steps: 800 });
 */
export function trainFeedforward(opts: TrainOptions = {}): TrainResult {
  const activation = opts.activation ?? "relu";
  const optimizerName = opts.optimizer ?? "adam";
  const lr = opts.lr ?? DEFAULT_LR[optimizerName];
  const steps = opts.steps ?? 1000;
  const evalEvery = opts.evalEvery ?? 50;
  const target = opts.stopAt ?? 0.97;
  const seed = opts.seed ?? 0;
  const g = new Generator(seed);
  const all = makeSpirals({ ...opts.data, generator: g });
  const { train, test } = trainTestSplit(all, opts.testFraction ?? 0.25, g);
  const classes = opts.data?.classes ?? 3;
  const model = new nn.MLP([2, ...(opts.hidden ?? [32, 32]), classes], { activation, generator: g });
  const opt = makeOptimizer(optimizerName, model.parameters(), lr);
  const nTrain = train.y.numel();
  const batchSize = opts.batchSize && opts.batchSize < nTrain ? opts.batchSize : 0;

  const history: TrainResult["history"] = [];
  let loss = Number.NaN;
  let stepsTo97: number | null = null;
  let step = 0;
  while (step < steps) {
    let batch = train;
    if (batchSize) {
      const idx = new Int32Array(batchSize);
      for (let i = 0; i < batchSize; i++) idx[i] = g.randint(0, nTrain);
      batch = rows(train, idx);
    }
    opt.zeroGrad();
    const l = crossEntropy(model.forward(batch.x), batch.y);
    l.backward();
    opt.step();
    loss = l.item();
    step++;
    if (step % evalEvery === 0 || step === steps) {
      const testAccuracy = accuracy(model, test);
      history.push({ step, loss, testAccuracy });
      if (stepsTo97 === null && testAccuracy >= target) {
        stepsTo97 = step;
        if (opts.stopAt !== undefined) break;
      }
    }
  }
  return {
    activation,
    optimizer: optimizerName,
    lr,
    steps: step,
    loss,
    trainAccuracy: accuracy(model, train),
    testAccuracy: accuracy(model, test),
    stepsTo97,
    history,
    model,
  };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function main(): void {
  const classes = arg("classes", 3);
  const steps = arg("steps", 1000);
  const seed = arg("seed", 0);
  console.log(
    `${classes} interleaved spirals, 600 points, 25% held out; MLP [2, 32, 32, ${classes}]; ${steps} full-batch steps`,
  );
  console.log("activation  optimizer  lr      train loss  train acc  held-out acc  steps to 97%  time");
  const results: TrainResult[] = [];
  for (const activation of ["relu", "sigmoid", "tanh", "gelu"] as const) {
    for (const optimizer of ["sgd", "adam", "rmsprop"] as const) {
      const t0 = performance.now();
      const r = trainFeedforward({
        activation,
        optimizer,
        steps,
        seed,
        data: { classes, pointsPerClass: Math.round(600 / classes) },
      });
      const secs = (performance.now() - t0) / 1000;
      results.push(r);
      console.log(
        `${activation.padEnd(10)}  ${optimizer.padEnd(9)}  ${String(r.lr).padEnd(6)}  ${r.loss.toFixed(4).padStart(10)}  ` +
          `${(100 * r.trainAccuracy).toFixed(1).padStart(8)}%  ${(100 * r.testAccuracy).toFixed(1).padStart(11)}%  ` +
          `${String(r.stepsTo97 ?? "-").padStart(12)}  ${secs.toFixed(1)}s`,
      );
    }
  }
  const best = results.reduce((a, b) => (b.testAccuracy > a.testAccuracy ? b : a));
  console.log(
    `best: ${best.activation} + ${best.optimizer}, held-out accuracy ${(100 * best.testAccuracy).toFixed(1)}%`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
