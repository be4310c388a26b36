/**
 * Views share storage with their base (writes through a view are visible in the base and vice
 * versa), contiguous() materialises a fresh buffer, and view() vs reshape() on non-contiguous data.
 */
import { describe, expect, it } from "vitest";
import * as q from "../../src/index.js";

const base = () =>
  q.tensor([
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9, 10, 11],
  ]);

describe("views share storage", () => {
  it("every view op returns a tensor over the same buffer", () => {
    const x = base();
    const views: [string, q.Tensor][] = [
      ["view", q.view(x, [4, 3])],
      ["reshape (contiguous)", q.reshape(x, [2, 6])],
      ["transpose", q.transpose(x, 0, 1)],
      ["permute", q.permute(x, [1, 0])],
      ["expand", q.expand(q.unsqueeze(x, 0), [2, 3, 4])],
      ["squeeze", q.squeeze(q.unsqueeze(x, 1))],
      ["unsqueeze", q.unsqueeze(x, 0)],
      ["flatten", q.flatten(x)],
      ["narrow", q.narrow(x, 1, 1, 2)],
      ["slice", q.slice(x, 1, 0, undefined, 2)],
      ["select", q.select(x, 0, 1)],
      ["split", q.split(x, 2, 1)[1]],
      ["chunk", q.chunk(x, 3, 0)[2]],
      ["detach", q.detach(x)],
      ["contiguous (already contiguous)", q.contiguous(x)],
    ];
    for (const [name, v] of views) expect(v.data, name).toBe(x.data);
  });

  it("a write through a view is visible in the base, and a write to the base in the view", () => {
    const x = base();
    const col = q.select(x, 1, 2); // column 2, stride 4
    q.fill_(col, -1);
    expect(x.tolist()).toEqual([
      [0, 1, -1, 3],
      [4, 5, -1, 7],
      [8, 9, -1, 11],
    ]);

    const t = q.transpose(x, 0, 1);
    q.copy_(q.narrow(t, 0, 0, 1), q.tensor([[100, 200, 300]])); // row 0 of xᵀ = column 0 of x
    expect(q.select(x, 1, 0).tolist()).toEqual([100, 200, 300]);

    const stepped = q.slice(x, 0, 0, 3, 2); // rows 0 and 2
    q.zero_(stepped);
    expect(x.tolist()).toEqual([
      [0, 0, 0, 0],
      [200, 5, -1, 7],
      [0, 0, 0, 0],
    ]);

    // Writing into the base shows up in an existing view.
    const v = q.view(x, [12]);
    x.data[5] = 55;
    expect(v.toArray()[5]).toBe(55);
    expect(q.select(q.select(x, 0, 1), 0, 1).item()).toBe(55);
  });

  it("views carry offsets and strides, not copies", () => {
    const x = base();
    const n = q.narrow(x, 0, 1, 2);
    expect(n.offset).toBe(4);
    expect(n.strides).toEqual([4, 1]);
    const t = q.transpose(x, 0, 1);
    expect(t.strides).toEqual([1, 4]);
    expect(t.isContiguous()).toBe(false);
    const e = q.expand(q.tensor([[1], [2]]), [2, 3]);
    expect(e.strides).toEqual([1, 0]);
  });
});

describe("contiguous() and clone()", () => {
  it("contiguous() materialises a non-contiguous view into fresh row-major storage", () => {
    const x = base();
    const t = q.transpose(x, 0, 1);
    const c = q.contiguous(t);
    expect(c.data).not.toBe(x.data);
    expect(c.isContiguous()).toBe(true);
    expect(c.strides).toEqual([3, 1]);
    expect(c.offset).toBe(0);
    expect(c.tolist()).toEqual(t.tolist());
    // The copy is independent of the base.
    q.fill_(c, 0);
    expect(x.tolist()).toEqual(base().tolist());
  });

  it("contiguous() of a sliced view with an offset", () => {
    const s = q.slice(base(), 1, 1, 4, 2);
    const c = q.contiguous(s);
    expect(c.tolist()).toEqual([
      [1, 3],
      [5, 7],
      [9, 11],
    ]);
    expect(c.data.length).toBe(6);
  });

  it("clone() always copies", () => {
    const x = base();
    const c = q.clone(x);
    expect(c.data).not.toBe(x.data);
    expect(c.tolist()).toEqual(x.tolist());
  });
});

describe("view vs reshape", () => {
  it("view() of non-contiguous data fails when strides cannot express the shape; reshape() copies", () => {
    const t = q.transpose(base(), 0, 1); // [4, 3], strides [1, 4]
    expect(() => q.view(t, [12])).toThrow(
      /view: cannot view a tensor of shape \[4, 3\] with strides \[1, 4\] as \[12\]/,
    );
    const r = q.reshape(t, [12]);
    expect(r.data).not.toBe(t.data);
    expect(Array.from(r.toArray())).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  });

  it("view() of non-contiguous data succeeds when the split/merged dims stay contiguous", () => {
    const x = q.reshape(q.arange(24), [2, 3, 4]);
    const p = q.permute(x, [1, 0, 2]); // [3, 2, 4], strides [4, 12, 1]
    const v = q.view(p, [3, 2, 2, 2]); // splits only the last dim
    expect(v.data).toBe(x.data);
    expect(v.strides).toEqual([4, 12, 2, 1]);
    expect(Array.from(v.toArray())).toEqual(Array.from(q.contiguous(p).toArray()));
    // Size-1 dims may be inserted anywhere.
    const b = base();
    const u = q.view(q.transpose(b, 0, 1), [4, 1, 3]);
    expect(u.data).toBe(b.data);
    expect(u.tolist()).toEqual([[[0, 4, 8]], [[1, 5, 9]], [[2, 6, 10]], [[3, 7, 11]]]);
  });

  it("reshape() of contiguous data is a view; -1 is inferred", () => {
    const x = base();
    const r = q.reshape(x, [-1, 2]);
    expect(r.shape).toEqual([6, 2]);
    expect(r.data).toBe(x.data);
    expect(x.reshape(2, -1).shape).toEqual([2, 6]);
    expect(x.view([3, 2, 2]).shape).toEqual([3, 2, 2]);
  });

  it("reshape of a non-contiguous view keeps gradients flowing to the base", () => {
    const x = q.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { dtype: "float64", requiresGrad: true },
    );
    const y = q.reshape(q.transpose(x, 0, 1), [6]);
    q.sum(q.mul(y, q.arange(6, undefined, 1, { dtype: "float64" }))).backward();
    // y = [1, 4, 2, 5, 3, 6] weighted by 0..5 → dL/dx[i][j] = weight of x[i][j] in y.
    expect(x.grad!.tolist()).toEqual([
      [0, 2, 4],
      [1, 3, 5],
    ]);
  });
});
