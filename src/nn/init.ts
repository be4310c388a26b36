/**
 * nn.init: in-place initialisers driven by the seeded generator, with PyTorch's fan and gain
 * conventions (Glorot & Bengio 2010; He et al. 2015).
 */
import { withNoGrad } from "../autograd/graph.js";
import { fill_, normal_ as rawNormal, uniform_ as rawUniform } from "../ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import { defaultGenerator, type Generator } from "../util/rng.js";
import { shapeStr } from "../util/shape.js";

/** The nonlinearities {@link calculateGain} knows, named as in torch.nn.init. */
export type Nonlinearity = "linear" | "sigmoid" | "tanh" | "relu" | "leaky_relu";

/** Recommended gain for a nonlinearity, as torch.nn.init.calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
  }
}

/** [fanIn, fanOut] of a weight of shape (out, in, …receptive field). */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2)
    throw new Error(`init: fan in and fan out need a tensor with at least 2 dims, got ${shapeStr(t.shape)}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

let skipping = 0;

/**
 * Runs `fn` with every initialiser of this module a no-op (parameters keep the zeros they were
 * allocated with, and no generator is drawn from): for models about to be filled from a
 * checkpoint, as `from_pretrained` skips init in transformers. Nested calls are fine.
 * @example const model = withoutInit(() => new GPT(config)); model.loadStateDict(weights);
 */
export function withoutInit<T>(fn: () => T): T {
  skipping++;
  try {
    return fn();
  } finally {
    skipping--;
  }
}

/** True inside {@link withoutInit}. */
export function isInitSkipped(): boolean {
  return skipping > 0;
}

/** Fills from U(a, b). @example uniform_(w, -0.1, 0.1) */
export function uniform_(t: Tensor, a = 0, b = 1, generator: Generator = defaultGenerator): Tensor {
  if (skipping > 0) return t;
  return withNoGrad(() => rawUniform(t, a, b, generator));
}

/** Fills from N(mean, std²). @example normal_(w, 0, 0.02) */
export function normal_(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator): Tensor {
  if (skipping > 0) return t;
  return withNoGrad(() => rawNormal(t, mean, std, generator));
}

/** Fills `t` with `value` in place, as torch.nn.init.constant_. */
export function constant_(t: Tensor, value: number): Tensor {
  if (skipping > 0) return t;
  return withNoGrad(() => fill_(t, value));
}

/** Fills `t` with zeros in place. */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** Fills `t` with ones in place. */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** Glorot uniform: U(−a, a) with a = gain·√(6/(fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  const a = gain * Math.sqrt(6 / (fi + fo));
  return uniform_(t, -a, a, generator);
}

/** Glorot normal: N(0, std²) with std = gain·√(2/(fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fi + fo)), generator);
}

/** Options of the He (Kaiming) initialisers: the leaky-ReLU slope, which fan to use and the nonlinearity for the gain. */
export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (PyTorch's `a`). */
  a?: number;
  mode?: "fanIn" | "fanOut";
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}

/** He uniform: U(−b, b) with b = gain·√(3/fan). nn.Linear uses a = √5, i.e. b = 1/√fanIn. */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  const fan = (opts.mode ?? "fanIn") === "fanIn" ? fi : fo;
  const gain = calculateGain(opts.nonlinearity ?? "leaky_relu", opts.a ?? 0);
  // √3·(gain/√fan) in this order, as torch, so the float32 bound rounds the same.
  const bound = Math.sqrt(3) * (gain / Math.sqrt(fan));
  return uniform_(t, -bound, bound, opts.generator);
}

/** He normal: N(0, std²) with std = gain/√fan. */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  const fan = (opts.mode ?? "fanIn") === "fanIn" ? fi : fo;
  const gain = calculateGain(opts.nonlinearity ?? "leaky_relu", opts.a ?? 0);
  return normal_(t, 0, gain / Math.sqrt(fan), opts.generator);
}
