import { afterAll, describe, expect, it } from "vitest";
import type { FloatArray, GemmArgs } from "../../src/backend/backend.js";
import { UNARY_OPS } from "../../src/backend/op-table.js";
import { nativeBackend, setNativeIsa, setNumThreads } from "../../src/backends/native/index.js";
import {
  availableIsas,
  cpuBackend,
  expectClose,
  expectSame,
  native,
  Rng,
  skipReason,
  withNativeAlways,
} from "./util.js";

type Case = {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  aBroadcast?: boolean;
  bBroadcast?: boolean;
  accumulate?: boolean;
  bias?: boolean;
  offset?: number;
};

function makeArgs(c: Case, dtype: "float32" | "float64", rng: Rng): GemmArgs {
  const off = c.offset ?? 0;
  const aMats = c.aBroadcast ? 1 : c.batch;
  const bMats = c.bBroadcast ? 1 : c.batch;
  const a = rng.float(dtype, off + aMats * c.M * c.K + 3);
  const b = rng.float(dtype, off + bMats * c.K * c.N + 5);
  const out = rng.float(dtype, c.batch * c.M * c.N);
  return {
    batch: c.batch,
    M: c.M,
    N: c.N,
    K: c.K,
    a,
    aOffset: off,
    aBatchStride: c.aBroadcast ? 0 : c.M * c.K,
    transA: c.transA,
    b,
    bOffset: off,
    bBatchStride: c.bBroadcast ? 0 : c.K * c.N,
    transB: c.transB,
    out,
    accumulate: c.accumulate ?? false,
    bias: c.bias ? rng.float(dtype, c.N) : null,
  };
}

function check(c: Case, dtype: "float32" | "float64", seed: number): void {
  const rng = new Rng(seed);
  const args = makeArgs(c, dtype, rng);
  const ref = { ...args, out: args.out.slice() as FloatArray };
  cpuBackend.gemm(ref);
  withNativeAlways(() => nativeBackend.gemm(args));
  const what = `gemm ${dtype} ${JSON.stringify(c)}`;
  if (dtype === "float32") expectClose(args.out, ref.out, 1e-4, 3e-6 * Math.sqrt(c.K + 1) * 4, what);
  else expectClose(args.out, ref.out, 1e-12, 1e-13 * (c.K + 1), what);
}

const sizes = [1, 2, 5, 16, 17, 31, 33, 64, 65, 97];
const ks = [1, 3, 16, 63, 130, 257, 600];

describe.skipIf(!native)(`native gemm vs cpu${skipReason ? ` (${skipReason})` : ""}`, () => {
  afterAll(() => {
    setNativeIsa("");
  });

  for (const isa of availableIsas()) {
    it(`${isa}: shapes × transposes (float32)`, () => {
      expect(setNativeIsa(isa)).toBe(isa);
      let seed = 1;
      for (const M of [1, 7, 33, 100])
        for (const N of [1, 16, 65, 129])
          for (const K of [1, 17, 300])
            for (const transA of [false, true])
              for (const transB of [false, true])
                check({ batch: 1, M, N, K, transA, transB }, "float32", seed++);
    });

    it(`${isa}: a few rows against a wide B (decode steps), B stored either way, over several column blocks`, () => {
      expect(setNativeIsa(isa)).toBe(isa);
      let seed = 500;
      // 8300 columns: several blocks per task at one thread (the K×N kernel's accumulators hold
      // 4096 columns per row, 2048 from three rows on)
      for (const M of [1, 2, 3, 4])
        for (const N of [300, 1030, 2321, 8300])
          for (const transB of [false, true]) {
            check({ batch: 1, M, N, K: 37, transA: false, transB }, "float32", seed++);
            check(
              { batch: 1, M, N, K: 37, transA: false, transB, bias: true, accumulate: true },
              "float32",
              seed++,
            );
          }
    });

    it(`${isa}: odd sizes, K blocking, batch broadcast, accumulate, bias, offsets`, () => {
      expect(setNativeIsa(isa)).toBe(isa);
      const rng = new Rng(77);
      for (let t = 0; t < 60; t++) {
        const c: Case = {
          batch: 1 + rng.int(4),
          M: sizes[rng.int(sizes.length)],
          N: sizes[rng.int(sizes.length)],
          K: ks[rng.int(ks.length)],
          transA: rng.next() < 0.5,
          transB: rng.next() < 0.5,
          aBroadcast: rng.next() < 0.3,
          bBroadcast: rng.next() < 0.3,
          accumulate: rng.next() < 0.4,
          bias: rng.next() < 0.4,
          offset: rng.int(9),
        };
        check(c, "float32", 1000 + t);
      }
    });
  }

  it("large shapes (multi-threaded) and K up to 1024", () => {
    setNativeIsa("");
    let seed = 500;
    for (const [M, N, K, transA, transB] of [
      [256, 384, 128, false, true],
      [128, 96, 1024, true, false],
      [300, 130, 513, false, false],
      [64, 512, 768, true, true],
    ] as [number, number, number, boolean, boolean][]) {
      check({ batch: 1, M, N, K, transA, transB, bias: true }, "float32", seed++);
      check({ batch: 2, M, N, K, transA, transB, accumulate: true }, "float32", seed++);
    }
  });

  it("every unary op of the table as an epilogue equals the product followed by the native unary map", () => {
    setNativeIsa("");
    const rng = new Rng(37);
    // an owned-panel and a shared-panel split, with a tail column block (N not a multiple of the vector)
    const shapes: [number, number, number, number][] = [
      [1, 5, 70, 16],
      [1, 300, 36, 8],
    ];
    for (const { name: activation } of UNARY_OPS)
      for (const [batch, M, N, K] of shapes)
        for (const dtype of ["float32", "float64"] as const) {
          const base = makeArgs({ batch, M, N, K, transA: false, transB: true, bias: true }, dtype, rng);
          const make = (n: number) => (dtype === "float32" ? new Float32Array(n) : new Float64Array(n));
          const plain = { ...base, out: make(batch * M * N) };
          withNativeAlways(() => nativeBackend.gemm(plain));
          const want = make(plain.out.length);
          withNativeAlways(() => nativeBackend.unary({ op: activation, x: plain.out, out: want }));
          const preact = make(want.length).fill(Number.NaN);
          const fused = { ...base, out: make(want.length).fill(Number.NaN), activation, preact };
          withNativeAlways(() => nativeBackend.gemm(fused));
          const what = `gemm+${activation} ${dtype} ${JSON.stringify({ batch, M, N, K })}`;
          expectSame(fused.out, want, what);
          expectSame(preact, plain.out, `${what} preact`);
        }
  });

  it("GELU epilogues equal the product followed by the native unary map, on every work split", () => {
    setNativeIsa("");
    const rng = new Rng(31);
    // small M, owned panels, shared panels (many rows), one task per matrix (batched B), K = 0
    const shapes: [number, number, number, number, boolean, boolean][] = [
      [1, 3, 64, 32, false, true],
      [1, 200, 512, 128, false, true],
      [1, 768, 512, 128, false, true],
      [1, 768, 100, 64, true, false],
      [4, 96, 70, 33, false, false],
      [2, 5, 9, 0, false, false],
    ];
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      for (const [batch, M, N, K, transA, transB] of shapes)
        for (const activation of ["gelu", "geluTanh"] as const)
          for (const withPre of [false, true]) {
            const base = makeArgs({ batch, M, N, K, transA, transB, bias: true }, "float32", rng);
            const plain = { ...base, out: new Float32Array(batch * M * N) };
            withNativeAlways(() => nativeBackend.gemm(plain));
            const z = plain.out.slice();
            const want = new Float32Array(z.length);
            withNativeAlways(() => nativeBackend.unary({ op: activation, x: z, out: want }));
            const preact = withPre ? new Float32Array(z.length).fill(Number.NaN) : null;
            const fused = { ...base, out: new Float32Array(z.length).fill(Number.NaN), activation, preact };
            withNativeAlways(() => nativeBackend.gemm(fused));
            const what = `gemm+${activation} ${JSON.stringify({ batch, M, N, K, transA, transB, threads })}`;
            expectSame(fused.out, want, what);
            if (preact) expectSame(preact, z, `${what} preact`);
            // and the reference backend's epilogue agrees
            const ref = { ...base, out: new Float32Array(z.length), activation, preact: null };
            cpuBackend.gemm(ref);
            expectClose(fused.out, ref.out, 1e-4, 1e-5 * Math.sqrt(K + 1), `${what} vs cpu`);
          }
    }
    setNumThreads(2);
    // float64 takes the exact-order path; an epilogue cannot accumulate
    const c64 = makeArgs(
      { batch: 2, M: 9, N: 20, K: 7, transA: false, transB: true, bias: true },
      "float64",
      rng,
    );
    const ref64 = {
      ...c64,
      out: new Float64Array(360),
      activation: "gelu" as const,
      preact: new Float64Array(360),
    };
    const nat64 = {
      ...c64,
      out: new Float64Array(360),
      activation: "gelu" as const,
      preact: new Float64Array(360),
    };
    cpuBackend.gemm(ref64);
    withNativeAlways(() => nativeBackend.gemm(nat64));
    expectClose(nat64.out, ref64.out, 1e-12, 1e-13, "gemm+gelu float64");
    expectClose(nat64.preact, ref64.preact, 1e-12, 1e-13, "gemm+gelu float64 preact");
    expect(() =>
      withNativeAlways(() => nativeBackend.gemm({ ...c64, accumulate: true, activation: "gelu" })),
    ).toThrow(/activation epilogue cannot accumulate/);
  });

  it("K = 0 leaves bias / accumulation only", () => {
    check({ batch: 2, M: 3, N: 4, K: 0, transA: false, transB: false, bias: true }, "float32", 9);
    check(
      { batch: 2, M: 3, N: 4, K: 0, transA: true, transB: true, accumulate: true, bias: true },
      "float32",
      10,
    );
  });

  it("float64 matches to 1e-12", () => {
    const rng = new Rng(5);
    for (let t = 0; t < 30; t++) {
      const c: Case = {
        batch: 1 + rng.int(3),
        M: sizes[rng.int(sizes.length)],
        N: sizes[rng.int(sizes.length)],
        K: ks[rng.int(ks.length)],
        transA: rng.next() < 0.5,
        transB: rng.next() < 0.5,
        aBroadcast: rng.next() < 0.3,
        bBroadcast: rng.next() < 0.3,
        accumulate: rng.next() < 0.4,
        bias: rng.next() < 0.4,
        offset: rng.int(5),
      };
      check(c, "float64", 3000 + t);
    }
  });

  it("is deterministic: bit-identical across runs and thread counts", () => {
    const rng = new Rng(11);
    // Shapes that take each work split: shared packed B (many rows), owned panels (few rows, many
    // columns), one task per matrix (batched B), and K blocks > 1.
    const shapes = [
      { batch: 1, M: 640, N: 320, K: 700, transA: false, transB: true, bias: true },
      { batch: 1, M: 128, N: 512, K: 768, transA: true, transB: false },
      { batch: 1, M: 768, N: 128, K: 512, transA: false, transB: false, accumulate: true },
      { batch: 3, M: 40, N: 96, K: 1100, transA: false, transB: false },
      // decode steps: B stored K×N is cut into one block per thread, or 4096-column blocks
      { batch: 1, M: 1, N: 2304, K: 770, transA: false, transB: false, bias: true },
      { batch: 1, M: 3, N: 8300, K: 65, transA: false, transB: false },
      { batch: 1, M: 1, N: 5000, K: 77, transA: false, transB: true },
    ];
    const hw = setNumThreads(64);
    for (const [si, shape] of shapes.entries()) {
      const args = makeArgs(shape, "float32", rng);
      const runs: Float32Array[] = [];
      for (const nt of [hw, hw, 1, hw]) {
        setNumThreads(nt);
        const out = Float32Array.from(args.out as Float32Array);
        nativeBackend.gemm({ ...args, out });
        runs.push(out);
      }
      setNumThreads(hw);
      for (let i = 1; i < runs.length; i++) expectSame(runs[i], runs[0], `shape ${si} run ${i}`);
    }
  });

  it("rejects out-of-bounds operands instead of reading past them", () => {
    const a = new Float32Array(10);
    const b = new Float32Array(100);
    const out = new Float32Array(100);
    const args: GemmArgs = {
      batch: 1,
      M: 10,
      N: 10,
      K: 10,
      a,
      aOffset: 0,
      aBatchStride: 0,
      transA: false,
      b,
      bOffset: 0,
      bBatchStride: 0,
      transB: false,
      out,
      accumulate: false,
    };
    expect(() => withNativeAlways(() => nativeBackend.gemm(args))).toThrow(/out of bounds/);
  });
});
