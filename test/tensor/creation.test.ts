/**
 * Tensor creation: constants, ranges, identity, seeded random draws (determinism, generator state
 * round trips, distribution sanity), and reading values back (item, toArray, tolist).
 */
import { describe, expect, it } from "vitest";
import * as q from "../../src/index.js";
import { expectClose } from "../helpers.js";

const list = (t: q.Tensor) => Array.from(t.toArray());

describe("constant tensors", () => {
  it("zeros, ones, full default to float32 and take a dtype", () => {
    const z = q.zeros([2, 3]);
    expect(z.dtype).toBe("float32");
    expect(z.shape).toEqual([2, 3]);
    expect(list(z)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(list(q.ones([3], { dtype: "int32" }))).toEqual([1, 1, 1]);
    expect(q.ones([3], { dtype: "int32" }).dtype).toBe("int32");
    const f = q.full([2, 2], 2.5, { dtype: "float64" });
    expect(f.dtype).toBe("float64");
    expect(list(f)).toEqual([2.5, 2.5, 2.5, 2.5]);
    expect(q.full([], 7).item()).toBe(7);
    expect(q.zeros([0, 3]).numel()).toBe(0);
    expect(q.ones([2], { dtype: "bool" }).tolist()).toEqual([true, true]);
  });

  it("*Like variants copy shape and dtype", () => {
    const x = q.zeros([2, 1], { dtype: "float64" });
    expect(q.onesLike(x).dtype).toBe("float64");
    expect(q.onesLike(x).shape).toEqual([2, 1]);
    expect(list(q.fullLike(x, 3))).toEqual([3, 3]);
    expect(q.zerosLike(x, { dtype: "int32" }).dtype).toBe("int32");
  });

  it("requiresGrad option makes a leaf", () => {
    const x = q.zeros([2], { requiresGrad: true });
    expect(x.requiresGrad).toBe(true);
    expect(x.isLeaf).toBe(true);
  });
});

describe("tensor()", () => {
  it("infers shape and dtype from nested arrays", () => {
    const t = q.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe("float32");
    expect(q.tensor([true, false]).dtype).toBe("bool");
    expect(q.tensor(3).shape).toEqual([]);
    expect(q.tensor([[1, 2]], { dtype: "int32" }).dtype).toBe("int32");
    expect(q.tensor([0, 2, -1], { dtype: "bool" }).tolist()).toEqual([false, true, true]);
  });

  it("wraps a typed array without copying, with an optional shape", () => {
    const data = new Float64Array([1, 2, 3, 4, 5, 6]);
    const t = q.tensor(data, { shape: [3, 2] });
    expect(t.dtype).toBe("float64");
    expect(t.data).toBe(data);
    expect(t.tolist()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
  });

  it("reshapes nested data with an explicit shape", () => {
    expect(q.tensor([1, 2, 3, 4], { shape: [2, 2] }).tolist()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(() => q.tensor([1, 2, 3], { shape: [2, 2] })).toThrow(
      /tensor: 3 elements cannot have shape \[2, 2\]/,
    );
  });
});

describe("ranges and eye", () => {
  it("arange: integer arguments give int32, like torch.arange", () => {
    const a = q.arange(5);
    expect(a.dtype).toBe("int32");
    expect(list(a)).toEqual([0, 1, 2, 3, 4]);
    expect(list(q.arange(2, 8, 3))).toEqual([2, 5]);
    expect(list(q.arange(5, 0, -1))).toEqual([5, 4, 3, 2, 1]);
    expect(q.arange(3, 3).numel()).toBe(0);
    expect(() => q.arange(0, 3, 0)).toThrow(/arange: step must be non-zero/);
  });

  it("arange: fractional arguments give float32 with torch's element count", () => {
    const a = q.arange(0, 1, 0.1);
    expect(a.dtype).toBe("float32");
    expect(a.numel()).toBe(10); // torch.arange(0, 1, 0.1).numel()
    expectClose(a, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], 1e-6, 1e-7);
    expect(q.arange(0, 2, 1, { dtype: "float64" }).dtype).toBe("float64");
  });

  it("linspace includes both ends", () => {
    expect(list(q.linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // torch.linspace(0, 1, 7) in float32
    expectClose(q.linspace(0, 1, 7), [0, 0.16666667, 0.33333334, 0.5, 0.6666666, 0.8333333, 1], 2e-7, 0);
    const d = q.linspace(-2, 2, 9, { dtype: "float64" });
    expect(list(d)).toEqual([-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2]);
    expect(list(q.linspace(-1, 1, 1))).toEqual([-1]); // torch.linspace(-1, 1, 1) == [-1]
    expect(q.linspace(0, 1, 0).numel()).toBe(0);
    expect(() => q.linspace(0, 1, -1)).toThrow(/linspace: steps must be a non-negative integer/);
  });

  it("eye", () => {
    expect(q.eye(3).tolist()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(q.eye(2, 3).tolist()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(q.eye(3, 2, { dtype: "int32" }).tolist()).toEqual([
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
  });
});

describe("random tensors", () => {
  it("rand: uniform in [0, 1), deterministic per generator seed", () => {
    const a = q.rand([1000], { generator: new q.Generator(1) });
    const b = q.rand([1000], { generator: new q.Generator(1) });
    const c = q.rand([1000], { generator: new q.Generator(2) });
    expect(list(a)).toEqual(list(b));
    expect(list(a)).not.toEqual(list(c));
    const v = list(a);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...v)).toBeLessThan(1);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05); // sd of the mean ≈ 0.009
    expect(q.rand([2], { dtype: "float64", generator: new q.Generator(0) }).dtype).toBe("float64");
  });

  it("randn: mean ≈ 0 and std ≈ 1", () => {
    const x = q.randn([20_000], { dtype: "float64", generator: new q.Generator(123) });
    const m = q.mean(x).item();
    const s = q.std(x).item();
    expect(Math.abs(m)).toBeLessThan(0.04); // 5 standard errors
    expect(Math.abs(s - 1)).toBeLessThan(0.03);
    // Roughly 68% within one standard deviation.
    const within = Array.from(x.toArray()).filter((v) => Math.abs(v) < 1).length / x.numel();
    expect(Math.abs(within - 0.6827)).toBeLessThan(0.02);
  });

  it("randint: integers in [low, high), int32, every value hit", () => {
    const x = q.randint(-2, 3, [1000], { generator: new q.Generator(5) });
    expect(x.dtype).toBe("int32");
    const v = list(x);
    expect(new Set(v)).toEqual(new Set([-2, -1, 0, 1, 2]));
    expect(list(q.randint(0, 10, [50], { generator: new q.Generator(9) }))).toEqual(
      list(q.randint(0, 10, [50], { generator: new q.Generator(9) })),
    );
  });

  it("manualSeed makes the default generator reproducible", () => {
    q.manualSeed(1234);
    const a = list(q.randn([16]));
    const ai = list(q.randint(0, 100, [8]));
    q.manualSeed(1234);
    const b = list(q.randn([16]));
    const bi = list(q.randint(0, 100, [8]));
    expect(a).toEqual(b);
    expect(ai).toEqual(bi);
    q.manualSeed(4321);
    expect(list(q.randn([16]))).not.toEqual(a);
    // The default generator is shared: drawing advances it.
    q.manualSeed(1234);
    q.randn([1]);
    expect(list(q.randn([16]))).not.toEqual(a);
  });

  it("Generator getState/setState round-trips mid-stream, including the cached normal", () => {
    const g = new q.Generator(77);
    g.normal(); // leaves a spare normal deviate cached
    g.random();
    const state = g.getState();
    const saved = JSON.parse(JSON.stringify(state)) as q.GeneratorState; // serialisable
    const next = [g.normal(), g.normal(), g.random(), g.randint(0, 1000), g.nextUint32()];
    g.setState(saved);
    expect([g.normal(), g.normal(), g.random(), g.randint(0, 1000), g.nextUint32()]).toEqual(next);
    // Restoring into a different generator gives the same stream too.
    const h = new q.Generator(0).setState(saved);
    expect(h.normal()).toBe(next[0]);
    // A fresh state has no cached normal.
    expect(new q.Generator(1).getState().spare).toBeNull();
    expect(() => g.setState({ s: [1, 2] } as never)).toThrow(/Generator.setState: malformed state/);
  });

  it("tensors drawn through a restored generator repeat exactly", () => {
    const g = new q.Generator(3);
    q.randn([5], { generator: g });
    const state = g.getState();
    const a = list(q.randn([7], { generator: g }));
    g.setState(state);
    expect(list(q.randn([7], { generator: g }))).toEqual(a);
  });

  it("manualSeed rejects non-finite seeds and mixes large seeds", () => {
    expect(() => new q.Generator(Number.NaN)).toThrow(/manualSeed: seed must be a finite number/);
    expect(new q.Generator(2 ** 40).random()).not.toBe(new q.Generator(0).random());
  });
});

describe("reading values back", () => {
  it("item", () => {
    expect(q.tensor([[2.5]]).item()).toBe(2.5);
    expect(q.tensor(3, { dtype: "int32" }).item()).toBe(3);
    expect(q.select(q.tensor([1, 2, 3]), 0, 2).item()).toBe(3);
  });

  it("toArray returns a fresh row-major copy, also of strided views", () => {
    const x = q.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const a = x.toArray();
    expect(a).toBeInstanceOf(Float32Array);
    a[0] = 100;
    expect(x.tolist()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(list(q.transpose(x, 0, 1))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(list(q.slice(x, 1, 0, 3, 2))).toEqual([1, 3, 4, 6]);
    expect(list(q.expand(q.tensor([[7], [8]]), [2, 2]))).toEqual([7, 7, 8, 8]);
    expect(q.arange(3).toArray()).toBeInstanceOf(Int32Array);
  });

  it("tolist gives nested arrays; bool tensors give booleans", () => {
    expect(
      q
        .tensor([
          [1, 2],
          [3, 4],
        ])
        .tolist(),
    ).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(
      q
        .transpose(
          q.tensor([
            [1, 2],
            [3, 4],
          ]),
          0,
          1,
        )
        .tolist(),
    ).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(q.tensor(5).tolist()).toBe(5);
    expect(q.gt(q.tensor([1, -1]), 0).tolist()).toEqual([true, false]);
    expect(q.zeros([2, 0]).tolist()).toEqual([[], []]);
  });

  it("toString summarises", () => {
    expect(String(q.tensor([1, 2]))).toBe("tensor([1,2], shape=[2], dtype=float32)");
    expect(String(q.zeros([100]))).toContain("<100 elements>");
  });
});
