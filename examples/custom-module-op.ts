/**
 * Extending qkv: a user-defined differentiable op and a user-defined Module.
 *
 * The op is softplus, y = log(1 + eˣ), written the way a new kernel is: the forward computes
 * values with autograd off, and `record` attaches the backward rule ∂y/∂x = sigmoid(x) to the
 * output. A gradient check compares that rule with central finite differences in float64.
 * The module (a Linear layer followed by the op) is trained for a few SGD steps to show the
 * gradients flow through both into its parameters.
 *
 *     npx tsx examples/custom-module-op.ts [--steps 50] [--seed 0]
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  add,
  exp,
  Generator,
  log,
  Module,
  mul,
  nn,
  optim,
  Parameter,
  randn,
  record,
  sigmoid,
  sum,
  type Tensor,
  tensor,
  withNoGrad,
} from "../src/index.js";

/** softplus(x) = log(1 + eˣ), with its own backward rule. */
export function softplus(x: Tensor): Tensor {
  const y = withNoGrad(() => log(add(exp(x), 1)));
  return record(y, "softplus", [x], (gradOut) => [
    mul(
      gradOut,
      withNoGrad(() => sigmoid(x)),
    ),
  ]);
}

/** A Linear layer followed by softplus: parameters are found through its fields. */
export class SoftplusLayer extends Module {
  readonly linear: nn.Linear;
  readonly scale: Parameter;
  constructor(inFeatures: number, outFeatures: number, generator?: Generator) {
    super();
    this.linear = new nn.Linear(inFeatures, outFeatures, { generator });
    this.scale = new Parameter(randn([outFeatures], { generator }));
  }
  forward(x: Tensor): Tensor {
    return mul(softplus(this.linear.forward(x)), this.scale);
  }
}

/** Largest |analytic − numeric| gradient of sum(op(x)·w) over x, in float64 (op defaults to softplus). */
export function gradCheck(n = 8, seed = 0, eps = 1e-6, op: (t: Tensor) => Tensor = softplus): number {
  const g = new Generator(seed);
  const x = randn([n], { generator: g, dtype: "float64" }).requiresGrad_();
  const w = randn([n], { generator: g, dtype: "float64" });
  const f = (t: Tensor) => sum(mul(op(t), w));
  f(x).backward();
  const analytic = x.grad!.toArray();
  const xs = x.toArray();
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const at = (d: number) => {
      const v = Float64Array.from(xs as Float64Array);
      v[i] += d;
      return withNoGrad(() => f(tensor(v)).item());
    };
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    worst = Math.max(worst, Math.abs(numeric - analytic[i]));
  }
  return worst;
}

/** Fits SoftplusLayer to a fixed random target with SGD; returns the first and last loss. */
export function trainLayer(steps = 50, seed = 0): { first: number; last: number } {
  const g = new Generator(seed);
  const layer = new SoftplusLayer(4, 3, g);
  const x = randn([32, 4], { generator: g });
  const target = randn([32, 3], { generator: g });
  const opt = new optim.SGD(layer.parameters(), { lr: 0.05 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    const diff = add(layer.forward(x), mul(target, -1));
    const loss = mul(sum(mul(diff, diff)), 1 / diff.numel());
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  return { first: losses[0], last: losses[losses.length - 1] };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const seed = arg("seed", 0);
  const err = gradCheck(8, seed);
  console.log(
    `gradient check: max |analytic - numeric| = ${err.toExponential(2)} ${err < 1e-6 ? "PASSED" : "FAILED"}`,
  );
  const { first, last } = trainLayer(arg("steps", 50), seed);
  console.log(`training: loss ${first.toFixed(4)} -> ${last.toFixed(4)}`);
}
