/** clipGradNorm / clipGradValue against torch.nn.utils.clip_grad_norm_ goldens. */
import { describe, expect, it } from "vitest";
import { optim, Parameter, tensor, zeros } from "../../src/index.js";
import { expectClose } from "../helpers.js";
import { type FixtureTensor, loadFixture, toTensor } from "../nn/fixture.js";

interface ClipCase {
  name: string;
  maxNorm: number;
  normType: number | "inf";
  grads: FixtureTensor[];
  totalNorm: number;
  clipped: FixtureTensor[];
}
const fx = loadFixture<{ cases: ClipCase[] }>("clip.json");

describe(`clipGradNorm matches torch ${fx.torch}`, () => {
  for (const c of fx.cases) {
    it(c.name, () => {
      const params = c.grads.map((g) => {
        const p = new Parameter(zeros(g.shape));
        p.grad = toTensor(g);
        return p;
      });
      const normType = c.normType === "inf" ? Infinity : c.normType;
      const total = optim.clipGradNorm(params, c.maxNorm, normType);
      expect(typeof total).toBe("number");
      // torch sums in float32; qkv accumulates in float64.
      expectClose([total], [c.totalNorm], 1e-6, 0, "total norm");
      params.forEach((p, i) => {
        expectClose(p.grad!, toTensor(c.clipped[i]), 1e-6, 1e-7, `clipped grad ${i}`);
      });
    });
  }
});

describe("clipping behaviour", () => {
  it("skips parameters without gradients, returns 0 when none have one", () => {
    const a = new Parameter(zeros([2]));
    const b = new Parameter(zeros([2]));
    expect(optim.clipGradNorm([a, b], 1)).toBe(0);
    b.grad = tensor([3, 4]);
    expect(optim.clipGradNorm([a, b], 1)).toBe(5);
    expect(a.grad).toBeNull();
    expectClose(b.grad!, [3 / (5 + 1e-6), 4 / (5 + 1e-6)], 1e-7);
  });

  it("accepts a single parameter and leaves small gradients unchanged", () => {
    const p = new Parameter(zeros([2]));
    p.grad = tensor([0.3, -0.4]);
    expect(optim.clipGradNorm(p, 1)).toBeCloseTo(0.5, 7);
    expect([...p.grad.toArray()]).toEqual([...tensor([0.3, -0.4]).toArray()]);
  });

  it("errorIfNonfinite throws on a NaN or infinite norm", () => {
    const p = new Parameter(zeros([2]));
    p.grad = tensor([Infinity, 1]);
    expect(() => optim.clipGradNorm([p], 1, 2, { errorIfNonfinite: true })).toThrow(/non-finite/);
    expect(() => optim.clipGradNorm([p], 1, 0)).toThrow(/normType/);
  });

  it("clipGradValue clamps elementwise", () => {
    const p = new Parameter(zeros([4]));
    p.grad = tensor([-2, -0.5, 0.25, 3]);
    optim.clipGradValue([p], 1);
    expect([...p.grad.toArray()]).toEqual([-1, -0.5, 0.25, 1]);
    expect(() => optim.clipGradValue([p], -1)).toThrow(/non-negative/);
  });
});
