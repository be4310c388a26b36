/**
 * fusedTransformerLayer, the optional fused inference layer: where the backend declares it, it
 * equals the layer composed from ops (GPT-2, BERT and decoder-with-cross-attention shapes, with and
 * without a cache and masks) and writes exactly the new cache rows; where it does not (cpu), the
 * op says so and models run their composed forward. Bad input is rejected naming the op.
 */
import { describe, expect, it, vi } from "vitest";
import * as q from "../../src/index.js";
import { expectClose } from "../helpers.js";
import { composedLayer, makeLayer, SPECS } from "./fused-layer-ref.js";

const fused = q.hasFusedTransformerLayer("float32");

describe.skipIf(fused)("fusedTransformerLayer on a backend without it", () => {
  it("is declared absent, the op refuses, and GPT decoding runs the composed block", () => {
    const { x, w, opts } = makeLayer({ ...SPECS[0], dtype: "float32" }, 1);
    expect(q.hasFusedTransformerLayer("float64")).toBe(false);
    expect(() => q.withNoGrad(() => q.fusedTransformerLayer(x, w, opts))).toThrow(
      /fusedTransformerLayer: the cpu backend has no fused transformer layer for float32; run the composed forward/,
    );
    // the cached step of the composed block equals the full forward's last position
    const model = new q.GPT(
      { vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0, bias: true },
      { generator: new q.Generator(3) },
    ).eval();
    q.withNoGrad(() => {
      const ids = q.tensor(Int32Array.of(1, 5, 2, 7), { shape: [1, 4] });
      const full = model.forward(ids).logits; // (1, 4, V)
      const cache = new q.KVCache(2);
      model.forward(q.narrow(ids, 1, 0, 3), null, { cache });
      const step = model.forward(q.narrow(ids, 1, 3, 1), null, { cache }).logits;
      expectClose(step, q.narrow(full, 1, 3, 1), 1e-5, 1e-6, "cached step");
    });
  });
});

describe.skipIf(!fused)("fusedTransformerLayer equals the composed layer", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const [i, spec] of SPECS.entries()) {
      it(`${spec.name} (${dtype})`, () => {
        const { x, w, opts } = makeLayer({ ...spec, dtype }, 100 + i);
        const cache = opts.cache ?? null;
        const before = cache ? { k: cache.k.toArray(), v: cache.v.toArray() } : null;
        const want = q.withNoGrad(() => composedLayer(x, w, opts));
        const got = q.withNoGrad(() => q.fusedTransformerLayer(x, w, opts));
        const [rtol, atol] = dtype === "float32" ? [1e-4, 1e-5] : [1e-11, 1e-12];
        expectClose(got, want.y, rtol, atol, "output");
        if (cache && before) {
          // rows past … past + T − 1 hold the new keys and values; every other row is untouched
          const { past } = cache;
          const T = x.shape[1];
          expectClose(q.narrow(cache.k, 2, past, T), want.kNew, rtol, atol, "new keys");
          expectClose(q.narrow(cache.v, 2, past, T), want.vNew, rtol, atol, "new values");
          const [B, H, cap, hs] = cache.k.shape;
          const k = cache.k.toArray();
          for (let bh = 0; bh < B * H; bh++)
            for (let t = 0; t < cap; t++) {
              if (t >= past && t < past + T) continue;
              for (let d = 0; d < hs; d++) {
                const j = (bh * cap + t) * hs + d;
                if (k[j] !== before.k[j]) throw new Error(`cache row ${t} of head ${bh} changed`);
              }
            }
        }
      });
    }
  }

  it("GPT generation with the fused block matches the composed block token for token", () => {
    const model = new q.GPT(
      { vocabSize: 13, blockSize: 12, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0, bias: true },
      { generator: new q.Generator(4) },
    ).eval();
    const layer = q.backend().fused!.transformerLayer!;
    const spy = vi.spyOn(layer, "forward");
    try {
      q.withNoGrad(() => {
        const ids = q.tensor(Int32Array.of(3, 1, 4, 1, 5, 9), { shape: [1, 6] });
        const full = model.forward(ids).logits; // composed: no cache
        expect(spy).not.toHaveBeenCalled();
        const cache = new q.KVCache(2);
        model.forward(q.narrow(ids, 1, 0, 2), null, { cache }); // fused prefill
        for (let t = 2; t < 6; t++) {
          const step = model.forward(q.narrow(ids, 1, t, 1), null, { cache }).logits;
          expectClose(step, q.narrow(full, 1, t, 1), 1e-4, 1e-5, `step ${t}`);
        }
      });
      // one fused call per layer and step: the prefill and 4 single tokens through 2 layers
      expect(spy).toHaveBeenCalledTimes(10);
    } finally {
      spy.mockRestore();
    }
  });
});

/** (out, in) `w`'s values as the transposed view of an (in, out) row-major copy (GPT-2's Conv1D as loaded). */
function storedTransposed(w: q.Tensor): q.Tensor {
  const [out, inp] = w.shape;
  const stored = q.contiguous(q.transpose(w, 0, 1)); // (in, out)
  return new q.Tensor(stored.data, [out, inp], [1, out], 0);
}

function transposedWeights(w: q.FusedLayerWeights): q.FusedLayerWeights {
  const lin = (l: q.LinearParams): q.LinearParams => ({ weight: storedTransposed(l.weight), bias: l.bias });
  const qkv = "weight" in w.qkv ? lin(w.qkv) : { q: lin(w.qkv.q), k: lin(w.qkv.k), v: lin(w.qkv.v) };
  const cross = w.cross ? { q: lin(w.cross.q), out: lin(w.cross.out), norm: w.cross.norm } : w.cross;
  return { ...w, qkv, attnOut: lin(w.attnOut), fc: lin(w.fc), proj: lin(w.proj), cross };
}

describe.skipIf(!fused)("fusedTransformerLayer with every weight stored (in, out)", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const [i, spec] of SPECS.entries()) {
      it(`${spec.name} (${dtype}): the kernel reads them as they lie and gives the row-major layer's output`, () => {
        const a = makeLayer({ ...spec, dtype }, 300 + i);
        const b = makeLayer({ ...spec, dtype }, 300 + i);
        const wT = transposedWeights(b.w);
        const layer = q.backend().fused?.transformerLayer;
        if (!layer) throw new Error("no fused layer");
        const spy = vi.spyOn(layer, "forward");
        let got: q.Tensor;
        let want: q.Tensor;
        try {
          want = q.withNoGrad(() => q.fusedTransformerLayer(a.x, a.w, a.opts));
          got = q.withNoGrad(() => q.fusedTransformerLayer(b.x, wT, b.opts));
          expect(spy.mock.calls.map((c) => c[0].weightsTransposed)).toEqual([false, true]);
        } finally {
          spy.mockRestore();
        }
        const [rtol, atol] = dtype === "float32" ? [1e-4, 1e-5] : [1e-11, 1e-12];
        expectClose(got, want, rtol, atol, "output");
        if (a.opts.cache && b.opts.cache) expectClose(b.opts.cache.k, a.opts.cache.k, rtol, atol, "keys");
      });
    }
  }
});

describe("fusedTransformerLayer rejects bad input naming the op", () => {
  const gpt = () => makeLayer({ ...SPECS[3], dtype: "float32" }, 7); // B 2, T 5, C 36, H 3, past 11, cap 40
  const bert = () => makeLayer({ ...SPECS[5], dtype: "float32" }, 8); // B 3, T 7, C 48, H 4
  const call = (x: q.Tensor, w: q.FusedLayerWeights, o: q.FusedLayerOptions) => () =>
    q.withNoGrad(() => q.fusedTransformerLayer(x, w, o));

  it("shapes of x, heads and weights", () => {
    const { x, w, opts } = gpt();
    expect(call(q.reshape(x, [10, 36]), w, opts)).toThrow(
      /fusedTransformerLayer: x must be \(B, T, C\), got \[10, 36\]/,
    );
    expect(call(x, w, { ...opts, nHead: 5 })).toThrow(
      /fusedTransformerLayer: nHead 5 must divide the width C = 36/,
    );
    expect(call(x, { ...w, attnOut: { weight: q.zeros([36, 35]) } }, opts)).toThrow(
      /fusedTransformerLayer: attnOut.weight must be float32 \[36, 36\] for x \[2, 5, 36\], got float32 \[36, 35\]/,
    );
    expect(call(x, { ...w, proj: { weight: q.zeros([36, 143]) } }, opts)).toThrow(
      /fusedTransformerLayer: proj.weight must be float32 \[36, 144\]/,
    );
    expect(call(x, { ...w, norm3: { weight: q.ones([36], { dtype: "float64" }) } }, opts)).toThrow(
      /fusedTransformerLayer: norm3.weight must be float32 \[36\] for x \[2, 5, 36\], got float64 \[36\]/,
    );
    const b = bert();
    const sep = b.w.qkv as { q: q.LinearParams; k: q.LinearParams; v: q.LinearParams };
    expect(call(b.x, { ...b.w, qkv: { ...sep, k: { weight: q.zeros([48, 47]) } } }, b.opts)).toThrow(
      /fusedTransformerLayer: qkv.k.weight must be float32 \[48, 48\]/,
    );
  });

  it("cache shape, capacity, layout and dtype", () => {
    const { x, w, opts } = gpt();
    const c = opts.cache!;
    expect(call(x, w, { ...opts, cache: { ...c, v: q.zeros([2, 3, 40, 11]) } })).toThrow(
      /fusedTransformerLayer: cache k and v must both be \(2, 3, cap, 12\) for x \[2, 5, 36\], got \[2, 3, 40, 12\] and \[2, 3, 40, 11\]/,
    );
    expect(call(x, w, { ...opts, cache: { ...c, past: 36 } })).toThrow(
      /fusedTransformerLayer: 36 cached \+ 5 new positions do not fit a cache of 40/,
    );
    const tk = q.transpose(q.zeros([2, 3, 12, 40]), 2, 3);
    expect(call(x, w, { ...opts, cache: { k: tk, v: tk, past: 0 } })).toThrow(
      /fusedTransformerLayer: the cache k and v must be contiguous/,
    );
    const d = q.zeros([2, 3, 40, 12], { dtype: "float64" });
    expect(call(x, w, { ...opts, cache: { k: d, v: d, past: 0 } })).toThrow(
      /fusedTransformerLayer: cache k and v must be float32 like x, got float64 and float64/,
    );
  });

  it("masks, memory and gradients", () => {
    const b = bert();
    expect(call(b.x, b.w, { ...b.opts, mask: q.ones([3, 1, 7, 6], { dtype: "bool" }) })).toThrow(
      /fusedTransformerLayer: mask of shape \[3, 1, 7, 6\] cannot be broadcast to \[3, 4, 7, 7\]/,
    );
    expect(call(b.x, b.w, { ...b.opts, mask: q.zeros([7, 7], { dtype: "int32" }) })).toThrow(
      /fusedTransformerLayer: mask must be bool or float32, got int32/,
    );
    const dec = makeLayer({ ...SPECS[7], dtype: "float32" }, 9); // B 2, T 1, C 32, H 4, Sm 9
    expect(call(dec.x, { ...dec.w, cross: null }, dec.opts)).toThrow(
      /fusedTransformerLayer: weights.cross and opts.memory come together/,
    );
    const m = dec.opts.memory!;
    expect(call(dec.x, dec.w, { ...dec.opts, memory: { ...m, k: q.zeros([2, 4, 9, 7]) } })).toThrow(
      /fusedTransformerLayer: memory k and v must both be \(2, 4, Sm, 8\) for x \[2, 1, 32\], got \[2, 4, 9, 7\] and \[2, 4, 9, 8\]/,
    );
    expect(call(dec.x, dec.w, { ...dec.opts, memory: { ...m, mask: q.zeros([2, 1, 1, 8]) } })).toThrow(
      /fusedTransformerLayer: memory.mask of shape \[2, 1, 1, 8\] cannot be broadcast to \[2, 4, 1, 9\]/,
    );
    const { x, w, opts } = gpt();
    const p = q.zeros([144, 36]).requiresGrad_();
    expect(() => q.fusedTransformerLayer(x, { ...w, fc: { weight: p } }, opts)).toThrow(
      /fusedTransformerLayer: inference only \(no gradient\); call it under withNoGrad\(\)/,
    );
  });
});
