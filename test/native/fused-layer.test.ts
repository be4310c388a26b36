/**
 * The native fused transformer layer on every instruction set and at 1 and 2 threads, against the
 * layer composed from ops on the reference cpu backend (test/ops/fused-layer-ref.ts), and the
 * addon's own refusal of operands that do not fit (the op validates first, so this is a backstop).
 */
import { afterAll, describe, expect, it } from "vitest";
import { setBackend } from "../../src/backend/select.js";
import { nativeBackend, setNativeIsa, setNumThreads } from "../../src/backends/native/index.js";
import * as q from "../../src/index.js";
import { composedLayer, makeLayer, SPECS } from "../ops/fused-layer-ref.js";
import { availableIsas, cpuBackend, expectClose, native, skipReason } from "./util.js";

describe.skipIf(!native)(
  `native fused transformer layer vs composed ops on cpu${skipReason ? ` (${skipReason})` : ""}`,
  () => {
    afterAll(() => {
      setNativeIsa("");
      setNumThreads(2);
      setBackend(cpuBackend);
    });

    for (const isa of availableIsas()) {
      for (const dtype of ["float32", "float64"] as const) {
        it(`${isa} ${dtype}: every layer shape, output and new cache rows, same at 1 and 2 threads`, () => {
          expect(setNativeIsa(isa)).toBe(isa);
          for (const [i, spec] of SPECS.entries()) {
            setBackend(cpuBackend);
            const { x, w, opts } = makeLayer({ ...spec, dtype }, 200 + i);
            const want = q.withNoGrad(() => composedLayer(x, w, opts));
            const cache0 = opts.cache ? { k: opts.cache.k.toArray(), v: opts.cache.v.toArray() } : null;
            setBackend(nativeBackend);
            let first: ArrayLike<number> | null = null;
            for (const threads of [1, 2]) {
              setNumThreads(threads);
              if (opts.cache && cache0) {
                opts.cache.k.data.set(cache0.k);
                opts.cache.v.data.set(cache0.v);
              }
              const got = q.withNoGrad(() => q.fusedTransformerLayer(x, w, opts)).toArray();
              const [rtol, atol] = dtype === "float32" ? [1e-4, 1e-5] : [1e-11, 1e-12];
              expectClose(got, want.y.toArray(), rtol, atol, `${spec.name}: output`);
              if (opts.cache) {
                const { k, v, past } = opts.cache;
                const T = x.shape[1];
                expectClose(
                  q.narrow(k, 2, past, T).toArray(),
                  want.kNew.toArray(),
                  rtol,
                  atol,
                  `${spec.name}: keys`,
                );
                expectClose(
                  q.narrow(v, 2, past, T).toArray(),
                  want.vNew.toArray(),
                  rtol,
                  atol,
                  `${spec.name}: values`,
                );
              }
              // results do not depend on the thread count
              if (first) expect(got, `${spec.name}: 2 threads vs 1`).toEqual(first);
              first = got;
            }
          }
        });
      }
    }

    it("the addon refuses operands shorter than their shapes, of mixed dtypes, or a bad activation", () => {
      setBackend(nativeBackend);
      const { x, w, opts } = makeLayer({ ...SPECS[1], dtype: "float32" }, 5); // C 64, F 256, cache cap 48
      const layer = nativeBackend.fused.transformerLayer;
      const d = (t: q.Tensor) => t.data as Float32Array;
      const qkv = d((w.qkv as q.LinearParams).weight);
      const C = 64;
      const base = {
        ...{ B: 1, T: 1, C, H: 4, F: 256, past: 37, cap: 48, Sm: 0, eps: 1e-5 },
        ...{ normFirst: true, causal: true, activation: "geluTanh" as const },
        x: d(x),
        ...{ norm1W: null, norm1B: null, qB: null, kB: null, vB: null, outB: null, mask: null },
        qW: qkv.subarray(0, C * C),
        kW: qkv.subarray(C * C, 2 * C * C),
        vW: qkv.subarray(2 * C * C),
        outW: d(w.attnOut.weight),
        k: d(opts.cache!.k),
        v: d(opts.cache!.v),
        ...{ norm2W: null, norm2B: null, crossQW: null, crossQB: null, crossOutW: null, crossOutB: null },
        ...{
          memoryK: null,
          memoryV: null,
          memoryMask: null,
          norm3W: null,
          norm3B: null,
          fcB: null,
          projB: null,
        },
        fcW: d(w.fc.weight),
        projW: d(w.proj.weight),
      };
      const out = new Float32Array(C);
      expect(() => layer.forward(base, out)).not.toThrow();
      const refused = /native transformerLayer: the addon rejected its arguments/;
      expect(() => layer.forward({ ...base, fcW: base.fcW.subarray(1) }, out)).toThrow(refused);
      expect(() => layer.forward({ ...base, past: 48 }, out)).toThrow(refused);
      expect(() => layer.forward({ ...base, outW: new Float64Array(C * C) }, out)).toThrow(refused);
      expect(() => layer.forward({ ...base, Sm: 3 }, out)).toThrow(refused); // cross-attention without its weights
      expect(() => layer.forward({ ...base, activation: "nope" as "relu" }, out)).toThrow(refused);
      const mask = { data: new Float32Array(37), offset: 0, strides: [0, 0, 0, 1] }; // needs 38 keys
      expect(() => layer.forward({ ...base, mask }, out)).toThrow(refused);
    });
  },
);
