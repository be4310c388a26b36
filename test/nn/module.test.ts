/** Module behaviour: state dicts, loading errors, train/eval, zeroGrad, apply, numParameters. */
import { describe, expect, it } from "vitest";
import { Generator, Module, nn, Parameter, randn, type Tensor, tensor, zeros } from "../../src/index.js";

function bytes(t: Tensor): number[] {
  return Array.from(new Uint8Array(t.toArray().buffer));
}

class Net extends Module {
  fc1: nn.Linear;
  norm: nn.LayerNorm;
  drop: nn.Dropout;
  fc2: nn.Linear;

  constructor(seed: number) {
    super();
    const generator = new Generator(seed);
    this.fc1 = new nn.Linear(4, 6, { generator });
    this.norm = new nn.LayerNorm(6);
    this.drop = new nn.Dropout(0.5, new Generator(seed + 1));
    this.fc2 = new nn.Linear(6, 2, { generator });
  }

  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.drop.forward(this.norm.forward(this.fc1.forward(x).tanh())));
  }
}

describe("Module state dicts", () => {
  it("names follow field declaration order", () => {
    expect(Object.keys(new Net(0).stateDict())).toEqual([
      "fc1.weight",
      "fc1.bias",
      "norm.weight",
      "norm.bias",
      "fc2.weight",
      "fc2.bias",
    ]);
  });

  it("stateDict → loadStateDict leaves outputs bit-identical", () => {
    const a = new Net(1).eval();
    const b = new Net(2).eval();
    const x = randn([5, 4], { generator: new Generator(3) });
    expect(bytes(b.forward(x))).not.toEqual(bytes(a.forward(x)));
    b.loadStateDict(a.stateDict());
    expect(bytes(b.forward(x))).toEqual(bytes(a.forward(x)));
    // Loading copies values: later changes to a do not reach b.
    a.fc1.weight.data.fill(0);
    expect(bytes(b.forward(x))).not.toEqual(bytes(a.forward(x)));
  });

  it("loadStateDict names missing, unexpected and mis-shaped keys", () => {
    const net = new Net(0);
    const sd = net.stateDict();
    const { "fc2.bias": _dropped, ...missing } = sd;
    expect(() => net.loadStateDict(missing)).toThrow(/missing keys: fc2\.bias/);
    expect(() => net.loadStateDict({ ...sd, "fc3.weight": zeros([1]) })).toThrow(
      /unexpected keys: fc3\.weight/,
    );
    expect(() => net.loadStateDict({ ...sd, "fc1.weight": zeros([6, 5]) })).toThrow(
      /size mismatch for fc1\.weight.*\[6, ?5\].*\[6, ?4\]/,
    );
    // The shape check happens before any copy, so a failed load changes nothing.
    const before = bytes(net.fc1.weight);
    expect(() => net.loadStateDict({ ...new Net(5).stateDict(), "fc2.bias": zeros([3]) })).toThrow(
      /fc2\.bias/,
    );
    expect(bytes(net.fc1.weight)).toEqual(before);
  });

  it("strict: false loads what matches and returns the key lists", () => {
    const net = new Net(0);
    const src = new Net(7);
    const { "norm.bias": _b, ...partial } = src.stateDict();
    const res = net.loadStateDict({ ...partial, extra: zeros([2]) }, { strict: false });
    expect(res).toEqual({ missingKeys: ["norm.bias"], unexpectedKeys: ["extra"] });
    expect(bytes(net.fc1.weight)).toEqual(bytes(src.fc1.weight));
    expect(() => net.loadStateDict({ "fc1.weight": zeros([1, 1]) }, { strict: false })).toThrow(
      /size mismatch for fc1\.weight/,
    );
  });
});

describe("Module modes and helpers", () => {
  it("train()/eval() switch Dropout on and off throughout the tree", () => {
    const net = new Net(0);
    const x = randn([8, 4], { generator: new Generator(1) });
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    expect(bytes(net.forward(x))).toEqual(bytes(net.forward(x)));
    net.train();
    expect(net.drop.training).toBe(true);
    const h = net.norm.forward(net.fc1.forward(x).tanh());
    const dropped = net.drop.forward(h).toArray();
    let zeros = 0;
    for (let i = 0; i < dropped.length; i++) {
      if (dropped[i] === 0) zeros++;
      else expect(dropped[i]).toBeCloseTo(2 * h.toArray()[i], 5);
    }
    expect(zeros).toBeGreaterThan(0);
    expect(net.train(false).training).toBe(false);
  });

  it("zeroGrad clears every parameter's gradient", () => {
    const net = new Net(0);
    net
      .forward(randn([3, 4]))
      .sum()
      .backward();
    expect(net.parameters().every((p) => p.grad !== null)).toBe(true);
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it("apply visits children before parents, every module once", () => {
    const net = new Net(0);
    const seen: string[] = [];
    net.apply((m) => seen.push(m.constructor.name));
    expect(seen).toEqual(["Linear", "LayerNorm", "Dropout", "Linear", "Net"]);
    // The usual use: re-initialise every Linear.
    net.apply((m) => {
      if (m instanceof nn.Linear) nn.init.zeros_(m.weight);
    });
    expect(net.fc1.weight.toArray().every((v) => v === 0)).toBe(true);
  });

  it("numParameters counts every element once, tied weights once, and trainable only on request", () => {
    const net = new Net(0);
    expect(net.numParameters()).toBe(4 * 6 + 6 + 6 + 6 + 6 * 2 + 2);
    class Tied extends Module {
      a = new nn.Linear(3, 3, { bias: false });
      b = new nn.Linear(3, 3, { bias: false });
      frozen = new Parameter(zeros([4]), false);
      constructor() {
        super();
        this.b.weight = this.a.weight;
      }
    }
    const t = new Tied();
    expect(t.numParameters()).toBe(9 + 4);
    expect(t.numParameters({ trainableOnly: true })).toBe(9);
    expect(Object.keys(t.stateDict())).toEqual(["frozen", "a.weight", "b.weight"]);
    expect(tensor([1]).requiresGrad).toBe(false);
  });
});
