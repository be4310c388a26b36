/** nn.MultiheadAttention: names, init, mask conventions, layouts, dropout, caches and gradients. */
import { describe, expect, it } from "vitest";
import { cat, Generator, narrow, nn, randn, tensor, transpose, withNoGrad } from "../../src/index.js";
import { expectClose, gradCheck } from "../helpers.js";

const g = () => new Generator(7);

describe("MultiheadAttention construction", () => {
  it("uses PyTorch's state-dict names (packed, separate, no bias)", () => {
    expect(Object.keys(new nn.MultiheadAttention(8, 2).stateDict())).toEqual([
      "in_proj_weight",
      "in_proj_bias",
      "out_proj.weight",
      "out_proj.bias",
    ]);
    const sep = new nn.MultiheadAttention(8, 2, { kdim: 3, vdim: 5 });
    expect(Object.entries(sep.stateDict()).map(([k, v]) => `${k}${JSON.stringify(v.shape)}`)).toEqual([
      "q_proj_weight[8,8]",
      "k_proj_weight[8,3]",
      "v_proj_weight[8,5]",
      "in_proj_bias[24]",
      "out_proj.weight[8,8]",
      "out_proj.bias[8]",
    ]);
    expect(Object.keys(new nn.MultiheadAttention(8, 2, { bias: false }).stateDict())).toEqual([
      "in_proj_weight",
      "out_proj.weight",
    ]);
  });

  it("initialises like PyTorch: xavier-uniform in_proj, zero biases", () => {
    const m = new nn.MultiheadAttention(16, 4, { generator: g() });
    const bound = Math.sqrt(6 / (16 + 48));
    const w = m.in_proj_weight!.toArray();
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect([...m.in_proj_bias!.toArray(), ...m.out_proj.bias!.toArray()].every((x) => x === 0)).toBe(true);
  });

  it("rejects an embedDim not divisible by numHeads and bad mask shapes", () => {
    expect(() => new nn.MultiheadAttention(10, 3)).toThrow(/divisible/);
    const m = new nn.MultiheadAttention(8, 2, { batchFirst: true });
    const x = randn([2, 3, 8]);
    expect(() => m.forward(x, x, x, { attnMask: randn([3, 4]) })).toThrow(
      /attnMask of shape \[3, 4\] must be \(3, 3\)/,
    );
    expect(() => m.forward(x, x, x, { keyPaddingMask: tensor([[true, false]]) })).toThrow(/keyPaddingMask/);
  });
});

describe("MultiheadAttention forward", () => {
  const E = 8;
  const mha = (opts: nn.MultiheadAttentionOptions = {}) =>
    new nn.MultiheadAttention(E, 2, { generator: g(), ...opts }).eval();

  it("bool attnMask true = not allowed, equal to the float mask with −∞", () => {
    const m = mha({ batchFirst: true });
    const x = randn([2, 4, E]);
    const bool = tensor([
      [false, true, true, true],
      [false, false, true, true],
      [false, false, false, true],
      [false, false, false, false],
    ]);
    const a = m.forward(x, x, x, { attnMask: bool });
    const b = m.forward(x, x, x, { attnMask: nn.Transformer.generateSquareSubsequentMask(4) });
    const c = m.forward(x, x, x, { isCausal: true });
    expectClose(a.output, b.output, 1e-6, 1e-7);
    expectClose(a.output, c.output, 1e-6, 1e-7);
    expectClose(a.weights!, c.weights!, 1e-6, 1e-7);
    // Row 0 attends only to key 0.
    expect(a.weights!.toArray()[1]).toBe(0);
  });

  it("isCausal with a key padding mask: fused and explicit-weights paths agree", () => {
    const m = mha({ batchFirst: true });
    const x = randn([2, 5, E]);
    const keyPaddingMask = tensor([
      [false, false, false, false, false],
      [false, false, false, true, true],
    ]);
    const a = m.forward(x, x, x, { isCausal: true, keyPaddingMask });
    const b = m.forward(x, x, x, { isCausal: true, keyPaddingMask, needWeights: false });
    expectClose(a.output, b.output, 1e-5, 1e-6);
    // Per-head weights average to the averaged weights; padded keys get no weight.
    const perHead = m.forward(x, x, x, { isCausal: true, keyPaddingMask, averageAttnWeights: false })
      .weights!;
    expect(perHead.shape).toEqual([2, 2, 5, 5]);
    expectClose(perHead.mean(1), a.weights!, 1e-6, 1e-7);
    expect(narrow(a.weights!, 0, 1, 1).narrow(2, 3, 2).abs().sum().item()).toBe(0);
  });

  it("sequence-first, batch-first and unbatched layouts agree", () => {
    const bf = mha({ batchFirst: true });
    const sf = mha({ batchFirst: false });
    sf.loadStateDict(bf.stateDict());
    const q = randn([2, 3, E]);
    const kv = randn([2, 6, E]);
    const a = bf.forward(q, kv, kv);
    const b = sf.forward(transpose(q, 0, 1), transpose(kv, 0, 1), transpose(kv, 0, 1));
    expectClose(a.output, transpose(b.output, 0, 1), 1e-6, 1e-7);
    expectClose(a.weights!, b.weights!, 1e-6, 1e-7);
    const u = bf.forward(q.select(0, 1), kv.select(0, 1), kv.select(0, 1));
    expect(u.output.shape).toEqual([3, E]);
    expect(u.weights!.shape).toEqual([3, 6]);
    expectClose(u.output, a.output.select(0, 1), 1e-6, 1e-7);
  });

  it("drops attention weights in training only, reproducibly with a seeded generator", () => {
    const make = () =>
      new nn.MultiheadAttention(E, 2, { dropout: 0.5, batchFirst: true, generator: new Generator(3) });
    const x = randn([1, 6, E]);
    const m1 = make();
    const w1 = m1.forward(x, x, x).weights!.toArray();
    expect(w1.some((v) => v === 0)).toBe(true);
    expectClose(make().forward(x, x, x).weights!, w1);
    m1.eval();
    expect(
      m1
        .forward(x, x, x)
        .weights!.toArray()
        .every((v) => v > 0),
    ).toBe(true);
  });
});

describe("MultiheadAttention incremental decoding", () => {
  for (const inPlace of [false, true]) {
    it(`a self-attention cache fed one token at a time equals causal attention over the whole sequence (${inPlace ? "in-place storage" : "recorded graph"})`, () => {
      const m = new nn.MultiheadAttention(8, 2, {
        batchFirst: true,
        generator: g(),
        dtype: "float64",
      }).eval();
      const x = randn([2, 6, 8], { dtype: "float64" });
      const full = m.forward(x, x, x, { isCausal: true, needWeights: false }).output;
      // Slot 1 of a two-slot cache: the slot index is what a decoder layer passes.
      const cache = new nn.KVCache(2);
      const run = () => {
        const first = narrow(x, 1, 0, 2); // a 2-token prefill, then single tokens
        const opts = { isCausal: true, cache, layer: 1 };
        const steps = [m.forward(first, first, first, { ...opts, needWeights: false }).output];
        for (let t = 2; t < 6; t++) {
          const xt = narrow(x, 1, t, 1);
          // Also through the explicit-weights path, which builds the bottom-right mask itself.
          steps.push(m.forward(xt, xt, xt, { ...opts, needWeights: t % 2 === 0 }).output);
        }
        return cat(steps, 1);
      };
      const stepwise = inPlace ? withNoGrad(run) : run();
      expect(cache.layers[1].k!.shape).toEqual([2, 2, 6, 4]); // (N, H, S, hd)
      expect(cache.layers[0].k).toBeNull();
      expectClose(stepwise, full, 1e-12, 1e-12);
    });
  }

  it("a static cache projects the memory once and can be reordered", () => {
    const m = new nn.MultiheadAttention(8, 2, { batchFirst: true, generator: g() }).eval();
    const mem = randn([2, 5, 8]);
    const q = randn([2, 1, 8]);
    const cache = new nn.KVCache(1);
    const a = m.forward(q, mem, mem, { cache, staticKV: true }).output;
    expect(cache.memory(0)![0].shape).toEqual([2, 2, 5, 4]); // (N, H, S_mem, hd)
    const b = m.forward(q, randn([2, 5, 8]), randn([2, 5, 8]), { cache, staticKV: true }).output; // key/value ignored now
    expectClose(a, b, 0, 0);
    expectClose(a, m.forward(q, mem, mem).output, 1e-6, 1e-7); // the stored memory is the projected one
    cache.reorder(tensor(Int32Array.from([1, 1, 0])));
    const q3 = cat([q.narrow(0, 1, 1), q.narrow(0, 1, 1), q.narrow(0, 0, 1)], 0);
    expectClose(
      m.forward(q3, q3, q3, { cache, staticKV: true }).output,
      cat([a.narrow(0, 1, 1), a.narrow(0, 1, 1), a.narrow(0, 0, 1)], 0),
      1e-6,
      1e-7,
    );
  });
});

describe("MultiheadAttention gradients (float64 central differences)", () => {
  it("self-attention with padding and a causal mask, both paths", () => {
    const m = new nn.MultiheadAttention(4, 2, { batchFirst: true, generator: g() }).to("float64");
    const keyPaddingMask = tensor([
      [false, false, false],
      [false, false, true],
    ]);
    const x = randn([2, 3, 4], { dtype: "float64" }).requiresGrad_();
    for (const needWeights of [true, false]) {
      gradCheck((a) => m.forward(a, a, a, { keyPaddingMask, isCausal: true, needWeights }).output, [x]);
    }
  });

  it("cross-attention with separate projections and a float mask, through query, key and value", () => {
    const m = new nn.MultiheadAttention(4, 2, { kdim: 3, vdim: 5, batchFirst: true, generator: g() }).to(
      "float64",
    );
    const attnMask = randn([2, 3], { dtype: "float64" });
    const q = randn([1, 2, 4], { dtype: "float64" }).requiresGrad_();
    const k = randn([1, 3, 3], { dtype: "float64" }).requiresGrad_();
    const v = randn([1, 3, 5], { dtype: "float64" }).requiresGrad_();
    gradCheck((a, b, c) => m.forward(a, b, c, { attnMask }).output, [q, k, v]);
    // Weights are differentiable too.
    gradCheck((a) => m.forward(a, k, v, { attnMask, averageAttnWeights: false }).weights!, [q]);
  });

  it("parameter gradients reach the packed projection rows", () => {
    const m = new nn.MultiheadAttention(4, 2, { batchFirst: true, generator: g() });
    const x = randn([2, 3, 4]);
    m.forward(x, x, x, { needWeights: false }).output.sum().backward();
    const grad = m.in_proj_weight!.grad!;
    expect(grad.shape).toEqual([12, 4]);
    for (let i = 0; i < 3; i++)
      expect(
        narrow(grad, 0, 4 * i, 4)
          .abs()
          .sum()
          .item(),
      ).toBeGreaterThan(0);
    expectClose(m.out_proj.bias!.grad!, [6, 6, 6, 6]); // d Σ out / d bias = N·L
  });
});
