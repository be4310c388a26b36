import { afterAll, describe, expect, it } from "vitest";
import type {
  AnyArray,
  BinaryOp,
  CompareOp,
  FloatArray,
  ReduceOp,
  Strided,
  UnaryOp,
} from "../../src/backend/backend.js";
import { BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS, unaryRow } from "../../src/backend/op-table.js";
import { nativeBackend, setNativeIsa } from "../../src/backends/native/index.js";
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

// Every op of the tables, so a new row is covered with no edit here.
const UNARY: UnaryOp[] = UNARY_OPS.map((r) => r.name);

/** Moves x into the op's smooth domain (where its derivative is finite). */
function inDomain(op: UnaryOp, v: number): number {
  const d = unaryRow[op].domain;
  return d === "positive" ? Math.abs(v) + 0.01 : v;
}

const SPECIAL = [
  0,
  -0,
  1,
  -1,
  1e-30,
  -1e-30,
  1e-40,
  3e-39,
  0.5,
  0.625,
  -0.625,
  9,
  -9,
  10,
  30,
  -30,
  88,
  88.8,
  -87.4,
  -104,
  1e6,
  -1e6,
  Infinity,
  -Infinity,
  Number.NaN,
];

function inputs(dtype: "float32" | "float64", n: number, seed: number): FloatArray {
  const rng = new Rng(seed);
  const x = dtype === "float32" ? new Float32Array(n + SPECIAL.length) : new Float64Array(n + SPECIAL.length);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    x[i] = r < 0.5 ? rng.uniform(-3, 3) : r < 0.8 ? rng.uniform(-12, 12) : rng.uniform(-90, 90);
  }
  SPECIAL.forEach((v, i) => {
    x[n + i] = v;
  });
  return x;
}

describe.skipIf(!native)(`native element-wise kernels vs cpu${skipReason ? ` (${skipReason})` : ""}`, () => {
  afterAll(() => {
    setNativeIsa("");
  });

  for (const isa of availableIsas()) {
    it(`${isa}: unary float32 (incl. ±0, ±inf, NaN, denormals, tails)`, () => {
      expect(setNativeIsa(isa)).toBe(isa);
      for (const op of UNARY) {
        for (const n of [1, 15, 33, 1000]) {
          const x = inputs("float32", n, 7 + n);
          const ref = like(x);
          const got = like(x);
          cpuBackend.unary({ op, x, out: ref });
          withNativeAlways(() => nativeBackend.unary({ op, x, out: got }));
          const [rtol, atol] = unaryRow[op].f32Tol ?? [0, 0];
          expectClose(got, ref, rtol, atol, `unary ${op} n=${n}`);
        }
      }
    });

    it(`${isa}: unaryBackward float32`, () => {
      expect(setNativeIsa(isa)).toBe(isa);
      for (const op of UNARY) {
        const x = inputs("float32", 2000, 99);
        // keep the domain where the derivative is finite for every op
        for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) x[i] = 0.25;
        for (let i = 0; i < x.length; i++) x[i] = inDomain(op, x[i]);
        const y = like(x);
        cpuBackend.unary({ op, x, out: y });
        const gy = new Rng(3).f32(x.length);
        const ref = like(x);
        const got = like(x);
        cpuBackend.unaryBackward({ op, x, y, gy, gx: ref });
        withNativeAlways(() => nativeBackend.unaryBackward({ op, x, y, gy, gx: got }));
        const tol = unaryRow[op].f32GradTol ?? [1e-6, 1e-30];
        expectClose(got, ref, tol[0], tol[1], `unaryBackward ${op}`);
      }
    });
  }

  it("unary / unaryBackward float64 match to 1e-12", () => {
    setNativeIsa("");
    for (const op of UNARY) {
      const x = inputs("float64", 500, 21);
      const ref = like(x);
      const got = like(x);
      cpuBackend.unary({ op, x, out: ref });
      withNativeAlways(() => nativeBackend.unary({ op, x, out: got }));
      // gelu: the reference forms 1 + erf(x/√2), which loses ~1e-16 absolute to cancellation
      expectClose(got, ref, 1e-12, op === "gelu" ? 1e-15 : 1e-300, `unary f64 ${op}`);
      const xs = x.map((v) => (Number.isFinite(v) ? inDomain(op, v) : 0.5));
      const y = like(xs);
      cpuBackend.unary({ op, x: xs, out: y });
      const gy = new Rng(4).f64(xs.length);
      const gr = like(xs);
      const gg = like(xs);
      cpuBackend.unaryBackward({ op, x: xs, y, gy, gx: gr });
      withNativeAlways(() => nativeBackend.unaryBackward({ op, x: xs, y, gy, gx: gg }));
      expectClose(gg, gr, 1e-12, op === "gelu" ? 1e-15 : 1e-300, `unaryBackward f64 ${op}`);
    }
  });

  const BINARY: BinaryOp[] = BINARY_OPS.map((r) => r.name);

  /** A broadcast / transposed / offset view of a fresh buffer for `shape`. */
  function view(rng: Rng, dtype: "float32" | "float64" | "int32", shape: number[], kind: number): Strided {
    const nd = shape.length;
    const strides = new Array<number>(nd).fill(0);
    let size = 1;
    const order = [...shape.keys()].reverse();
    if (kind === 2 && nd >= 2) [order[0], order[1]] = [order[1], order[0]]; // transposed layout
    for (const d of order) {
      const broadcast = kind === 1 && (d + nd) % 2 === 0;
      strides[d] = broadcast ? 0 : size;
      if (!broadcast) size *= shape[d];
    }
    const offset = rng.int(4);
    const n = offset + size;
    let data: AnyArray;
    if (dtype === "int32") {
      data = new Int32Array(n);
      for (let i = 0; i < n; i++) data[i] = rng.int(21) - 10;
    } else {
      data = rng.float(dtype, n, -3, 3);
      // sprinkle special values
      for (let i = 0; i < n; i += 17) data[i] = [0, Number.NaN, Infinity, -0][i % 4];
    }
    return { data, offset, strides };
  }

  it("binary: all ops, broadcast and transposed strides, float32/float64/int32", () => {
    const rng = new Rng(8);
    const shapes = [[1000], [7, 33], [3, 1, 65], [2, 3, 4, 5], [1], [17, 1]];
    for (const dtype of ["float32", "float64", "int32"] as const) {
      for (const shape of shapes) {
        for (let kinds = 0; kinds < 9; kinds++) {
          const a = view(rng, dtype, shape, kinds % 3);
          const b = view(rng, dtype, shape, Math.floor(kinds / 3));
          const n = shape.reduce((x, y) => x * y, 1);
          for (const op of BINARY) {
            const mk = () =>
              dtype === "float32"
                ? new Float32Array(n)
                : dtype === "float64"
                  ? new Float64Array(n)
                  : new Int32Array(n);
            const ref = mk();
            const got = mk();
            cpuBackend.binary({ op, shape, a, b, out: ref });
            withNativeAlways(() => nativeBackend.binary({ op, shape, a, b, out: got }));
            if (op === "pow") expectClose(got, ref, 1e-15, 0, `binary ${op} ${dtype} ${shape}`);
            else expectSame(got, ref, `binary ${op} ${dtype} ${shape} kinds ${kinds}`);
          }
        }
      }
    }
  });

  it("compare and where: every dtype, broadcast", () => {
    const rng = new Rng(12);
    const ops: CompareOp[] = COMPARE_OPS.map((r) => r.name);
    for (const dtype of ["float32", "float64", "int32"] as const) {
      for (const shape of [[300], [5, 70], [2, 1, 9, 4]]) {
        const n = shape.reduce((x, y) => x * y, 1);
        const a = view(rng, dtype, shape, 2);
        const b = view(rng, dtype, shape, 1);
        for (const op of ops) {
          const ref = new Uint8Array(n);
          const got = new Uint8Array(n);
          cpuBackend.compare({ op, shape, a, b, out: ref });
          withNativeAlways(() => nativeBackend.compare({ op, shape, a, b, out: got }));
          expectSame(got, ref, `compare ${op} ${dtype}`);
        }
        const condData = new Uint8Array(n + 2);
        for (let i = 0; i < condData.length; i++) condData[i] = rng.int(2);
        const cond: Strided<Uint8Array> = {
          data: condData,
          offset: 1,
          strides: view(rng, dtype, shape, 0).strides,
        };
        const mk = () =>
          dtype === "float32"
            ? new Float32Array(n)
            : dtype === "float64"
              ? new Float64Array(n)
              : new Int32Array(n);
        const ref = mk();
        const got = mk();
        cpuBackend.where({ shape, cond, a, b, out: ref });
        withNativeAlways(() => nativeBackend.where({ shape, cond, a, b, out: got }));
        expectSame(got, ref, `where ${dtype}`);
      }
    }
  });

  it("copy: strided views and every dtype conversion", () => {
    const rng = new Rng(13);
    const dtypes = ["float32", "float64", "int32", "bool"] as const;
    const make = (t: (typeof dtypes)[number], n: number): AnyArray =>
      t === "float32"
        ? new Float32Array(n)
        : t === "float64"
          ? new Float64Array(n)
          : t === "int32"
            ? new Int32Array(n)
            : new Uint8Array(n);
    for (const shape of [[500], [9, 31], [3, 4, 1, 25], [2, 70, 45]]) {
      const n = shape.reduce((x, y) => x * y, 1);
      for (const st of dtypes) {
        for (const dt of dtypes) {
          const src = view(rng, st === "bool" ? "int32" : st, shape, 2);
          const srcData = make(st, src.data.length);
          for (let i = 0; i < srcData.length; i++)
            srcData[i] = st === "bool" ? rng.int(2) : src.data[i] * 1e9 + (i % 3) * 0.7;
          const s: Strided = { data: srcData, offset: src.offset, strides: src.strides };
          const dView = view(rng, "int32", shape, 2);
          const refD = make(dt, dView.data.length + 3);
          const gotD = make(dt, dView.data.length + 3);
          cpuBackend.copy({ shape, src: s, dst: { data: refD, offset: 2, strides: dView.strides } });
          withNativeAlways(() =>
            nativeBackend.copy({ shape, src: s, dst: { data: gotD, offset: 2, strides: dView.strides } }),
          );
          expectSame(gotD, refD, `copy ${st}→${dt} ${shape}`);
          void n;
        }
      }
    }
  });

  it("clamp: every dtype", () => {
    const rng = new Rng(14);
    const x32 = rng.f32(777, -5, 5);
    x32[3] = Number.NaN;
    const xi = new Int32Array(777).map(() => rng.int(11) - 5);
    for (const [x, lo, hi] of [
      [x32, -1, 2],
      [x32, -0.3, 0.7],
      [Float64Array.from(x32), -1.5, 1.5],
      [xi, -2, 3],
      [xi, -2.5, 3.5],
    ] as [AnyArray, number, number][]) {
      const ref = like(x);
      const got = like(x);
      cpuBackend.clamp({ x, lo, hi, out: ref });
      withNativeAlways(() => nativeBackend.clamp({ x, lo, hi, out: got }));
      expectSame(got, ref, `clamp ${x.constructor.name} [${lo}, ${hi}]`);
    }
  });

  it("reduce: sum/max/min/prod over (outer, n, inner), float32/float64 (+int32 fallback)", () => {
    const rng = new Rng(15);
    const ops: ReduceOp[] = REDUCE_OPS.map((r) => r.name);
    for (const [outer, n, inner] of [
      [1, 1000, 1],
      [7, 33, 1],
      [3, 17, 5],
      [2, 300, 300],
      [4, 0, 3],
      [1, 5, 1],
    ]) {
      for (const dtype of ["float32", "float64", "int32"] as const) {
        const x: AnyArray =
          dtype === "int32"
            ? new Int32Array(outer * n * inner).map(() => rng.int(7) - 3)
            : rng.float(dtype, outer * n * inner, -2, 2);
        if (dtype !== "int32" && x.length > 40) x[37] = Number.NaN;
        for (const op of ops) {
          const ref =
            dtype === "float32"
              ? new Float32Array(outer * inner)
              : dtype === "float64"
                ? new Float64Array(outer * inner)
                : new Int32Array(outer * inner);
          const got = like(ref);
          const xs = op === "prod" && dtype !== "int32" ? (x as FloatArray).map((v) => 1 + v / 50) : x;
          cpuBackend.reduce({ op, x: xs, outer, n, inner, out: ref });
          withNativeAlways(() => nativeBackend.reduce({ op, x: xs, outer, n, inner, out: got }));
          expectClose(
            got,
            ref,
            dtype === "float64" ? 1e-14 : 1e-7,
            0,
            `reduce ${op} ${dtype} (${outer},${n},${inner})`,
          );
        }
      }
    }
  });
});
