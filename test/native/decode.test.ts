/** Native decodeBlockForward (one fused GPT block step over a KV cache) against the cpu reference. */
import { afterAll, describe, expect, it } from "vitest";
import type { DecodeBlockArgs, FloatArray } from "../../src/backend/backend.js";
import { nativeBackend, setNativeIsa, setNumThreads } from "../../src/backends/native/index.js";
import { availableIsas, cpuBackend, expectClose, expectSame, native, Rng, skipReason } from "./util.js";

type Case = { B: number; T: number; C: number; H: number; past: number; cap: number; bias: boolean };

const CASES: Case[] = [
  { B: 1, T: 1, C: 32, H: 2, past: 0, cap: 4, bias: true }, // the very first token
  { B: 1, T: 1, C: 128, H: 4, past: 37, cap: 64, bias: false }, // the benchmark's shape
  { B: 1, T: 1, C: 40, H: 5, past: 20, cap: 21, bias: true }, // hs 8 and C not a multiple of the vector width
  { B: 2, T: 1, C: 48, H: 3, past: 9, cap: 16, bias: false }, // two rows: matrix-vector path per row
  { B: 3, T: 1, C: 32, H: 4, past: 5, cap: 8, bias: true }, // three rows: the GEMM path
  { B: 1, T: 6, C: 64, H: 2, past: 0, cap: 6, bias: true }, // prefill into an empty cache
  { B: 2, T: 5, C: 36, H: 3, past: 11, cap: 40, bias: false }, // prefill after earlier tokens
];

function makeArgs(c: Case, dtype: "float32" | "float64", seed: number): DecodeBlockArgs {
  const rng = new Rng(seed);
  const { B, T, C, H, cap, bias } = c;
  const f = (n: number, lo = -1, hi = 1) => rng.float(dtype, n, lo, hi);
  const opt = (n: number, lo = -0.5, hi = 0.5) => (bias ? f(n, lo, hi) : null);
  const s = 1 / Math.sqrt(C);
  return {
    ...c,
    eps: 1e-5,
    x: f(B * T * C, -2, 2),
    ln1W: f(C, 0.5, 1.5),
    ln1B: opt(C),
    attnW: f(3 * C * C, -s, s),
    attnB: opt(3 * C),
    projW: f(C * C, -s, s),
    projB: opt(C),
    ln2W: f(C, 0.5, 1.5),
    ln2B: opt(C),
    fcW: f(4 * C * C, -s, s),
    fcB: opt(4 * C),
    mlpW: f(4 * C * C, -s / 2, s / 2),
    mlpB: opt(C),
    // earlier positions hold arbitrary keys/values; the new rows must be overwritten
    k: f(B * H * cap * (C / H)),
    v: f(B * H * cap * (C / H)),
  };
}

/** A copy of args with fresh cache buffers, so both backends start from the same cache. */
function withOwnCache(a: DecodeBlockArgs): DecodeBlockArgs {
  return { ...a, k: a.k.slice() as FloatArray, v: a.v.slice() as FloatArray };
}

describe.skipIf(!native)(`native decodeBlockForward vs cpu${skipReason ? ` (${skipReason})` : ""}`, () => {
  afterAll(() => {
    setNativeIsa("");
    setNumThreads(2);
  });

  for (const isa of availableIsas()) {
    it(`${isa}: output and cache writes match the reference (float32), at 1 and 2 threads`, () => {
      expect(setNativeIsa(isa)).toBe(isa);
      let seed = 1;
      let differs = false;
      for (const c of CASES) {
        const a = makeArgs(c, "float32", seed++);
        const ref = withOwnCache(a);
        const want = new Float32Array(c.B * c.T * c.C);
        cpuBackend.decodeBlockForward(ref, want);
        let first: Float32Array | null = null;
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          const got = withOwnCache(a);
          const out = new Float32Array(want.length);
          nativeBackend.decodeBlockForward(got, out);
          const what = `${isa} ${JSON.stringify(c)} threads ${threads}`;
          expectClose(out, want, 2e-5, 2e-5, `${what} out`);
          // The cache rows before `past` are untouched, the new rows equal the reference's.
          expectClose(got.k, ref.k, 1e-5, 1e-5, `${what} k`);
          expectClose(got.v, ref.v, 1e-5, 1e-5, `${what} v`);
          if (first) expectSame(out, first, `${what}: same result at any thread count`);
          first = out;
          differs ||= out.some((y, i) => y !== want[i]);
        }
      }
      // float32 sums differ from the reference's float64 ones in the last bits: proof the C++ kernel ran.
      expect(differs, "the native kernel ran").toBe(true);
    });
  }

  it("out may alias x", () => {
    const c = CASES[1];
    const a = makeArgs(c, "float32", 99);
    const want = new Float32Array(c.C);
    cpuBackend.decodeBlockForward(withOwnCache(a), want);
    const x = a.x.slice() as Float32Array;
    nativeBackend.decodeBlockForward({ ...withOwnCache(a), x }, x);
    expectClose(x, want, 2e-5, 2e-5, "in place");
  });

  it("float64 composes the native kernels and matches the reference", () => {
    const c = CASES[3];
    const a = makeArgs(c, "float64", 7);
    const ref = withOwnCache(a);
    const want = new Float64Array(c.B * c.T * c.C);
    cpuBackend.decodeBlockForward(ref, want);
    const got = withOwnCache(a);
    const out = new Float64Array(want.length);
    nativeBackend.decodeBlockForward(got, out);
    expectClose(out, want, 1e-12, 1e-13, "float64 out");
    expectClose(got.k, ref.k, 1e-12, 1e-13, "float64 k");
  });
});
