/** Optimizer base behaviour: groups, zeroGrad, state dicts and exact resumption. */
import { describe, expect, it } from "vitest";
import {
  crossEntropy,
  Generator,
  linear,
  nn,
  optim,
  Parameter,
  randn,
  Tensor,
  tensor,
  zeros,
} from "../../src/index.js";
import { expectClose } from "../helpers.js";

/** A Tensor-aware JSON round trip: tensors become { dtype, shape, data } records and back. */
function jsonRoundTrip<T>(v: T): T {
  const text = JSON.stringify(v, (_k, x) =>
    x instanceof Tensor
      ? { __tensor__: true, dtype: x.dtype, shape: x.shape, data: Array.from(x.toArray()) }
      : x,
  );
  return JSON.parse(text, (_k, x) =>
    x && typeof x === "object" && x.__tensor__
      ? tensor(x.dtype === "float64" ? Float64Array.from(x.data) : Float32Array.from(x.data), {
          shape: x.shape,
        })
      : x,
  ) as T;
}

function bytes(ps: Tensor[]): number[] {
  return ps.flatMap((p) => Array.from(new Uint8Array(p.toArray().buffer)));
}

const optimizers: [string, (ps: Parameter[]) => optim.Optimizer][] = [
  ["SGD nesterov", (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ["SGD dampening", (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.5, dampening: 0.2 })],
  ["Adam amsgrad", (ps) => new optim.Adam(ps, { lr: 1e-2, amsgrad: true, weightDecay: 1e-3 })],
  [
    "AdamW groups",
    (ps) =>
      new optim.AdamW(
        [{ params: ps.filter((p) => p.ndim >= 2) }, { params: ps.filter((p) => p.ndim < 2), weightDecay: 0 }],
        { lr: 1e-2 },
      ),
  ],
  ["RMSprop centered momentum", (ps) => new optim.RMSprop(ps, { lr: 1e-3, momentum: 0.9, centered: true })],
];

describe("resuming from a state dict is bit-identical", () => {
  for (const [name, make] of optimizers) {
    it(name, () => {
      const g = new Generator(3);
      const x = randn([16, 4], { generator: g });
      const y = tensor(Int32Array.from({ length: 16 }, (_, i) => i % 3));
      const lossOf = (m: nn.MLP) => crossEntropy(m.forward(x), y);
      const a = new nn.MLP([4, 8, 3], { activation: "tanh", generator: new Generator(1) });
      const optA = make(a.parameters());
      const sched = new optim.StepLR(optA, { stepSize: 3, gamma: 0.5 });
      const train = (m: nn.MLP, opt: optim.Optimizer, s: optim.LRScheduler) => {
        opt.zeroGrad();
        lossOf(m).backward();
        opt.step();
        s.step();
      };
      for (let i = 0; i < 5; i++) train(a, optA, sched);
      // Snapshot at step 5, through a JSON round trip of everything.
      const saved = jsonRoundTrip({ model: a.stateDict(), opt: optA.stateDict(), sched: sched.stateDict() });
      for (let i = 0; i < 5; i++) train(a, optA, sched);

      const b = new nn.MLP([4, 8, 3], { activation: "tanh", generator: new Generator(99) });
      b.loadStateDict(saved.model);
      const optB = make(b.parameters());
      optB.loadStateDict(saved.opt);
      const schedB = new optim.StepLR(optB, { stepSize: 3, gamma: 0.5 });
      schedB.loadStateDict(saved.sched);
      for (let i = 0; i < 5; i++) train(b, optB, schedB);
      expect(bytes(b.parameters())).toEqual(bytes(a.parameters()));
      expect(optB.paramGroups.map((g) => g.lr)).toEqual(optA.paramGroups.map((g) => g.lr));
    });
  }
});

describe("Optimizer", () => {
  it("groups carry their own options; the rest come from the defaults", () => {
    const w = new Parameter(zeros([2, 2]));
    const b = new Parameter(zeros([2]));
    const opt = new optim.AdamW([{ params: [w] }, { params: [b], weightDecay: 0, lr: 0.5 }], { lr: 0.1 });
    expect(opt.paramGroups[0]).toMatchObject({
      lr: 0.1,
      weightDecay: 0.01,
      betas: [0.9, 0.999],
      eps: 1e-8,
      amsgrad: false,
    });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.5, weightDecay: 0 });
    expect(opt.paramGroups[0].params).toEqual([w]);
    // Plain lists and iterables make one group.
    const m = new nn.Linear(3, 2);
    expect(new optim.SGD(m.parameters(), { lr: 1 }).paramGroups[0].params).toHaveLength(2);
    expect(new optim.Adam(new Set(m.parameters())).paramGroups).toHaveLength(1);
  });

  it("addParamGroup adds a group and rejects a parameter already present", () => {
    const [a, b] = [new Parameter(zeros([1])), new Parameter(zeros([1]))];
    const opt = new optim.SGD([a], { lr: 1, momentum: 0.9 });
    opt.addParamGroup({ params: [b], lr: 2 });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 2, momentum: 0.9 });
    expect(() => opt.addParamGroup({ params: [a] })).toThrow(/more than one parameter group/);
    a.grad = tensor([1]);
    b.grad = tensor([1]);
    opt.step();
    expect(a.item()).toBe(-1);
    expect(b.item()).toBe(-2);
  });

  it("rejects bad input with clear messages", () => {
    const p = new Parameter(zeros([2]));
    expect(() => new optim.SGD([], { lr: 1 })).toThrow(/empty parameter list/);
    expect(() => new optim.SGD(p as unknown as Parameter[], { lr: 1 })).toThrow(
      /iterable of tensors or of parameter groups/,
    );
    expect(new optim.SGD([{ params: p as unknown as Parameter[] }], { lr: 1 }).paramGroups[0].params).toEqual(
      [p],
    );
    expect(() => new optim.SGD([p], { lr: -1 })).toThrow(/learning rate/);
    expect(() => new optim.SGD([p], { lr: 1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new optim.Adam([p], { betas: [1, 0.9] })).toThrow(/beta parameter at index 0/);
    expect(() => new optim.RMSprop([p], { alpha: -1 })).toThrow(/alpha/);
    const nonLeaf = p.mul(2);
    expect(() => new optim.SGD([nonLeaf], { lr: 1 })).toThrow(/non-leaf/);
    expect(() => new optim.SGD([tensor([1, 2], { dtype: "int32" })], { lr: 1 })).toThrow(/float32\/float64/);
  });

  it("zeroGrad sets gradients to null, or zeroes them in place with setToNone false", () => {
    const p = new Parameter(zeros([2]));
    const opt = new optim.SGD([p], { lr: 1 });
    p.grad = tensor([1, 2]);
    const g = p.grad;
    opt.zeroGrad(false);
    expect(p.grad).toBe(g);
    expect([...g.toArray()]).toEqual([0, 0]);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
  });

  it("parameters without a gradient are left alone and get no state", () => {
    const [a, b] = [new Parameter(tensor([1, 1])), new Parameter(tensor([1, 1]))];
    const opt = new optim.Adam([a, b], { lr: 0.1 });
    a.grad = tensor([1, -1]);
    opt.step();
    expect([...b.toArray()]).toEqual([1, 1]);
    expect(opt.state.has(b)).toBe(false);
    expectClose(a, [0.9, 1.1], 1e-6);
    expect(Object.keys(opt.stateDict().state)).toEqual(["0"]);
  });

  it("step runs the closure with grad mode on and returns its loss", () => {
    const p = new Parameter(tensor([2]));
    const opt = new optim.SGD([p], { lr: 0.25 });
    const loss = opt.step(() => {
      opt.zeroGrad();
      const l = p.mul(p).sum();
      l.backward();
      return l.item();
    });
    expect(loss).toBe(4);
    expect(p.item()).toBe(1);
  });

  it("stateDict is torch-shaped, JSON apart from tensors, and a snapshot", () => {
    const w = new Parameter(tensor([[1, 2]]));
    const b = new Parameter(tensor([3]));
    const opt = new optim.Adam([{ params: [w] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    w.grad = tensor([[1, 1]]);
    b.grad = tensor([1]);
    opt.step();
    const sd = opt.stateDict();
    expect(sd.paramGroups).toEqual([
      {
        lr: 0.1,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: 0,
        amsgrad: false,
        maximize: false,
        params: [0],
      },
      {
        lr: 0.5,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: 0,
        amsgrad: false,
        maximize: false,
        params: [1],
      },
    ]);
    expect(Object.keys(sd.state[0]).sort()).toEqual(["expAvg", "expAvgSq", "step"]);
    expect(sd.state[1].step).toBe(1);
    const before = Array.from((sd.state[0].expAvg as Tensor).toArray());
    opt.step();
    expect(Array.from((sd.state[0].expAvg as Tensor).toArray())).toEqual(before);
    // Mutating the saved groups does not reach the optimizer.
    (sd.paramGroups[0].betas as number[])[0] = 0;
    expect(opt.paramGroups[0].betas[0]).toBe(0.9);
  });

  it("loadStateDict checks the layout and state shapes", () => {
    const mk = (shape: number[]) => {
      const p = new Parameter(zeros(shape));
      const opt = new optim.SGD([p], { lr: 1, momentum: 0.9 });
      p.grad = zeros(shape);
      opt.step();
      return opt;
    };
    const two = new optim.SGD(
      [{ params: [new Parameter(zeros([1]))] }, { params: [new Parameter(zeros([1]))] }],
      { lr: 1 },
    );
    expect(() => two.loadStateDict(mk([1]).stateDict())).toThrow(/1 parameter groups, optimizer has 2/);
    const wide = new optim.SGD([new Parameter(zeros([1])), new Parameter(zeros([1]))], { lr: 1 });
    expect(() => wide.loadStateDict(mk([1]).stateDict())).toThrow(
      /group 0 has 1 parameters in the state dict, 2 in the optimizer/,
    );
    expect(() => mk([3]).loadStateDict(mk([2]).stateDict())).toThrow(
      /state\[0\]\.momentumBuffer has shape \[2\], but parameter 0 has shape \[3\]/,
    );
  });

  it("loadStateDict casts state tensors to the parameter dtype and restores options", () => {
    const p = new Parameter(zeros([2], { dtype: "float64" }));
    const opt = new optim.SGD([p], { lr: 1, momentum: 0.5 });
    opt.loadStateDict({
      state: { 0: { momentumBuffer: tensor([1, 2]) } },
      paramGroups: [{ ...opt.stateDict().paramGroups[0], lr: 0.5 }],
    });
    expect(opt.paramGroups[0].lr).toBe(0.5);
    expect((opt.state.get(p)!.momentumBuffer as Tensor).dtype).toBe("float64");
  });

  it("maximize ascends: the same as descending on the negated gradient", () => {
    for (const Cls of [optim.Adam, optim.AdamW, optim.RMSprop] as const) {
      const a = new Parameter(tensor([0.5, -1, 2]));
      const b = new Parameter(tensor([0.5, -1, 2]));
      const oa = new Cls([a], { lr: 0.1, maximize: true });
      const ob = new Cls([b], { lr: 0.1 });
      for (let k = 0; k < 3; k++) {
        a.grad = tensor([1, -2, 0.5 * k]);
        b.grad = tensor([-1, 2, -0.5 * k]);
        oa.step();
        ob.step();
      }
      expect(bytes([a])).toEqual(bytes([b]));
    }
  });

  it("float64 parameters keep float64 state", () => {
    const p = new Parameter(zeros([3], { dtype: "float64" }));
    const opt = new optim.RMSprop([p], { momentum: 0.9, centered: true });
    p.grad = tensor([1, 2, 3], { dtype: "float64" });
    opt.step();
    for (const v of Object.values(opt.state.get(p)!))
      if (typeof v !== "number") expect(v.dtype).toBe("float64");
  });
});

/**
 * A parameter that is a dense view in another storage order (GPT-2's Conv1D weights loaded as
 * transposes of the file's (in, out) matrices) is updated in place, in its own order, exactly as
 * its row-major copy would be.
 */
describe("parameters stored transposed (dense, not contiguous)", () => {
  /** The same (out, in) values twice: row-major, and as the transposed view of an (in, out) buffer. */
  function pair(seed: number): [Parameter, Parameter] {
    const w = randn([5, 3], { generator: new Generator(seed) });
    const stored = tensor(Array.from(w.transpose(0, 1).contiguous().toArray()), { shape: [3, 5] });
    return [new Parameter(w.clone()), new Parameter(stored.transpose(0, 1))];
  }

  function lossOf(w: Tensor): Tensor {
    const x = randn([4, 3], { generator: new Generator(9) });
    const y = linear(x, w);
    return y.mul(y).sum();
  }

  const makers: [string, (p: Parameter[]) => optim.Optimizer][] = [
    ["AdamW", (p) => new optim.AdamW(p, { lr: 0.1, weightDecay: 0.1 })],
    ["Adam (amsgrad)", (p) => new optim.Adam(p, { lr: 0.1, amsgrad: true })],
    ["SGD (momentum, nesterov)", (p) => new optim.SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true })],
    [
      "RMSprop (centered, momentum)",
      (p) => new optim.RMSprop(p, { lr: 0.01, centered: true, momentum: 0.5 }),
    ],
  ];
  for (const [name, make] of makers) {
    it(`${name}: three steps match the row-major parameter's, in place, and state resumes across layouts`, () => {
      const [a, b] = pair(1);
      expect(b.isContiguous()).toBe(false);
      const storage = b.data;
      const oa = make([a]);
      const ob = make([b]);
      for (let s = 0; s < 3; s++) {
        for (const [p, o] of [
          [a, oa],
          [b, ob],
        ] as const) {
          o.zeroGrad();
          lossOf(p).backward();
          o.step();
        }
        expect(b.grad?.strides).toEqual(b.strides); // the gradient comes in the parameter's layout
        // equal up to the products' rounding (a backend's GEMM may sum the two layouts differently)
        expectClose(b, a, 1e-5, 1e-6, `${name} step ${s}`);
      }
      expect(b.data).toBe(storage);
      expect(Array.from(b.toArray())).not.toEqual(Array.from(pair(1)[0].toArray())); // it moved
      // the transposed one's state, restored into a row-major one, continues identically
      const [c] = pair(1);
      setValues(c, b);
      const oc = make([c]);
      oc.loadStateDict(ob.stateDict());
      for (const [p, o] of [
        [b, ob],
        [c, oc],
      ] as const) {
        o.zeroGrad();
        lossOf(p).backward();
        o.step();
      }
      expectClose(c, b, 1e-5, 1e-6, `${name} resumed`);
    });
  }

  it("clipGradNorm scales a transposed parameter's gradient in place, as the row-major one's", () => {
    const [a, b] = pair(2);
    lossOf(a).backward();
    lossOf(b).backward();
    const g = b.grad;
    const na = optim.clipGradNorm([a], 0.5);
    const nb = optim.clipGradNorm([b], 0.5);
    expect(nb).toBeCloseTo(na, 4);
    expect(b.grad).toBe(g);
    expectClose(b.grad as Tensor, a.grad as Tensor, 1e-5, 1e-6, "clipped gradient");
  });

  it("a parameter that is neither contiguous nor dense is still refused, naming the strides", () => {
    const w = zeros([4, 6]).narrow(1, 0, 3); // strides (6, 1) over a wider buffer
    const p = new Tensor(w.data, w.shape, w.strides, w.offset).requiresGrad_();
    expect(() => new optim.SGD([p], { lr: 1 })).toThrow(
      /SGD: parameters must be contiguous.*got strides \[6, 1\]/,
    );
  });
});

/** Writes `src`'s values (row-major) into the contiguous `dst`. */
function setValues(dst: Tensor, src: Tensor): void {
  (dst.data as Float32Array).set(src.toArray() as Float32Array, dst.offset);
}
