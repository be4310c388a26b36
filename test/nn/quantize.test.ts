/**
 * Weight-only quantization: quantizeWeight's error bounds, the quantizedLinear kernel of every
 * backend that loads here (cpu's reference, native on each ISA, wasm) against dequantize-then-
 * multiply, and quantize() on a GPT: tied storage shared, logits near float32, cached decoding
 * equal to the full forward, inference only, and no silent float checkpoint of a quantized model.
 */
import { describe, expect, it } from "vitest";
import type { Backend } from "../../src/backend/backend.js";
import type { QuantizedLinearArgs } from "../../src/backend/fused.js";
import { cpuBackend } from "../../src/backends/cpu/index.js";
import { loadNativeBackend, nativeThresholds, setNativeIsa } from "../../src/backends/native/index.js";
import { loadWasmBackend, wasmThresholds } from "../../src/backends/wasm/index.js";
import * as q from "../../src/index.js";
import { expectClose } from "../helpers.js";

/** Seeded uniform values in [lo, hi). */
function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const g = new q.Generator(seed);
  return q
    .rand([n], { generator: g })
    .toArray()
    .map((u) => lo + (hi - lo) * u) as Float32Array;
}

describe("quantizeWeight", () => {
  // rows of very different magnitudes, a zero row, and exact ±max values
  const R = 6;
  const C = 53;
  const data = values(R * C, 1);
  for (let k = 0; k < C; k++) {
    data[C + k] *= 1e-6;
    data[2 * C + k] *= 1e4;
    data[3 * C + k] = 0;
  }
  data[4 * C] = 3;
  data[4 * C + 1] = -3;
  const w = q.tensor(data, { shape: [R, C] });

  it("int8: symmetric per-row scales, |w − ŵ| ≤ scale / 2", () => {
    const qw = q.quantizeWeight(w, "int8");
    if (qw.matrix.kind !== "int8") throw new Error("expected int8 storage");
    const { scales, data: qd } = qw.matrix;
    const deq = q.dequantizeWeight(qw).toArray();
    expect(qw.shape).toEqual([R, C]);
    for (let r = 0; r < R; r++) {
      let max = 0;
      for (let k = 0; k < C; k++) max = Math.max(max, Math.abs(data[r * C + k]));
      expect(scales[r]).toBeCloseTo(max / 127, 12 - Math.ceil(Math.log10(max + 1e-30) + 6));
      for (let k = 0; k < C; k++) {
        const i = r * C + k;
        expect(Math.abs(qd[i])).toBeLessThanOrEqual(127);
        expect(Math.abs(data[i] - deq[i])).toBeLessThanOrEqual((scales[r] / 2) * (1 + 1e-6));
      }
    }
    expect(scales[3]).toBe(0); // the zero row
    expect(qd[4 * C]).toBe(127);
    expect(qd[4 * C + 1]).toBe(-127);
  });

  it("bfloat16: round to nearest even, relative error ≤ 2⁻⁸", () => {
    const qw = q.quantizeWeight(w, "bfloat16");
    const deq = q.dequantizeWeight(qw).toArray();
    for (let i = 0; i < data.length; i++) {
      expect(Math.abs(data[i] - deq[i])).toBeLessThanOrEqual(Math.abs(data[i]) * 2 ** -8);
    }
    // ties go to the even mantissa: bfloat16 steps by 2⁻⁷ near 1, so 1 + 2⁻⁸ is a tie and goes to 1
    const tie = q.dequantizeWeight(q.quantizeWeight(q.tensor([[1 + 2 ** -8, 1 + 3 * 2 ** -8]]), "bfloat16"));
    expect(Array.from(tie.toArray())).toEqual([1, 1 + 2 ** -6]);
  });

  it("refuses what it cannot store, naming the op", () => {
    expect(() => q.quantizeWeight(q.tensor([1, 2]), "int8")).toThrow(/quantizeWeight: weight must be 2-D/);
    expect(() => q.quantizeWeight(q.tensor([[1, Number.NaN]]), "int8")).toThrow(
      /quantizeWeight: row 0 holds NaN/,
    );
    expect(() => q.quantizeWeight(w, "int4" as never)).toThrow(
      /quantizeWeight: dtype must be "int8" or "bfloat16"/,
    );
  });
});

/** The backends whose kernel runs here, sizes forced onto the kernel, each with its restore. */
function kernelBackends(): { name: string; be: Backend; enter: () => void; leave: () => void }[] {
  const out: { name: string; be: Backend; enter: () => void; leave: () => void }[] = [];
  out.push({ name: "cpu", be: cpuBackend, enter: () => {}, leave: () => {} });
  const native = loadNativeBackend();
  if (native) {
    const best = setNativeIsa("");
    for (const isa of ["avx512", "avx2", "generic"]) {
      if (!setNativeIsa(isa)) continue;
      const saved = nativeThresholds.gemm;
      out.push({
        name: `native ${isa}`,
        be: native,
        enter: () => {
          setNativeIsa(isa);
          nativeThresholds.gemm = 0;
        },
        leave: () => {
          nativeThresholds.gemm = saved;
          setNativeIsa(best ?? "");
        },
      });
    }
    setNativeIsa(best ?? "");
  }
  const wasm = loadWasmBackend();
  if (wasm) {
    const saved = wasmThresholds.gemm;
    out.push({
      name: "wasm",
      be: wasm,
      enter: () => {
        wasmThresholds.gemm = 0;
      },
      leave: () => {
        wasmThresholds.gemm = saved;
      },
    });
  }
  return out;
}

describe("the quantizedLinear kernel equals dequantize-then-multiply", () => {
  // odd N and K (tails of every vector width), one and several rows (row blocks of 4 and the rest)
  const SHAPES: [number, number, number][] = [
    [1, 1, 1],
    [1, 37, 77],
    [2, 16, 64],
    [3, 5, 33],
    [5, 23, 130],
    [9, 70, 300],
  ];
  const backends = kernelBackends();
  it("runs on cpu, and on native and wasm where they load", () => {
    expect(backends.map((b) => b.name)).toContain("cpu");
  });
  for (const b of backends) {
    for (const dtype of ["int8", "bfloat16"] as const) {
      it(`${b.name}, ${dtype}`, () => {
        const kernel = b.be.fused?.quantizedLinear;
        expect(kernel, `${b.name} declares fused.quantizedLinear`).toBeDefined();
        SHAPES.forEach(([M, N, K], s) => {
          const w = q.tensor(values(N * K, 10 + s), { shape: [N, K] });
          const qw = q.quantizeWeight(w, dtype);
          const deq = q.dequantizeWeight(qw).toArray();
          const x = values(M * K, 20 + s);
          for (const withBias of [false, true]) {
            const bias = withBias ? values(N, 30 + s) : null;
            // the reference in float64 from the dequantized weights
            const want = new Float64Array(M * N);
            for (let m = 0; m < M; m++)
              for (let j = 0; j < N; j++) {
                let acc = bias ? bias[j] : 0;
                for (let k = 0; k < K; k++) acc += x[m * K + k] * deq[j * K + k];
                want[m * N + j] = acc;
              }
            const out = new Float32Array(M * N).fill(Number.NaN);
            const args: QuantizedLinearArgs = { M, N, K, x, weight: qw.matrix, bias, out };
            b.enter();
            try {
              kernel?.forward(args);
            } finally {
              b.leave();
            }
            expectClose(
              out,
              want,
              1e-5,
              2e-6 * Math.sqrt(K),
              `${b.name} ${dtype} M${M} N${N} K${K} bias ${withBias}`,
            );
          }
        });
      });
    }
  }
});

describe("quantizedLinear (the op)", () => {
  const w = q.tensor(values(12, 5), { shape: [3, 4] });
  const qw = q.quantizeWeight(w, "int8");
  it("maps (…, in) to (…, out) like linear over ŵ", () => {
    const x = q.tensor(values(2 * 5 * 4, 6), { shape: [2, 5, 4] });
    const b = q.tensor(values(3, 7));
    const y = q.quantizedLinear(x, qw, b);
    expect(y.shape).toEqual([2, 5, 3]);
    expectClose(y, q.linear(x, q.dequantizeWeight(qw), b), 1e-5, 1e-6);
  });
  it("is inference only, and checks its operands by name", () => {
    const x = q.tensor(values(4, 8), { shape: [1, 4], requiresGrad: true });
    expect(() => q.quantizedLinear(x, qw)).toThrow(/quantizedLinear: quantized layers are inference only/);
    expect(q.withNoGrad(() => q.quantizedLinear(x, qw)).shape).toEqual([1, 3]);
    expect(() => q.quantizedLinear(q.zeros([2, 5]), qw)).toThrow(/quantizedLinear: input of shape \[2, 5\]/);
    expect(() => q.quantizedLinear(q.zeros([2, 4], { dtype: "float64" }), qw)).toThrow(
      /quantizedLinear: input must be float32/,
    );
  });
});

const CONFIG: q.GPTConfig = {
  vocabSize: 29,
  blockSize: 24,
  nLayer: 2,
  nHead: 2,
  nEmbd: 32,
  dropout: 0,
  bias: true,
};

/** A small GPT with larger-than-init weights (sharper logits, as a trained model's), in eval mode. */
function model(): q.GPT {
  const m = new q.GPT(CONFIG, { generator: new q.Generator(7) });
  q.withNoGrad(() => {
    for (const p of m.parameters()) if (p.ndim === 2) q.copy_(p, q.mul(p, 6));
  });
  return m.eval();
}

/** Backends to run the models on: the current one and native / wasm where they load. */
function modelBackends(): Backend[] {
  const out: Backend[] = [q.backend()];
  for (const be of [loadNativeBackend(), loadWasmBackend()]) if (be && !out.includes(be)) out.push(be);
  return out;
}

describe("quantize(GPT)", () => {
  const ids = q.tensor(
    Int32Array.from({ length: 2 * 12 }, (_, i) => (i * 7 + 3) % CONFIG.vocabSize),
    {
      shape: [2, 12],
    },
  );
  for (const be of modelBackends()) {
    for (const dtype of ["int8", "bfloat16"] as const) {
      it(`${dtype} on ${be.name}: logits near float32, top-1 mostly kept, cached decoding = full forward`, () => {
        const before = q.backend();
        q.setBackend(be);
        try {
          const ref = model();
          const want = q.withNoGrad(() => ref.forward(ids).logits);
          const m = quantize(model(), dtype);
          const got = q.withNoGrad(() => m.forward(ids).logits);
          const a = got.toArray();
          const e = want.toArray();
          let maxErr = 0;
          let spread = 0;
          for (let i = 0; i < a.length; i++) {
            maxErr = Math.max(maxErr, Math.abs(a[i] - e[i]));
            spread = Math.max(spread, Math.abs(e[i]));
          }
          // bf16 keeps 8 mantissa bits, int8 about 7: errors of a few percent of the logit range
          expect(maxErr / spread).toBeLessThan(dtype === "bfloat16" ? 0.02 : 0.05);
          const top = (t: q.Tensor) => q.argmax(t, -1).toArray();
          const ta = top(got);
          const te = top(want);
          let same = 0;
          for (let i = 0; i < ta.length; i++) same += ta[i] === te[i] ? 1 : 0;
          expect(same / ta.length).toBeGreaterThanOrEqual(0.9);
          // the cached path (composed blocks: the fused layer takes float32 weights only)
          q.withNoGrad(() => {
            const cache = new q.KVCache(CONFIG.nLayer);
            m.forward(q.narrow(ids, 1, 0, 8), null, { cache });
            const step = m.forward(q.narrow(ids, 1, 8, 1), null, { cache }).logits;
            expectClose(step, q.narrow(got, 1, 8, 1), 1e-4, 1e-4, "cached step");
          });
        } finally {
          q.setBackend(before);
        }
      });
    }
  }

  it("replaces every Linear, shares the tied head's storage with wte, and freezes the rest", () => {
    const m = quantize(model(), "int8");
    for (const [name, mod] of m.namedModules()) expect(mod instanceof q.nn.Linear, name).toBe(false);
    expect(m.lm_head).toBeInstanceOf(q.QuantizedLinear);
    expect(m.wte).toBeInstanceOf(q.QuantizedEmbedding);
    expect((m.wte as unknown as q.QuantizedEmbedding).qweight).toBe(
      (m.lm_head as unknown as q.QuantizedLinear).qweight,
    );
    expect(m.wpe).toBeInstanceOf(q.nn.Embedding);
    expect(m.parameters().length).toBeGreaterThan(0);
    for (const p of m.parameters()) expect(p.requiresGrad).toBe(false);
    // ids → embeddings through the quantized table equal the dequantized rows
    const rows = (m.wte as unknown as q.QuantizedEmbedding).forward(q.tensor(Int32Array.of(3, 0, 28)));
    const table = q.dequantizeWeight((m.wte as unknown as q.QuantizedEmbedding).qweight);
    expectClose(rows, q.indexSelect(table, 0, q.tensor(Int32Array.of(3, 0, 28))), 0, 0);
  });

  it("is inference only: an input that requires grad is refused", () => {
    const m = quantize(model(), "bfloat16");
    const x = q.randn([1, 3, CONFIG.nEmbd], { requiresGrad: true });
    expect(() => m.h.at(0).mlp.forward(x)).toThrow(/inference only/);
  });

  it("will not save a quantized model as if it were float32", () => {
    const m = quantize(model(), "int8");
    expect(() => m.stateDict()).toThrow(/stateDict: wte is a QuantizedEmbedding: .*cannot be saved/);
    expect(() => m.toHF()).toThrow(/cannot be saved as a float checkpoint/);
  });

  it("refuses a bad dtype and modules that read their Linear weights directly", () => {
    expect(() => quantize(model(), "fp8" as never)).toThrow(/quantize: dtype must be "int8" or "bfloat16"/);
    const layer = new q.nn.TransformerEncoderLayer(8, 2, {
      dimFeedforward: 16,
      dropout: 0,
      batchFirst: true,
    });
    expect(() => q.quantize(layer, { dtype: "int8" })).toThrow(
      /quantize: .* reads its projections' weights directly/,
    );
  });
});

function quantize(m: q.GPT, dtype: q.QuantizeOptions["dtype"]): q.GPT {
  return q.quantize(m, { dtype });
}
