/**
 * Training-mode dropout: its random stream differs from PyTorch's, so instead of parity this checks
 * the statistics of the mask, the exact 1/(1−p) scaling (in the input's dtype), determinism under a
 * fixed generator, and that the gradient applies exactly the forward mask.
 */
import { describe, expect, it } from "vitest";
import * as q from "../../src/index.js";

describe("dropout (training)", () => {
  for (const dtype of ["float32", "float64"] as const) {
    it(`keeps ≈ 1−p of the elements and scales survivors by 1/(1−p) (${dtype})`, () => {
      const n = 20_000;
      for (const p of [0.1, 0.5, 0.8]) {
        const x = q.ones([n], { dtype });
        const y = q.dropout(x, p, { generator: new q.Generator(3) });
        expect(y.dtype).toBe(dtype);
        const scale = dtype === "float32" ? Math.fround(1 / Math.fround(1 - p)) : 1 / (1 - p);
        let kept = 0;
        let wrongScale = 0;
        for (const v of y.toArray()) {
          if (v !== 0) {
            kept++;
            if (v !== scale) wrongScale++;
          }
        }
        expect(wrongScale).toBe(0);
        // Binomial(n, 1−p): 5 standard deviations.
        const sd = Math.sqrt(n * p * (1 - p));
        expect(Math.abs(kept - n * (1 - p))).toBeLessThan(5 * sd);
        // E[dropout(x)] = x.
        expect(Math.abs(q.mean(y).item() - 1)).toBeLessThan((5 * sd) / n / (1 - p));
      }
    });
  }

  it("is deterministic for a fixed generator seed and differs across seeds", () => {
    const x = q.randn([200], { generator: new q.Generator(1) });
    const a = q.dropout(x, 0.3, { generator: new q.Generator(5) }).toArray();
    const b = q.dropout(x, 0.3, { generator: new q.Generator(5) }).toArray();
    const c = q.dropout(x, 0.3, { generator: new q.Generator(6) }).toArray();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it("uses the default generator (seeded by manualSeed) when none is given", () => {
    const x = q.ones([100]);
    q.manualSeed(42);
    const a = q.dropout(x, 0.5).toArray();
    q.manualSeed(42);
    const b = q.dropout(x, 0.5).toArray();
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("back-propagates exactly the forward mask and scale", () => {
    const x = q.randn([500], { dtype: "float64", generator: new q.Generator(2), requiresGrad: true });
    const p = 0.4;
    const y = q.dropout(x, p, { generator: new q.Generator(9) });
    y.sum().backward();
    const xs = x.toArray();
    const ys = y.toArray();
    const gs = x.grad!.toArray();
    let bad = 0;
    let dropped = 0;
    for (let i = 0; i < xs.length; i++) {
      // y = x·g elementwise, with g ∈ {0, 1/(1−p)}.
      if (!(gs[i] === 0 || gs[i] === 1 / (1 - p)) || ys[i] !== xs[i] * gs[i]) bad++;
      if (gs[i] === 0) dropped++;
    }
    expect(bad).toBe(0);
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(xs.length);
  });

  it("is the identity for p = 0 and in eval mode, and zero for p = 1", () => {
    const x = q.randn([3, 4], { generator: new q.Generator(4) });
    expect(q.dropout(x, 0).toArray()).toEqual(x.toArray());
    expect(q.dropout(x, 0.7, { training: false }).toArray()).toEqual(x.toArray());
    expect(Array.from(q.dropout(x, 1).toArray()).every((v) => v === 0)).toBe(true);
  });

  it("rejects p outside [0, 1]", () => {
    const x = q.ones([2]);
    expect(() => q.dropout(x, 1.5)).toThrow(/dropout: probability must be in \[0, 1\], got 1\.5/);
    expect(() => q.dropout(x, -0.1)).toThrow(/dropout/);
  });
});
