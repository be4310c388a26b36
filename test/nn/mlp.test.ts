/** nn.MLP: layer layout, activations, dropout, forward and backward. */
import { describe, expect, it } from "vitest";
import { Generator, nn, randn } from "../../src/index.js";

describe("MLP", () => {
  it("stacks Linear layers with the activation between them and none after the last", () => {
    const m = new nn.MLP([2, 16, 8, 3], { activation: "gelu" });
    expect([...m].map((l) => l.constructor.name)).toEqual(["Linear", "GELU", "Linear", "GELU", "Linear"]);
    expect(Object.keys(m.stateDict())).toEqual([
      "0.weight",
      "0.bias",
      "2.weight",
      "2.bias",
      "4.weight",
      "4.bias",
    ]);
    expect(m.numParameters()).toBe(2 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3);
    expect(m.forward(randn([5, 2])).shape).toEqual([5, 3]);
  });

  it("offers relu, sigmoid, tanh, gelu and silu", () => {
    const names = { relu: "ReLU", sigmoid: "Sigmoid", tanh: "Tanh", gelu: "GELU", silu: "SiLU" } as const;
    for (const [act, cls] of Object.entries(names)) {
      const m = new nn.MLP([3, 4, 2], { activation: act as nn.ActivationName });
      expect(m.at(1).constructor.name).toBe(cls);
      expect(m.activation).toBe(act);
    }
    expect(new nn.MLP([3, 2]).length).toBe(1);
    expect(() => new nn.MLP([3, 4, 2], { activation: "swish" as nn.ActivationName })).toThrow(
      /unknown activation "swish"/,
    );
  });

  it("adds Dropout after each hidden activation, active only in train mode", () => {
    const m = new nn.MLP([4, 32, 32, 2], { dropout: 0.5, generator: new Generator(0) });
    expect([...m].map((l) => l.constructor.name)).toEqual([
      "Linear",
      "ReLU",
      "Dropout",
      "Linear",
      "ReLU",
      "Dropout",
      "Linear",
    ]);
    const x = randn([6, 4], { generator: new Generator(1) });
    m.eval();
    expect(Array.from(m.forward(x).toArray())).toEqual(Array.from(m.forward(x).toArray()));
    m.train();
    expect(Array.from(m.forward(x).toArray())).not.toEqual(Array.from(m.forward(x).toArray()));
  });

  it("seeded construction is reproducible; options reach the layers", () => {
    const a = new nn.MLP([3, 5, 2], { generator: new Generator(4), dtype: "float64", bias: false });
    const b = new nn.MLP([3, 5, 2], { generator: new Generator(4), dtype: "float64", bias: false });
    expect(a.parameters().map((p) => p.dtype)).toEqual(["float64", "float64"]);
    expect(Array.from(a.parameters()[0].toArray())).toEqual(Array.from(b.parameters()[0].toArray()));
    expect(() => new nn.MLP([3])).toThrow(/at least an input and an output/);
    expect(() => new nn.MLP([3, 0, 2])).toThrow(/positive integers/);
  });

  it("backpropagates to every parameter", () => {
    const m = new nn.MLP([3, 4, 2], { activation: "sigmoid" });
    m.forward(randn([5, 3]))
      .square()
      .sum()
      .backward();
    expect(m.parameters().every((p) => p.grad !== null && p.grad.shape.join() === p.shape.join())).toBe(true);
  });
});
