/** nn.Transformer and its layers: structure, masks, layouts, cached decoding and gradients. */
import { describe, expect, it } from "vitest";
import { cat, Generator, manualSeed, narrow, nn, randn, tensor, transpose } from "../../src/index.js";
import { expectClose, gradCheck } from "../helpers.js";
import { fixture, floatOf, stateOf } from "./fixture.js";

manualSeed(11);
const f64 = { dtype: "float64" } as const;

describe("Transformer structure", () => {
  it("has nn.Transformer's state-dict keys and parameter count", () => {
    const model = new nn.Transformer({
      dModel: 16,
      nhead: 2,
      numEncoderLayers: 2,
      numDecoderLayers: 2,
      dimFeedforward: 32,
    });
    const sd = model.stateDict();
    expect(Object.keys(sd)).toEqual(Object.keys(fixture.transformer.state));
    const torchCount = Object.values(fixture.transformer.state).reduce((n, e) => n + e.data.length, 0);
    expect(model.numParameters()).toBe(torchCount);
    expect(Object.keys(sd).slice(0, 4)).toEqual([
      "encoder.layers.0.self_attn.in_proj_weight",
      "encoder.layers.0.self_attn.in_proj_bias",
      "encoder.layers.0.self_attn.out_proj.weight",
      "encoder.layers.0.self_attn.out_proj.bias",
    ]);
  });

  it("re-initialises every matrix xavier-uniform, as PyTorch", () => {
    const model = new nn.Transformer({
      dModel: 16,
      nhead: 2,
      numEncoderLayers: 1,
      numDecoderLayers: 1,
      dimFeedforward: 32,
    });
    const w = model.encoder.layers.at(0).linear1.weight; // (32, 16)
    const bound = Math.sqrt(6 / 48);
    const max = Math.max(...w.toArray().map(Math.abs));
    expect(max).toBeLessThanOrEqual(bound);
    expect(max).toBeGreaterThan(0.9 * bound);
  });

  it("generateSquareSubsequentMask is 0 on and below the diagonal, −∞ above", () => {
    const inf = Number.NEGATIVE_INFINITY;
    expect(nn.Transformer.generateSquareSubsequentMask(3).tolist()).toEqual([
      [0, inf, inf],
      [0, 0, inf],
      [0, 0, 0],
    ]);
    expect(nn.Transformer.generateSquareSubsequentMask(2, "float64").dtype).toBe("float64");
  });

  it("stacks independent copies of a given layer (PyTorch's deepcopy) or factory layers", () => {
    const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    const enc = new nn.TransformerEncoder(layer, 3, new nn.LayerNorm(8));
    expect(enc.layers.length).toBe(3);
    for (const l of enc.layers) {
      expect(l).not.toBe(layer);
      expectClose(l.self_attn.in_proj_weight!, layer.self_attn.in_proj_weight!, 0, 0);
      expect(l.linear1.weight).not.toBe(layer.linear1.weight);
    }
    expect(Object.keys(enc.stateDict()).at(-1)).toBe("norm.bias");
    let made = 0;
    const dec = new nn.TransformerDecoder((i) => {
      made = i + 1;
      return new nn.TransformerDecoderLayer(8, 2, { dimFeedforward: 16 });
    }, 2);
    expect(made).toBe(2);
    expect(dec.norm).toBeNull();
    expect(Object.keys(dec.layers.at(1).stateDict())).toContain("multihead_attn.in_proj_weight");
  });

  it("loads in float64 and still matches PyTorch's float32 output", () => {
    const fx = fixture.transformer;
    const model = new nn.Transformer({ ...fx.config, dropout: 0, batchFirst: true }).to("float64").eval();
    model.loadStateDict(stateOf(fx.state, "float64"));
    const src = floatOf(fx.src, "float64");
    const tgt = floatOf(fx.tgt, "float64");
    const skpm = floatOf(fx.srcKeyPaddingMask).gt(0.5);
    const out = model.forward(src, tgt, {
      tgtMask: nn.Transformer.generateSquareSubsequentMask(5, "float64"),
      srcKeyPaddingMask: skpm,
      tgtKeyPaddingMask: floatOf(fx.tgtKeyPaddingMask).gt(0.5),
      memoryKeyPaddingMask: skpm,
    });
    expect(out.dtype).toBe("float64");
    expectClose(out, fx.cases[0].output.data, 1e-5, 1e-5);
  });
});

describe("Transformer semantics", () => {
  const cfg = {
    dModel: 8,
    nhead: 2,
    numEncoderLayers: 2,
    numDecoderLayers: 2,
    dimFeedforward: 16,
    dropout: 0,
  };

  it("batch-first and sequence-first models agree", () => {
    const bf = new nn.Transformer({ ...cfg, batchFirst: true }).eval();
    const sf = new nn.Transformer({ ...cfg, batchFirst: false }).eval();
    sf.loadStateDict(bf.stateDict());
    const src = randn([2, 5, 8]);
    const tgt = randn([2, 4, 8]);
    const a = bf.forward(src, tgt, { tgtIsCausal: true });
    const b = sf.forward(transpose(src, 0, 1), transpose(tgt, 0, 1), { tgtIsCausal: true });
    expectClose(a, transpose(b, 0, 1), 1e-5, 1e-6);
    expect(() => bf.forward(src, randn([3, 4, 8]))).toThrow(/same batch size/);
  });

  it("isCausal equals the explicit causal mask (encoder and decoder)", () => {
    for (const normFirst of [false, true]) {
      const m = new nn.Transformer({ ...cfg, batchFirst: true, normFirst }).eval();
      const src = randn([2, 5, 8]);
      const tgt = randn([2, 4, 8]);
      const a = m.forward(src, tgt, { srcIsCausal: true, tgtIsCausal: true });
      const b = m.forward(src, tgt, {
        srcMask: nn.Transformer.generateSquareSubsequentMask(5),
        tgtMask: nn.Transformer.generateSquareSubsequentMask(4),
      });
      expectClose(a, b, 1e-5, 1e-6);
    }
  });

  it("encoder output at real positions ignores what sits at padded positions", () => {
    const layer = new nn.TransformerEncoderLayer(8, 2, {
      dimFeedforward: 16,
      dropout: 0,
      batchFirst: true,
    }).eval();
    const x = randn([1, 5, 8]);
    const srcKeyPaddingMask = tensor([[false, false, false, true, true]]);
    const y1 = layer.forward(x, { srcKeyPaddingMask });
    const x2 = cat([narrow(x, 1, 0, 3), randn([1, 2, 8])], 1);
    const y2 = layer.forward(x2, { srcKeyPaddingMask });
    expectClose(narrow(y1, 1, 0, 3), narrow(y2, 1, 0, 3), 1e-6, 1e-6);
  });

  for (const normFirst of [false, true]) {
    it(`cached incremental decoding equals full causal decoding (${normFirst ? "pre" : "post"}-norm)`, () => {
      const m = new nn.Transformer({ ...cfg, batchFirst: true, normFirst, dtype: "float64" }).eval();
      const memory = m.encoder.forward(randn([2, 5, 8], f64));
      const memoryKeyPaddingMask = tensor([
        [false, false, false, false, false],
        [false, false, false, true, true],
      ]);
      const tgt = randn([2, 6, 8], f64);
      const full = m.decoder.forward(tgt, memory, { tgtIsCausal: true, memoryKeyPaddingMask });
      const cache = m.decoder.createCache();
      const parts = [m.decoder.forward(narrow(tgt, 1, 0, 3), memory, { cache, memoryKeyPaddingMask })];
      for (let t = 3; t < 6; t++)
        parts.push(m.decoder.forward(narrow(tgt, 1, t, 1), memory, { cache, memoryKeyPaddingMask }));
      expect(cache.length).toBe(6);
      expectClose(cat(parts, 1), full, 1e-10, 1e-10);
    });
  }

  it("dropout is active in training and off in eval", () => {
    const m = new nn.TransformerEncoderLayer(8, 2, {
      dimFeedforward: 16,
      dropout: 0.5,
      generator: new Generator(1),
    });
    const x = randn([4, 2, 8]);
    const a = m.forward(x);
    const b = m.forward(x);
    expect(a.sub(b).abs().max().item()).toBeGreaterThan(1e-3);
    m.eval();
    expectClose(m.forward(x), m.forward(x), 0, 0);
  });
});

describe("Transformer layer gradients (float64 central differences, dropout 0)", () => {
  const opts = { dimFeedforward: 12, dropout: 0, batchFirst: true } as const;

  for (const normFirst of [false, true]) {
    it(`encoder layer (${normFirst ? "pre" : "post"}-norm, gelu) with a key padding mask`, () => {
      const layer = new nn.TransformerEncoderLayer(6, 2, { ...opts, normFirst, activation: "gelu" }).to(
        "float64",
      );
      const srcKeyPaddingMask = tensor([
        [false, false, false, false],
        [false, false, false, true],
      ]);
      const x = randn([2, 4, 6], f64).requiresGrad_();
      // Inputs and a few parameters (perturbed in place like any leaf).
      gradCheck(
        (a) => layer.forward(a, { srcKeyPaddingMask }),
        [x, layer.self_attn.in_proj_bias!, layer.norm2.weight!],
      );
    });

    it(`decoder layer (${normFirst ? "pre" : "post"}-norm) through tgt and memory`, () => {
      const layer = new nn.TransformerDecoderLayer(6, 2, { ...opts, normFirst }).to("float64");
      const memoryKeyPaddingMask = tensor([
        [false, false, false, true],
        [false, false, false, false],
      ]);
      const tgt = randn([2, 3, 6], f64).requiresGrad_();
      const mem = randn([2, 4, 6], f64).requiresGrad_();
      const params = [layer.multihead_attn.in_proj_bias!, layer.norm3.weight!];
      gradCheck(
        (a, b) => layer.forward(a, b, { tgtIsCausal: true, memoryKeyPaddingMask }),
        [tgt, mem, ...params],
      );
    });
  }
});
