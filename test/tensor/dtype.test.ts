/**
 * dtype promotion, following PyTorch's rules for the dtypes qkv has (bool < int32 < float32 <
 * float64; numbers adopt the tensor's dtype, or float32 when a fraction meets an integer tensor;
 * a 0-d tensor does not widen a dimensioned tensor of the same category), plus casts.
 */
import { describe, expect, it } from "vitest";
import type { DType, Tensor } from "../../src/index.js";
import * as q from "../../src/index.js";

const t = (dtype: DType, shape: number[] = [2]) => q.ones(shape, { dtype });

describe("binary op promotion", () => {
  it("tensor ∘ tensor takes the wider dtype", () => {
    const cases: [DType, DType, DType][] = [
      ["float32", "float32", "float32"],
      ["float32", "float64", "float64"],
      ["float64", "float32", "float64"],
      ["int32", "float32", "float32"],
      ["int32", "float64", "float64"],
      ["int32", "int32", "int32"],
      ["bool", "int32", "int32"],
      ["bool", "float32", "float32"],
    ];
    for (const [a, b, want] of cases) {
      for (const op of [q.add, q.sub, q.mul, q.maximum, q.minimum]) {
        expect(op(t(a), t(b)).dtype, `${op.name ?? "op"}(${a}, ${b})`).toBe(want);
      }
    }
  });

  it("numbers adopt the tensor's dtype, or float32 for a fraction with an integer tensor", () => {
    expect(q.add(t("float64"), 2).dtype).toBe("float64");
    expect(q.add(t("float32"), 2.5).dtype).toBe("float32");
    expect(q.add(t("int32"), 2).dtype).toBe("int32");
    expect(q.add(t("int32"), 2.5).dtype).toBe("float32");
    expect(q.mul(2.5, t("int32")).dtype).toBe("float32");
    expect(q.add(t("bool"), 1).dtype).toBe("int32");
    expect(q.add(t("int32"), 2.5).toArray()).toEqual(new Float32Array([3.5, 3.5]));
  });

  it("a 0-d tensor does not widen a dimensioned tensor of the same category", () => {
    const f64scalar = q.tensor(2, { dtype: "float64" });
    expect(q.mul(t("float32"), f64scalar).dtype).toBe("float32"); // torch: float32
    expect(q.mul(f64scalar, t("float32")).dtype).toBe("float32");
    expect(q.add(t("int32"), f64scalar).dtype).toBe("float64"); // higher category wins
    expect(q.add(q.tensor(1, { dtype: "float32" }), q.tensor(1, { dtype: "float64" })).dtype).toBe("float64");
    expect(q.where(q.ones([2], { dtype: "bool" }), t("float32"), f64scalar).dtype).toBe("float32");
  });

  it("true division and pow of integers give float32", () => {
    const a = q.tensor([1, 2, 3], { dtype: "int32" });
    const d = q.div(a, q.tensor([2, 2, 2], { dtype: "int32" }));
    expect(d.dtype).toBe("float32");
    expect(Array.from(d.toArray())).toEqual([0.5, 1, 1.5]);
    expect(q.div(a, 2).dtype).toBe("float32");
    expect(q.pow(a, 2).dtype).toBe("float32");
  });

  it("integer arithmetic stays int32 and wraps like int32", () => {
    const big = q.tensor([2 ** 30], { dtype: "int32" });
    const p = q.mul(big, 4);
    expect(p.dtype).toBe("int32");
    expect(p.item()).toBe(0);
    expect(q.neg(q.tensor([3], { dtype: "int32" })).dtype).toBe("int32");
  });

  it("comparisons give bool; where promotes its branches", () => {
    expect(q.lt(t("float32"), t("int32")).dtype).toBe("bool");
    expect(q.eq(t("float64"), 1).dtype).toBe("bool");
    const c = q.tensor([true, false]);
    expect(q.where(c, t("int32"), t("float64")).dtype).toBe("float64");
    expect(q.where(c, t("float32"), 0).dtype).toBe("float32");
  });

  it("reductions: sum of bool counts in int32, mean needs floats", () => {
    const s = q.sum(q.tensor([true, true, false]));
    expect(s.dtype).toBe("int32");
    expect(s.item()).toBe(2);
    expect(q.sum(t("int32")).dtype).toBe("int32");
    expect(q.mean(t("float64")).dtype).toBe("float64");
  });

  it("masked fill, tril and triu keep the input's dtype", () => {
    const m = q.tensor([true, false]);
    expect(q.maskedFill(t("float64"), m, 0).dtype).toBe("float64");
    expect(q.maskedFill(t("int32"), m, 5).dtype).toBe("int32");
    expect(q.maskedFill(t("bool"), m, 0).tolist()).toEqual([false, true]);
    const b = q.tril(q.ones([2, 3], { dtype: "bool" }));
    expect(b.dtype).toBe("bool");
    expect(b.tolist()).toEqual([
      [true, false, false],
      [true, true, false],
    ]);
    expect(q.triu(q.ones([2, 2], { dtype: "int32" })).dtype).toBe("int32");
  });

  it("gradients come back in each input's own dtype", () => {
    const a = q.ones([2], { dtype: "float32", requiresGrad: true });
    const b = q.ones([2], { dtype: "float64", requiresGrad: true });
    const y: Tensor = q.sum(q.mul(a, b));
    expect(y.dtype).toBe("float64");
    y.backward();
    expect(a.grad!.dtype).toBe("float32");
    expect(b.grad!.dtype).toBe("float64");
  });
});

describe("casts", () => {
  it("to() converts and records float ↔ float", () => {
    const x = q.tensor([1.5, -2.5], { dtype: "float64", requiresGrad: true });
    const y = q.to(x, "float32");
    expect(y.dtype).toBe("float32");
    q.sum(y).backward();
    expect(x.grad!.dtype).toBe("float64");
    expect(Array.from(x.grad!.toArray())).toEqual([1, 1]);
    expect(q.to(x, "float64")).toBe(x);
  });

  it("float → int32 truncates toward zero; → bool is (x ≠ 0)", () => {
    const x = q.tensor([1.7, -2.7, 0]);
    expect(Array.from(x.int().toArray())).toEqual([1, -2, 0]);
    expect(q.to(x, "bool").tolist()).toEqual([true, true, false]);
    expect(q.tensor([1, 0], { dtype: "int32" }).float().dtype).toBe("float32");
    expect(q.tensor([1, 0], { dtype: "int32" }).double().dtype).toBe("float64");
  });
});
