/**
 * qkvPackedAttention: multi-head self-attention read from a packed (B, T, 3C) projection. It must
 * equal the unfused route (split into q, k, v → (B, nh, T, hs) heads → scaledDotProductAttention →
 * merge to (B, T, C)) in value and gradient, and its own gradient must match central differences.
 */
import { describe, expect, it } from "vitest";
import type { Tensor } from "../../src/index.js";
import * as q from "../../src/index.js";
import { expectClose, gradCheck, leaf } from "../helpers.js";

/** The unfused reference: the copies qkvPackedAttention avoids. */
function unfused(qkv: Tensor, nh: number, opts: q.AttentionOptions): Tensor {
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  const heads = (t: Tensor) => q.transpose(q.reshape(t, [B, T, nh, C / nh]), 1, 2);
  const [qq, k, v] = q.split(qkv, C, 2);
  const y = q.scaledDotProductAttention(heads(qq), heads(k), heads(v), opts);
  return q.reshape(q.contiguous(q.transpose(y, 1, 2)), [B, T, C]);
}

describe("qkvPackedAttention", () => {
  const cases: [string, number[], number, q.PackedAttentionOptions][] = [
    ["causal", [2, 5, 12], 2, { isCausal: true }],
    ["not causal", [2, 4, 18], 3, {}],
    ["one head, one position", [3, 1, 6], 1, { isCausal: true }],
    ["custom scale", [1, 3, 12], 2, { isCausal: true, scale: 0.4 }],
  ];

  for (const [name, shape, nh, opts] of cases) {
    it(`gradcheck (float64): ${name}`, () => {
      gradCheck((x) => q.qkvPackedAttention(x, nh, opts), [leaf(shape, 700 + shape[1])]);
    });
  }

  it("gradcheck (float64): dropout and bool mask take the unfused path", () => {
    const mask = q.tensor([
      [true, false, true],
      [false, true, true],
      [true, true, false],
    ]);
    gradCheck(
      (x) => q.qkvPackedAttention(x, 2, { dropoutP: 0.3, generator: new q.Generator(5) }),
      [leaf([2, 3, 12], 710)],
    );
    gradCheck((x) => q.qkvPackedAttention(x, 2, { attnMask: mask }), [leaf([2, 3, 12], 711)]);
  });

  for (const dtype of ["float32", "float64"] as const) {
    it(`equals the split/merge route in value and gradient (${dtype}, the small GPT's head shapes)`, () => {
      const [rtol, atol] = dtype === "float32" ? [1e-4, 1e-5] : [1e-10, 1e-12];
      for (const isCausal of [true, false]) {
        const g = new q.Generator(3);
        const init = q.randn([2, 64, 3 * 64], { generator: g, dtype });
        const gy = q.randn([2, 64, 64], { generator: g, dtype });
        const a = q.tensor(init.toArray(), { shape: [...init.shape], dtype, requiresGrad: true });
        const b = q.tensor(init.toArray(), { shape: [...init.shape], dtype, requiresGrad: true });
        const ya = q.qkvPackedAttention(a, 4, { isCausal });
        const yb = unfused(b, 4, { isCausal });
        expectClose(ya, yb, rtol, atol, `out, causal ${isCausal}`);
        q.mul(ya, gy).sum().backward();
        q.mul(yb, gy).sum().backward();
        expectClose(a.grad!, b.grad!, rtol, atol, `gradient, causal ${isCausal}`);
      }
    });
  }

  it("reads a non-contiguous qkv", () => {
    const base = q.randn([5, 2, 12], { generator: new q.Generator(9), dtype: "float64" });
    const x = q.transpose(base, 0, 1); // (2, 5, 12), strided
    expectClose(
      q.qkvPackedAttention(x, 2, { isCausal: true }),
      unfused(x, 2, { isCausal: true }),
      1e-12,
      1e-14,
    );
  });

  it("names the op and the shapes on bad input", () => {
    const x = q.zeros([2, 3, 12]);
    expect(() => q.qkvPackedAttention(x, 5)).toThrow(
      /qkvPackedAttention: expected qkv \(B, T, 3C\) with C divisible by nHead, got \[2, 3, 12\] and nHead 5/,
    );
    expect(() => q.qkvPackedAttention(q.zeros([3, 12]), 2)).toThrow(/qkvPackedAttention: expected qkv/);
    expect(() => q.qkvPackedAttention(q.zeros([2, 3, 12], { dtype: "int32" }), 2)).toThrow(
      /qkvPackedAttention: expected a floating-point tensor/,
    );
  });
});
