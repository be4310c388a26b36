/**
 * The autograd engine: gradient accumulation, explicit upstream gradients, grad mode, detach,
 * graph release and retainGraph, retainGrad, shared inputs (diamonds) and very deep graphs.
 */
import { describe, expect, it } from "vitest";
import { record } from "../../src/autograd/graph.js";
import * as q from "../../src/index.js";
import { expectClose, gradCheck, leaf } from "../helpers.js";

const f64 = (values: number[] | number[][], requiresGrad = true) =>
  q.tensor(values, { dtype: "float64", requiresGrad });
const grad = (t: q.Tensor) => t.grad?.tolist();

describe("backward basics", () => {
  it("records a graph only when an input requires grad", () => {
    const x = f64([1, 2]);
    const c = f64([3, 4], false);
    const y = q.mul(x, c);
    expect(y.requiresGrad).toBe(true);
    expect(y.isLeaf).toBe(false);
    expect(y.gradFn?.name).toBe("mul");
    const z = q.mul(c, c);
    expect(z.requiresGrad).toBe(false);
    expect(z.gradFn).toBeNull();
    expect(x.isLeaf).toBe(true);
  });

  it("a scalar backward() seeds with 1", () => {
    const x = f64([1, 2, 3]);
    q.sum(q.mul(x, x)).backward();
    expect(grad(x)).toEqual([2, 4, 6]);
  });

  it("backward with an explicit gradient computes the vector-Jacobian product", () => {
    const x = f64([1, 2, 3]);
    const y = q.mul(x, x); // dy/dx = diag(2x)
    y.backward(f64([1, 0.5, -1], false));
    expect(grad(x)).toEqual([2, 2, -6]);
    // The functional form, and a non-scalar root with a matrix gradient.
    const w = f64([
      [1, 2],
      [3, 4],
    ]);
    q.backward(q.mul(w, 3), q.ones([2, 2], { dtype: "float64" }));
    expect(grad(w)).toEqual([
      [3, 3],
      [3, 3],
    ]);
  });

  it("gradients accumulate across two backward() calls until cleared", () => {
    const x = f64([1, 2]);
    q.sum(q.mul(x, 3)).backward();
    expect(grad(x)).toEqual([3, 3]);
    q.sum(q.mul(x, x)).backward();
    expect(grad(x)).toEqual([5, 7]);
    x.grad = null;
    q.sum(x).backward();
    expect(grad(x)).toEqual([1, 1]);
  });

  it(".grad is a fresh buffer, not an alias of the upstream gradient", () => {
    const x = f64([1, 2]);
    const g = f64([5, 6], false);
    q.add(x, 0).backward(g);
    expect(x.grad!.data).not.toBe(g.data);
    const a = f64([1]);
    const b = f64([2]);
    q.sum(q.add(a, b)).backward(); // the same gradient tensor flows to both inputs
    expect(a.grad!.data).not.toBe(b.grad!.data);
  });

  it("leaves that do not take part get no gradient; non-leaves keep none by default", () => {
    const x = f64([1, 2]);
    const unused = f64([3]);
    const h = q.exp(x);
    q.sum(h).backward();
    expect(unused.grad).toBeNull();
    expect(h.grad).toBeNull();
    expect(x.grad!.dtype).toBe("float64");
    expect(x.grad!.shape).toEqual([2]);
  });
});

describe("grad mode", () => {
  it("withNoGrad / noGrad record nothing", () => {
    const x = f64([1, 2]);
    for (const mode of [q.withNoGrad, q.noGrad]) {
      const y = mode(() => q.sum(q.exp(q.mul(x, 2))));
      expect(y.requiresGrad).toBe(false);
      expect(y.gradFn).toBeNull();
      expect(() => y.backward()).toThrow(/backward: tensor of shape \[\] does not require grad/);
    }
    expect(x.grad).toBeNull();
  });

  it("restores the previous mode after nesting and after a throw", () => {
    expect(q.isGradEnabled()).toBe(true);
    q.withNoGrad(() => {
      expect(q.isGradEnabled()).toBe(false);
      q.setGradEnabled(true, () => {
        expect(q.isGradEnabled()).toBe(true);
        const x = f64([1]);
        expect(q.mul(x, 2).requiresGrad).toBe(true);
      });
      expect(q.isGradEnabled()).toBe(false);
    });
    expect(() =>
      q.withNoGrad(() => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(q.isGradEnabled()).toBe(true);
  });

  it("in-place updates of a leaf need no-grad mode (optimizer style)", () => {
    const w = f64([1, 2]);
    expect(() => q.fill_(w, 0)).toThrow(/fill_: a tensor that requires grad cannot be modified in place/);
    q.sum(q.mul(w, w)).backward();
    q.withNoGrad(() => q.copy_(w, q.sub(w, q.mul(w.grad!, 0.25))));
    expect(w.tolist()).toEqual([0.5, 1]);
    expect(w.requiresGrad).toBe(true);
  });
});

describe("detach", () => {
  it("cuts the graph: a detached operand is a constant", () => {
    const x = f64([2, 3]);
    const d = q.detach(x);
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    expect(d.data).toBe(x.data);
    q.sum(q.mul(x, d)).backward(); // d/dx (x · stop(x)) = stop(x)
    expect(grad(x)).toEqual([2, 3]);
    expect(q.mul(x.detach(), 2).requiresGrad).toBe(false);
  });

  it("detaching an intermediate stops gradients to everything before it", () => {
    const x = f64([1, 2]);
    const h = q.mul(x, 3).detach().requiresGrad_();
    q.sum(q.mul(h, h)).backward();
    expect(grad(h)).toEqual([6, 12]);
    expect(x.grad).toBeNull();
  });
});

describe("graph release and retainGraph", () => {
  it("a second backward through a released graph throws", () => {
    const x = f64([1, 2]);
    const y = q.sum(q.exp(x));
    y.backward();
    expect(() => y.backward()).toThrow(/backward: the graph was already freed; pass \{ retainGraph: true \}/);
  });

  it("backward through a released intermediate throws too", () => {
    const x = f64([1, 2]);
    const h = q.mul(x, 2);
    q.sum(h).backward();
    expect(h.gradFn!.inputs).toEqual([]); // closures and inputs released
    expect(() => q.sum(q.mul(h, 3)).backward()).toThrow(
      /backward: the graph through mul was already freed; use retainGraph/,
    );
  });

  it("retainGraph keeps the graph for another pass, and gradients accumulate", () => {
    const x = f64([1, 2]);
    const y = q.sum(q.mul(x, x));
    y.backward(undefined, { retainGraph: true });
    expect(grad(x)).toEqual([2, 4]);
    y.backward(undefined, { retainGraph: true });
    expect(grad(x)).toEqual([4, 8]);
    y.backward();
    expect(grad(x)).toEqual([6, 12]);
    expect(() => y.backward()).toThrow(/already freed/);
  });
});

describe("retainGrad", () => {
  it("keeps the gradient of a non-leaf", () => {
    const x = f64([1, 2]);
    const h = q.mul(x, x).retainGrad();
    const other = q.exp(x);
    q.sum(q.add(q.mul(h, 3), other)).backward();
    expect(grad(h)).toEqual([3, 3]);
    expect(other.grad).toBeNull();
    expect(grad(x)).toEqual([6 + Math.exp(1), 12 + Math.exp(2)]);
  });

  it("accumulates on a non-leaf used twice and across passes", () => {
    const x = f64([1]);
    const h = q.mul(x, 2).retainGrad();
    const y = q.add(q.mul(h, h), h); // dy/dh = 2h + 1 = 5
    y.backward(undefined, { retainGraph: true });
    expect(grad(h)).toEqual([5]);
    y.backward();
    expect(grad(h)).toEqual([10]);
  });

  it("the root itself can retain its (seed) gradient", () => {
    const x = f64([3]);
    const y = q.mul(x, 2).retainGrad();
    y.backward(f64([0.5], false));
    expect(grad(y)).toEqual([0.5]);
    expect(grad(x)).toEqual([1]);
  });
});

describe("graph shapes", () => {
  it("a diamond (x used on two paths) sums the gradients", () => {
    const x = f64([0.5, -1]);
    const a = q.exp(x);
    const b = q.mul(a, a); // uses a twice
    const c = q.add(a, b); // a reaches c directly and through b
    q.sum(c).backward();
    const e = [Math.exp(0.5), Math.exp(-1)];
    const want = e.map((v) => v + 2 * v * v);
    expectClose(x.grad!, want, 1e-14, 0);
    const y = f64([3]);
    q.sum(q.add(q.mul(y, 2), q.mul(y, 5))).backward();
    expect(grad(y)).toEqual([7]);
  });

  it("a shared subgraph feeding several outputs (via cat) is traversed once per edge", () => {
    const x = f64([1, 2]);
    const h = q.mul(x, x);
    const y = q.cat([h, h, q.mul(h, 2)]);
    q.sum(y).backward();
    expect(grad(x)).toEqual([8, 16]); // 4·(2x)
  });

  it("a 10 000-op chain back-propagates without overflowing the stack", () => {
    const x = f64([1, 2]);
    let y = x;
    for (let i = 0; i < 10_000; i++) y = i % 2 === 0 ? q.add(y, 0.5) : q.mul(y, 1.0001);
    q.sum(y).backward();
    const want = 1.0001 ** 5000;
    for (const g of x.grad!.toArray()) expect(g).toBeCloseTo(want, 9);
  });

  it("a wide fan-in (10 000 uses of one leaf) accumulates every contribution", () => {
    const x = f64([1]);
    const parts: q.Tensor[] = [];
    for (let i = 0; i < 10_000; i++) parts.push(q.mul(x, 1));
    q.sum(q.cat(parts)).backward();
    expect(grad(x)).toEqual([10_000]);
  });
});

describe("gradCheck itself", () => {
  it("catches a wrong backward rule", () => {
    // y = x³ with a deliberately wrong derivative (2x² instead of 3x²).
    const cube = (x: q.Tensor) => {
      const out = q.withNoGrad(() => q.mul(q.mul(x, x), x));
      return record(out, "badCube", [x], (g) => [q.mul(g, q.mul(q.mul(x, x), 2))]);
    };
    expect(() => gradCheck(cube, [leaf([3], 1)])).toThrow(/gradient of input 0/);
    const good = (x: q.Tensor) => {
      const out = q.withNoGrad(() => q.mul(q.mul(x, x), x));
      return record(out, "cube", [x], (g) => [q.mul(g, q.mul(q.mul(x, x), 3))]);
    };
    gradCheck(good, [leaf([3], 1)]);
  });

  it("catches a missing gradient", () => {
    const stopped = (x: q.Tensor) => q.add(q.mul(x, 2), q.mul(q.detach(x), q.detach(x)));
    expect(() => gradCheck(stopped, [leaf([2], 2)])).toThrow(/gradient of input 0/);
  });
});
