/**
 * Regression tests for engine bugs found while writing the op suite, plus edge-case semantics that
 * the parity fixtures do not reach (non-finite values, mixed dtypes).
 */
import { describe, expect, it } from "vitest";
import * as q from "../../src/index.js";

describe("regressions", () => {
  it("cat of float32 and float64 inputs returns each gradient in its input's dtype", () => {
    const a = q.ones([2], { requiresGrad: true });
    const b = q.ones([1, 2], { dtype: "float64", requiresGrad: true });
    const y = q.cat([q.unsqueeze(a, 0), b], 0);
    expect(y.dtype).toBe("float64");
    q.sum(q.mul(y, 2)).backward();
    expect(a.grad!.dtype).toBe("float32");
    expect(b.grad!.dtype).toBe("float64");
    expect(Array.from(a.grad!.toArray())).toEqual([2, 2]);
  });

  it("nllLoss ignores a row whose placeholder log-probability is −∞ (no NaN)", () => {
    const lp = q.tensor(
      [
        [Number.NEGATIVE_INFINITY, -0.1],
        [-1, -2],
      ],
      { requiresGrad: true },
    );
    const loss = q.nllLoss(lp, q.tensor([-100, 1], { dtype: "int32" }));
    expect(loss.item()).toBe(2);
    loss.backward();
    expect(lp.grad!.tolist()).toEqual([
      [0, 0],
      [0, -1],
    ]);
  });

  it("causal attention with T ≠ S works in both dtypes (tril of a bool mask stays bool)", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const g = new q.Generator(1);
      const [qq, k, v] = [
        [1, 2, 3],
        [1, 4, 3],
        [1, 4, 2],
      ].map((s) => q.randn(s, { dtype, generator: g }));
      const out = q.scaledDotProductAttention(qq, k, v, { isCausal: true });
      // Query 0 sees only key 0 (top-left alignment), so its output is v[0].
      const row0 = q.select(q.select(out, 0, 0), 0, 0).toArray();
      expect(Array.from(row0)).toEqual(Array.from(q.select(q.select(v, 0, 0), 0, 0).toArray()));
    }
  });

  it("float64 dropout scales by 1/(1−p) computed in float64", () => {
    const y = q.dropout(q.ones([64], { dtype: "float64" }), 0.1, { generator: new q.Generator(0) });
    const kept = Array.from(y.toArray()).filter((v) => v !== 0);
    expect(kept.length).toBeGreaterThan(0);
    for (const v of kept) expect(v).toBe(1 / 0.9);
  });
});

describe("non-finite and degenerate inputs", () => {
  it("crossEntropy with every target ignored is NaN under mean (0/0, as PyTorch) and 0 under sum", () => {
    const x = q.zeros([2, 3], { requiresGrad: true });
    const t = q.tensor([-100, -100], { dtype: "int32" });
    expect(q.crossEntropy(x, t).item()).toBeNaN();
    const s = q.crossEntropy(x, t, { reduction: "sum" });
    expect(s.item()).toBe(0);
    s.backward();
    expect(Array.from(x.grad!.toArray()).every((v) => v === 0)).toBe(true);
  });

  it("softmax and logSoftmax handle −∞ entries and huge logits", () => {
    const x = q.tensor(
      [
        [Number.NEGATIVE_INFINITY, 0, 0],
        [1000, 0, -1000],
      ],
      { dtype: "float64" },
    );
    expect(q.softmax(x, -1).tolist()).toEqual([
      [0, 0.5, 0.5],
      [1, 0, 0],
    ]);
    const ls = q.logSoftmax(x, -1).tolist() as number[][];
    expect(ls[0][0]).toBe(Number.NEGATIVE_INFINITY);
    expect(ls[0][1]).toBeCloseTo(-Math.LN2, 15);
    expect(ls[1]).toEqual([0, -1000, -2000]);
  });

  it("logsumexp of an all −∞ row is −∞, not NaN", () => {
    const x = q.full([2, 3], Number.NEGATIVE_INFINITY);
    expect(Array.from(q.logsumexp(x, 1).toArray())).toEqual([
      Number.NEGATIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
  });

  it("maximum/minimum and max reductions propagate NaN", () => {
    const x = q.tensor([1, Number.NaN, 3]);
    expect(q.maximum(x, 2).toArray()[1]).toBeNaN();
    expect(q.max(x).item()).toBeNaN();
    expect(q.min(x).item()).toBeNaN();
  });

  it("ties split the gradient of max evenly, and of maximum in half", () => {
    const x = q.tensor([2, 5, 5, 1], { dtype: "float64", requiresGrad: true });
    q.max(x).backward();
    expect(x.grad!.tolist()).toEqual([0, 0.5, 0.5, 0]);
    const a = q.tensor([1, 2], { dtype: "float64", requiresGrad: true });
    const b = q.tensor([1, 3], { dtype: "float64", requiresGrad: true });
    q.sum(q.maximum(a, b)).backward();
    expect(a.grad!.tolist()).toEqual([0.5, 0]);
    expect(b.grad!.tolist()).toEqual([0.5, 1]);
  });

  it("relu and abs have gradient 0 at 0, as in PyTorch", () => {
    const x = q.tensor([0, 0], { dtype: "float64", requiresGrad: true });
    q.sum(q.add(q.relu(x), q.abs(x))).backward();
    expect(x.grad!.tolist()).toEqual([0, 0]);
  });

  it("clamp passes the gradient at the bounds, as in PyTorch", () => {
    const x = q.tensor([-1, 0, 1, 2], { dtype: "float64", requiresGrad: true });
    q.sum(q.clamp(x, { min: 0, max: 1 })).backward();
    expect(x.grad!.tolist()).toEqual([0, 1, 1, 0]);
  });
});
