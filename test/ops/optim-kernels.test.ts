/** The optimizer-kernel family of ops/optim.ts, which the optimizers reach the backend through. */
import { describe, expect, it } from "vitest";
import { adamStepMulti, scaleInPlace, sumOfSquares } from "../../src/ops/optim.js";

const opts = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1, decoupled: true };

describe("optimizer kernels through ops", () => {
  it("sumOfSquares gives Σx² per buffer in float64; scaleInPlace multiplies in place", () => {
    const a = new Float64Array([1, 2, 3]);
    const b = new Float32Array([0.5, -4]);
    // 1 + 4 + 9 = 14; 0.25 + 16 = 16.25
    expect([...sumOfSquares([a, b])]).toEqual([14, 16.25]);
    scaleInPlace([a, b], -2);
    expect([...a]).toEqual([-2, -4, -6]);
    expect([...b]).toEqual([-1, 8]);
  });

  it("one Adam step moves each parameter by lr against its gradient's sign (m̂/√v̂ = ±1 at step 1)", () => {
    const p = new Float64Array([1, -1]);
    const g = new Float64Array([0.3, -2]);
    adamStepMulti({
      params: [p],
      grads: [g],
      expAvgs: [new Float64Array(2)],
      expAvgSqs: [new Float64Array(2)],
      maxExpAvgSqs: null,
      ...opts,
    });
    expect(p[0]).toBeCloseTo(0.9, 6);
    expect(p[1]).toBeCloseTo(-0.9, 6);
  });

  it("rejects lists of different lengths before any buffer is touched", () => {
    const p = new Float32Array([1]);
    expect(() =>
      adamStepMulti({ params: [p], grads: [], expAvgs: [p], expAvgSqs: [p], maxExpAvgSqs: null, ...opts }),
    ).toThrow(/adamStepMulti: 1 params but 0 grads/);
    expect(p[0]).toBe(1);
  });
});
