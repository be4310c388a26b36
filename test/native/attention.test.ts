import { afterAll, describe, expect, it } from "vitest";
import type { AttentionArgs, FloatArray, Strided } from "../../src/backend/backend.js";
import { nativeBackend, setNativeIsa, setNumThreads } from "../../src/backends/native/index.js";
import {
  availableIsas,
  cpuBackend,
  expectClose,
  expectSame,
  like,
  native,
  Rng,
  skipReason,
  withNativeAlways,
} from "./util.js";

type Case = {
  B: number;
  H: number;
  T: number;
  S: number;
  D: number;
  Dv: number;
  causal: boolean;
  mask?: "full" | "row" | "key" | "head";
};

function makeArgs(c: Case, dtype: "float32" | "float64", seed: number): AttentionArgs {
  const rng = new Rng(seed);
  const { B, H, T, S, D, Dv } = c;
  let mask: Strided<FloatArray> | null = null;
  if (c.mask) {
    // strides over (B, H, T, S); 0 broadcasts
    const st =
      c.mask === "full"
        ? [H * T * S, T * S, S, 1]
        : c.mask === "row"
          ? [0, 0, S, 1]
          : c.mask === "key"
            ? [S, 0, 0, 1]
            : [0, T * S, S, 1];
    const size = (B - 1) * st[0] + (H - 1) * st[1] + (T - 1) * st[2] + (S - 1) * st[3] + 1;
    const off = 3;
    const data = rng.float(dtype, off + size, -2, 2);
    for (let i = 0; i < data.length; i += 7) data[i] = -Infinity;
    mask = { data, offset: off, strides: st };
  }
  return {
    B,
    H,
    T,
    S,
    D,
    Dv,
    q: rng.float(dtype, B * H * T * D, -2, 2),
    k: rng.float(dtype, B * H * S * D, -2, 2),
    v: rng.float(dtype, B * H * S * Dv),
    scale: 1 / Math.sqrt(D),
    isCausal: c.causal,
    mask,
  };
}

function run(be: typeof nativeBackend | typeof cpuBackend, args: AttentionArgs, gOut: FloatArray) {
  const { B, H, T, Dv } = args;
  const mk = (n: number) => (args.q instanceof Float32Array ? new Float32Array(n) : new Float64Array(n));
  const out = mk(B * H * T * Dv);
  const lse = mk(B * H * T);
  be.attentionForward({ ...args, out, lse });
  const gq = mk(args.q.length).fill(7);
  const gk = mk(args.k.length).fill(7);
  const gv = mk(args.v.length).fill(7);
  be.attentionBackward({ ...args, out, lse, gOut, gq, gk, gv });
  return { out, lse, gq, gk, gv };
}

function check(c: Case, dtype: "float32" | "float64", seed: number): void {
  const args = makeArgs(c, dtype, seed);
  const gOut = new Rng(seed + 1).float(dtype, c.B * c.H * c.T * c.Dv);
  const ref = run(cpuBackend, args, gOut);
  const got = withNativeAlways(() => run(nativeBackend, args, gOut));
  const what = `attention ${dtype} ${JSON.stringify(c)}`;
  const [rt, at] = dtype === "float32" ? [2e-4, 2e-5] : [1e-11, 1e-13];
  expectClose(got.out, ref.out, rt, at, `${what} out`);
  expectClose(got.lse, ref.lse, rt, at, `${what} lse`);
  expectClose(got.gq, ref.gq, rt, at * 4, `${what} gq`);
  expectClose(got.gk, ref.gk, rt, at * 4, `${what} gk`);
  expectClose(got.gv, ref.gv, rt, at * 4, `${what} gv`);
}

describe.skipIf(!native)(`native attention vs cpu${skipReason ? ` (${skipReason})` : ""}`, () => {
  afterAll(() => {
    setNativeIsa("");
  });

  const cases: Case[] = [
    { B: 1, H: 1, T: 1, S: 1, D: 1, Dv: 1, causal: false },
    { B: 2, H: 3, T: 17, S: 17, D: 8, Dv: 8, causal: true },
    { B: 1, H: 2, T: 70, S: 130, D: 16, Dv: 24, causal: false },
    { B: 1, H: 2, T: 5, S: 200, D: 32, Dv: 16, causal: true }, // KV-cache: bottom-right aligned
    { B: 1, H: 1, T: 150, S: 40, D: 12, Dv: 12, causal: true }, // T > S: leading rows see no key
    { B: 2, H: 2, T: 33, S: 129, D: 64, Dv: 64, causal: false, mask: "full" },
    { B: 2, H: 2, T: 65, S: 65, D: 20, Dv: 7, causal: true, mask: "row" },
    { B: 3, H: 2, T: 9, S: 300, D: 40, Dv: 40, causal: false, mask: "key" },
    { B: 1, H: 3, T: 129, S: 257, D: 64, Dv: 32, causal: true, mask: "head" },
    { B: 1, H: 1, T: 3, S: 0, D: 4, Dv: 4, causal: false },
    { B: 1, H: 2, T: 3, S: 5, D: 0, Dv: 2, causal: true },
  ];

  for (const isa of availableIsas()) {
    it(`${isa}: forward + backward, causal / masks / odd sizes (float32)`, () => {
      expect(setNativeIsa(isa)).toBe(isa);
      cases.forEach((c, i) => {
        check(c, "float32", 10 + i);
      });
    });
  }

  it("float64 matches to ~1e-11", () => {
    setNativeIsa("");
    cases.forEach((c, i) => {
      check(c, "float64", 50 + i);
    });
  });

  it("head size 128 and long keys (K blocking inside the head)", () => {
    check({ B: 1, H: 2, T: 64, S: 600, D: 300, Dv: 128, causal: true }, "float32", 99);
  });

  // q, k, v as heads of one packed (B, T, 3C) projection, out as (B, T, C): the layout of qkvPackedAttention.
  function packedArgs(
    B: number,
    H: number,
    T: number,
    D: number,
    causal: boolean,
    dtype: "float32" | "float64",
    seed: number,
  ) {
    const C = H * D;
    const qkv = new Rng(seed).float(dtype, B * T * 3 * C, -2, 2);
    const part = (offset: number) => ({ offset, batch: T * 3 * C, head: D, row: 3 * C });
    const args: AttentionArgs = {
      B,
      H,
      T,
      S: T,
      D,
      Dv: D,
      q: qkv,
      k: qkv,
      v: qkv,
      scale: 1 / Math.sqrt(D),
      isCausal: causal,
      mask: null,
      layout: { q: part(0), k: part(C), v: part(2 * C), out: { offset: 0, batch: T * C, head: D, row: C } },
    };
    // The same problem on contiguous (B, H, T, D) copies.
    const heads = (off: number) => {
      const a = like(qkv).subarray(0, B * H * T * D);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++)
          for (let t = 0; t < T; t++)
            for (let d = 0; d < D; d++)
              a[((b * H + h) * T + t) * D + d] = qkv[b * T * 3 * C + t * 3 * C + off + h * D + d];
      return a;
    };
    const plain: AttentionArgs = { ...args, q: heads(0), k: heads(C), v: heads(2 * C), layout: null };
    return { args, plain, gOut: new Rng(seed + 1).float(dtype, B * T * C) };
  }

  function runPacked(be: typeof nativeBackend | typeof cpuBackend, args: AttentionArgs, gOut: FloatArray) {
    const { B, H, T, Dv } = args;
    const out = like(args.q)
      .subarray(0, B * T * H * Dv)
      .fill(7);
    const lse = like(args.q).subarray(0, B * H * T);
    be.attentionForward({ ...args, out, lse });
    const g = like(args.q).fill(7);
    be.attentionBackward({ ...args, out, lse, gOut, gq: g, gk: g, gv: g });
    return { out, lse, g };
  }

  it("packed (B, T, 3C) layout matches the contiguous kernels and the cpu reference", () => {
    const cases: [number, number, number, number, boolean][] = [
      [2, 4, 64, 32, true],
      [3, 2, 17, 8, true],
      [1, 3, 1, 16, true], // one position: the dot-product path
      [2, 2, 2, 5, false],
      [1, 2, 70, 12, false],
    ];
    for (const dtype of ["float32", "float64"] as const) {
      const [rt, at] = dtype === "float32" ? [2e-4, 8e-5] : [1e-11, 4e-13];
      for (const isa of dtype === "float32" ? availableIsas() : [""]) {
        setNativeIsa(isa);
        cases.forEach(([B, H, T, D, causal], i) => {
          const what = `packed ${dtype} ${isa} B${B} H${H} T${T} D${D} causal ${causal}`;
          const { args, plain, gOut } = packedArgs(B, H, T, D, causal, dtype, 200 + i);
          const ref = runPacked(cpuBackend, args, gOut);
          const got = withNativeAlways(() => runPacked(nativeBackend, args, gOut));
          for (const k of ["out", "lse", "g"] as const) expectClose(got[k], ref[k], rt, at, `${what} ${k}`);
          // Against the contiguous path: out (B, T, C) is out (B, H, T, D) with heads merged, and the
          // (B, T, 3C) gradient interleaves gq, gk, gv the same way.
          const C = H * D;
          const gMerged = like(gOut).subarray(0, B * H * T * D);
          for (let b = 0; b < B; b++)
            for (let h = 0; h < H; h++)
              for (let t = 0; t < T; t++)
                for (let d = 0; d < D; d++)
                  gMerged[((b * H + h) * T + t) * D + d] = gOut[(b * T + t) * C + h * D + d];
          const flat = withNativeAlways(() => run(nativeBackend, plain, gMerged));
          const outMerged = like(got.out);
          const gPacked = like(got.g);
          for (let b = 0; b < B; b++)
            for (let h = 0; h < H; h++)
              for (let t = 0; t < T; t++)
                for (let d = 0; d < D; d++) {
                  const hi = ((b * H + h) * T + t) * D + d;
                  const row = b * T * 3 * C + t * 3 * C + h * D + d;
                  outMerged[(b * T + t) * C + h * D + d] = flat.out[hi];
                  gPacked[row] = flat.gq[hi];
                  gPacked[row + C] = flat.gk[hi];
                  gPacked[row + 2 * C] = flat.gv[hi];
                }
          expectClose(got.out, outMerged, rt, at, `${what} out vs contiguous`);
          expectClose(got.g, gPacked, rt, at, `${what} gradient vs contiguous`);
        });
      }
    }
    setNativeIsa("");
  });

  it("is deterministic across runs and thread counts", () => {
    const args = makeArgs(
      { B: 2, H: 3, T: 130, S: 130, D: 32, Dv: 32, causal: true, mask: "row" },
      "float32",
      7,
    );
    const gOut = new Rng(8).f32(2 * 3 * 130 * 32);
    const hw = setNumThreads(64);
    const runs = [hw, 1, hw].map((nt) => {
      setNumThreads(nt);
      return run(nativeBackend, args, gOut);
    });
    setNumThreads(hw);
    for (const r of runs.slice(1)) {
      for (const k of ["out", "lse", "gq", "gk", "gv"] as const) expectSame(r[k], runs[0][k], k);
    }
  });
});
