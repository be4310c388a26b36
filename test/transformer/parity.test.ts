/** qkv's MultiheadAttention and Transformer against torch 1.13 (fixtures from scripts/gen_transformer_fixtures.py). */
import { describe, expect, it } from "vitest";
import { nn, tensor } from "../../src/index.js";
import { expectClose } from "../helpers.js";
import { boolOf, fixture, floatOf, stateOf } from "./fixture.js";

const TOL = 1e-5;

describe("fixtures", () => {
  it("records the torch version that produced them", () => {
    expect(fixture.torch).toMatch(/^1\.13/);
  });
});

describe("MultiheadAttention parity with torch.nn.MultiheadAttention", () => {
  for (const c of fixture.mha) {
    it(c.name, () => {
      const { embedDim, numHeads, ...opts } = c.config;
      const mha = new nn.MultiheadAttention(embedDim, numHeads, opts);
      expect(Object.keys(mha.stateDict())).toEqual(Object.keys(c.state));
      mha.loadStateDict(stateOf(c.state));
      mha.eval();
      const q = floatOf(c.query);
      const k = c.key ? floatOf(c.key) : q;
      const v = c.value ? floatOf(c.value) : q;
      const mask = (e: typeof c.attnMask) => (e ? (e.dtype === "bool" ? boolOf(e) : floatOf(e)) : null);
      const attnMask = mask(c.attnMask);
      const keyPaddingMask = mask(c.keyPaddingMask);
      const averageAttnWeights = c.averageAttnWeights;
      const { output, weights } = mha.forward(q, k, v, { attnMask, keyPaddingMask, averageAttnWeights });
      expect(output.shape).toEqual(c.output.shape);
      expect(weights?.shape).toEqual(c.weights.shape);
      expectClose(output, c.output.data, TOL, TOL, "output");
      expectClose(weights!, c.weights.data, TOL, TOL, "weights");
      // The fused path (needWeights false) gives the same output.
      const fused = mha.forward(q, k, v, { attnMask, keyPaddingMask, needWeights: false });
      expect(fused.weights).toBeNull();
      expectClose(fused.output, c.output.data, TOL, TOL, "fused output");
    });
  }
});

describe("Transformer parity with torch.nn.Transformer (batch first, eval)", () => {
  const f = fixture.transformer;
  const T = f.tgt.shape[1];
  for (const c of f.cases) {
    it(`${c.normFirst ? "pre-norm" : "post-norm"}, ${c.activation}: outputs${c.grads ? " and input gradients" : ""}`, () => {
      const model = new nn.Transformer({
        ...f.config,
        dropout: 0,
        batchFirst: true,
        normFirst: c.normFirst,
        activation: c.activation,
      });
      expect(Object.keys(model.stateDict())).toEqual(Object.keys(f.state));
      model.loadStateDict(stateOf(f.state));
      model.eval();
      const src = floatOf(f.src).requiresGrad_();
      const tgt = floatOf(f.tgt).requiresGrad_();
      const srcKeyPaddingMask = boolOf(f.srcKeyPaddingMask);
      const out = model.forward(src, tgt, {
        tgtMask: nn.Transformer.generateSquareSubsequentMask(T),
        srcKeyPaddingMask,
        tgtKeyPaddingMask: boolOf(f.tgtKeyPaddingMask),
        memoryKeyPaddingMask: srcKeyPaddingMask,
      });
      expectClose(out, c.output.data, TOL, TOL, "output");
      if (!c.grads) return;
      const w = new Float32Array(out.numel()).map((_, i) => Math.sin(1.3 * i + 0.7) + 0.1);
      out
        .mul(tensor(w, { shape: [...out.shape] }))
        .sum()
        .backward();
      expectClose(src.grad!, c.grads.src.data, TOL, TOL, "src grad");
      expectClose(tgt.grad!, c.grads.tgt.data, TOL, TOL, "tgt grad");
      const pname = "decoder.layers.0.multihead_attn.in_proj_weight";
      const p = Object.fromEntries(model.namedParameters())[pname];
      expectClose(p.grad!, c.grads[pname].data, TOL, TOL, `${pname} grad`);
    });
  }
});
