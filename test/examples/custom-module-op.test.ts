import { describe, expect, it } from "vitest";
import { gradCheck, SoftplusLayer, softplus, trainLayer } from "../../examples/custom-module-op.js";
import { add, exp, log, record, type Tensor, tensor, withNoGrad } from "../../src/index.js";

describe("examples/custom-module-op", () => {
  it("the hand-written backward rule passes the gradient check", () => {
    expect(gradCheck(8, 0)).toBeLessThan(1e-6);
  });

  it("the gradient check catches a wrong backward rule", () => {
    const wrong = (x: Tensor) =>
      record(
        withNoGrad(() => log(add(exp(x), 1))),
        "softplusWrong",
        [x],
        (g) => [g],
      );
    expect(gradCheck(8, 0, 1e-6, wrong)).toBeGreaterThan(1e-2);
  });

  it("softplus matches log(1 + e^x) at known points", () => {
    const y = softplus(tensor([0, 1, -2])).toArray();
    expect(y[0]).toBeCloseTo(Math.log(2), 5);
    expect(y[1]).toBeCloseTo(Math.log(1 + Math.E), 5);
    expect(y[2]).toBeCloseTo(Math.log(1 + Math.exp(-2)), 5);
  });

  // Own parameters come before children's, as in PyTorch's named_parameters().
  it("the module exposes its parameters and training lowers the loss", () => {
    const names = new SoftplusLayer(4, 3).namedParameters().map(([n]) => n);
    expect(names).toEqual(["scale", "linear.weight", "linear.bias"]);
    const { first, last } = trainLayer(20, 0);
    expect(last).toBeLessThan(first);
  });
});
