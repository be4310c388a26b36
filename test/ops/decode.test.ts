/**
 * gptBlockDecode, the fused inference step of a GPT block over a KV cache: equal to the block's
 * composed ops, writes the cache in place, and rejects bad input naming the op and the shapes.
 */
import { describe, expect, it } from "vitest";
import * as q from "../../src/index.js";
import { expectClose } from "../helpers.js";

const C = 16;
const H = 2;
const hs = C / H;

function weights(bias: boolean): q.GPTBlockWeights {
  const g = new q.Generator(5);
  const r = (shape: number[], s = 0.3) => q.randn(shape, { generator: g }).mul(s);
  return {
    ln1Weight: r([C], 0.1).add(1),
    ln1Bias: bias ? r([C], 0.1) : null,
    attnWeight: r([3 * C, C]),
    attnBias: bias ? r([3 * C], 0.1) : null,
    projWeight: r([C, C]),
    projBias: bias ? r([C], 0.1) : null,
    ln2Weight: r([C], 0.1).add(1),
    ln2Bias: bias ? r([C], 0.1) : null,
    fcWeight: r([4 * C, C]),
    fcBias: bias ? r([4 * C], 0.1) : null,
    mlpWeight: r([C, 4 * C], 0.15),
    mlpBias: bias ? r([C], 0.1) : null,
  };
}

/** The block written with ops: x + proj(attn(ln_1 x)), then + mlp(ln_2 ·), attending over cached k, v (B, H, S, hs). */
function composed(x: q.Tensor, w: q.GPTBlockWeights, kPast: q.Tensor, vPast: q.Tensor): q.Tensor {
  const [B, T] = x.shape;
  const heads = (t: q.Tensor) => q.transpose(q.reshape(t, [B, T, H, hs]), 1, 2);
  const h1 = q.layerNorm(x, [C], w.ln1Weight, w.ln1Bias);
  const [qq, kk, vv] = q.split(q.linear(h1, w.attnWeight, w.attnBias), C, 2);
  const k = q.cat([kPast, heads(kk)], 2);
  const v = q.cat([vPast, heads(vv)], 2);
  const y = q.scaledDotProductAttention(heads(qq), k, v, { causalBottomRight: true });
  const merged = q.reshape(q.contiguous(q.transpose(y, 1, 2)), [B, T, C]);
  const x1 = q.add(x, q.linear(merged, w.projWeight, w.projBias));
  const h2 = q.layerNorm(x1, [C], w.ln2Weight, w.ln2Bias);
  const m = q.linear(
    q.gelu(q.linear(h2, w.fcWeight, w.fcBias), { approximate: "tanh" }),
    w.mlpWeight,
    w.mlpBias,
  );
  return q.add(x1, m);
}

describe("gptBlockDecode", () => {
  for (const bias of [true, false]) {
    it(`equals the composed block and writes the new keys/values (bias ${bias})`, () => {
      const g = new q.Generator(9);
      const [B, T, past, cap] = [2, 3, 4, 10];
      const w = weights(bias);
      const x = q.randn([B, T, C], { generator: g });
      const k = q.randn([B, H, cap, hs], { generator: g });
      const v = q.randn([B, H, cap, hs], { generator: g });
      const kPast = k.narrow(2, 0, past).contiguous();
      const vPast = v.narrow(2, 0, past).contiguous();
      const want = q.withNoGrad(() => composed(x, w, kPast, vPast));
      const got = q.withNoGrad(() => q.gptBlockDecode(x, w, k, v, past, { nHead: H }));
      expectClose(got, want, 1e-4, 1e-5, "block output");
      // The cache now holds the projected keys of the new tokens at rows past … past + T − 1.
      const h1 = q.layerNorm(x, [C], w.ln1Weight, w.ln1Bias);
      const kNew = q.transpose(
        q.reshape(q.linear(h1, w.attnWeight, w.attnBias).narrow(2, C, C), [B, T, H, hs]),
        1,
        2,
      );
      expectClose(k.narrow(2, past, T).contiguous(), kNew.contiguous(), 1e-4, 1e-5, "written keys");
      expectClose(k.narrow(2, 0, past).contiguous(), kPast, 0, 0, "earlier keys untouched");
    });
  }

  it("rejects bad input, naming the op and the shapes", () => {
    const w = weights(true);
    const x = q.zeros([1, 1, C]);
    const cache = () => q.zeros([1, H, 4, hs]);
    const run = (xx: q.Tensor, ww: q.GPTBlockWeights, k: q.Tensor, v: q.Tensor, past: number, nHead = H) =>
      q.withNoGrad(() => q.gptBlockDecode(xx, ww, k, v, past, { nHead }));
    expect(() => run(q.zeros([1, C]), w, cache(), cache(), 0)).toThrow(
      /gptBlockDecode: x must be \(B, T, C\), got \[1, 16\]/,
    );
    expect(() => run(x, w, cache(), cache(), 0, 3)).toThrow(
      /gptBlockDecode: nHead 3 must divide the width C = 16/,
    );
    expect(() => run(x, w, q.zeros([1, H, 4, 4]), cache(), 0)).toThrow(
      /gptBlockDecode: caches must both be \(1, 2, cap, 8\) for x \[1, 1, 16\], got k \[1, 2, 4, 4\] and v \[1, 2, 4, 8\]/,
    );
    expect(() => run(x, w, cache(), cache(), 4)).toThrow(
      /gptBlockDecode: 4 cached \+ 1 new positions do not fit a cache of 4/,
    );
    expect(() => run(x, { ...w, fcWeight: q.zeros([C, C]) }, cache(), cache(), 0)).toThrow(
      /gptBlockDecode: fcWeight must be float32 \[64, 16\] for x \[1, 1, 16\], got float32 \[16, 16\]/,
    );
    const t = q.zeros([1, H, 8, hs]);
    expect(() => run(x, w, t.narrow(2, 0, 4), t.narrow(2, 0, 4), 0)).toThrow(
      /gptBlockDecode: the caches must be contiguous/,
    );
    const p = q.zeros([3 * C, C]).requiresGrad_();
    expect(() => q.gptBlockDecode(x, { ...w, attnWeight: p }, cache(), cache(), 0, { nHead: H })).toThrow(
      /gptBlockDecode: inference only \(no gradient\); call it under withNoGrad\(\)/,
    );
  });
});
