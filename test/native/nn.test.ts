import { afterAll, describe, expect, it } from "vitest";
import type { FloatArray } from "../../src/backend/backend.js";
import { adamStep as cpuAdamStep } from "../../src/backends/cpu/optim.js";
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

const DT = ["float32", "float64"] as const;
const tol = (dtype: string, r32: number, a32: number): [number, number] =>
  dtype === "float32" ? [r32, a32] : [1e-12, 1e-14];
const SHAPES: [number, number][] = [
  [1, 1],
  [3, 7],
  [5, 16],
  [4, 33],
  [64, 65],
  [9, 384],
  [300, 129],
  [2, 5000],
];

describe.skipIf(!native)(
  `native row, indexing and optimizer kernels vs cpu${skipReason ? ` (${skipReason})` : ""}`,
  () => {
    afterAll(() => {
      setNativeIsa("");
    });

    for (const isa of availableIsas()) {
      it(`${isa}: softmax / logSoftmax forward and backward`, () => {
        expect(setNativeIsa(isa)).toBe(isa);
        let seed = 1;
        for (const dtype of DT) {
          for (const [rows, n] of SHAPES) {
            const rng = new Rng(seed++);
            const x = rng.float(dtype, rows * n, -8, 8);
            if (rows * n > 20) {
              x[3] = -Infinity; // masked entry
              for (let j = 0; j < n; j++) x[n * (rows - 1) + j] = -Infinity; // fully masked row → NaN
            }
            const gy = rng.float(dtype, rows * n);
            for (const log of [false, true]) {
              const fwd = log ? "logSoftmaxForward" : "softmaxForward";
              const bwd = log ? "logSoftmaxBackward" : "softmaxBackward";
              const ref = like(x);
              const got = like(x);
              cpuBackend[fwd]({ x, rows, n, out: ref });
              withNativeAlways(() => nativeBackend[fwd]({ x, rows, n, out: got }));
              const [rt, at] = tol(dtype, 2e-6, 1e-7);
              expectClose(got, ref, rt, at, `${fwd} ${dtype} ${rows}x${n}`);
              // backward on finite rows only
              const y = ref.map((v) => (Number.isFinite(v) ? v : log ? -30 : 0)) as FloatArray;
              const gr = like(x);
              const gg = like(x);
              cpuBackend[bwd]({ y, gy, rows, n, gx: gr });
              withNativeAlways(() => nativeBackend[bwd]({ y, gy, rows, n, gx: gg }));
              const [rb, ab] = tol(dtype, 1e-5, 1e-6);
              expectClose(gg, gr, rb, ab, `${bwd} ${dtype} ${rows}x${n}`);
            }
          }
        }
      });

      it(`${isa}: layerNorm forward and backward (with/without affine)`, () => {
        expect(setNativeIsa(isa)).toBe(isa);
        let seed = 100;
        for (const dtype of DT) {
          for (const [rows, n] of SHAPES) {
            for (const affine of [0, 1, 2, 3]) {
              const rng = new Rng(seed++);
              const x = rng.float(dtype, rows * n, -2, 3);
              for (let j = 0; j < n; j++) x[j] += 50; // large mean in row 0
              const w = affine & 1 ? rng.float(dtype, n, 0.5, 1.5) : null;
              const b = affine & 2 ? rng.float(dtype, n) : null;
              const eps = 1e-5;
              const mk = () =>
                dtype === "float32" ? new Float32Array(rows * n) : new Float64Array(rows * n);
              const mkr = () => (dtype === "float32" ? new Float32Array(rows) : new Float64Array(rows));
              const [o1, m1, r1] = [mk(), mkr(), mkr()];
              const [o2, m2, r2] = [mk(), mkr(), mkr()];
              cpuBackend.layerNormForward({
                x,
                weight: w,
                bias: b,
                rows,
                n,
                eps,
                out: o1,
                mean: m1,
                rstd: r1,
              });
              withNativeAlways(() =>
                nativeBackend.layerNormForward({
                  x,
                  weight: w,
                  bias: b,
                  rows,
                  n,
                  eps,
                  out: o2,
                  mean: m2,
                  rstd: r2,
                }),
              );
              const [rt, at] = tol(dtype, 1e-5, 1e-6);
              const what = `layerNorm ${dtype} ${rows}x${n} affine=${affine}`;
              expectClose(o2, o1, rt, at, `${what} out`);
              expectClose(m2, m1, rt, 0, `${what} mean`);
              expectClose(r2, r1, rt, 0, `${what} rstd`);
              const gy = rng.float(dtype, rows * n);
              const init = rng.float(dtype, n);
              const [gx1, gx2] = [mk(), mk()];
              const gw1 = w ? init.slice() : null;
              const gw2 = w ? init.slice() : null;
              const gb1 = affine & 2 ? init.slice() : null;
              const gb2 = affine & 2 ? init.slice() : null;
              cpuBackend.layerNormBackward({
                x,
                weight: w,
                mean: m1,
                rstd: r1,
                gy,
                rows,
                n,
                gx: gx1,
                gw: gw1,
                gb: gb1,
              });
              withNativeAlways(() =>
                nativeBackend.layerNormBackward({
                  x,
                  weight: w,
                  mean: m1,
                  rstd: r1,
                  gy,
                  rows,
                  n,
                  gx: gx2,
                  gw: gw2,
                  gb: gb2,
                }),
              );
              const [rb, ab] = tol(dtype, 2e-5, 2e-6);
              expectClose(gx2, gx1, rb, ab, `${what} gx`);
              if (gw1 && gw2) expectClose(gw2, gw1, rb, ab * Math.sqrt(rows), `${what} gw`);
              if (gb1 && gb2) expectClose(gb2, gb1, rb, ab * Math.sqrt(rows), `${what} gb`);
            }
          }
        }
      });

      it(`${isa}: crossEntropy forward and backward (ignoreIndex, label smoothing)`, () => {
        expect(setNativeIsa(isa)).toBe(isa);
        let seed = 300;
        for (const dtype of DT) {
          for (const [rows, C] of [
            [1, 2],
            [7, 5],
            [33, 65],
            [64, 1000],
            [3, 50257],
          ] as [number, number][]) {
            for (const smoothing of [0, 0.1]) {
              const rng = new Rng(seed++);
              const logits = rng.float(dtype, rows * C, -6, 6);
              const target = new Int32Array(rows);
              for (let r = 0; r < rows; r++) target[r] = r % 5 === 3 ? -100 : rng.int(C);
              // a confident row: the loss is tiny, so it must not come from cancelling float32 sums
              if (rows > 1) logits[target[0]] = 40;
              const mk = () => (dtype === "float32" ? new Float32Array(rows) : new Float64Array(rows));
              const [l1, s1, l2, s2] = [mk(), mk(), mk(), mk()];
              cpuBackend.crossEntropyForward({
                logits,
                target,
                rows,
                C,
                ignoreIndex: -100,
                labelSmoothing: smoothing,
                loss: l1,
                lse: s1,
              });
              withNativeAlways(() =>
                nativeBackend.crossEntropyForward({
                  logits,
                  target,
                  rows,
                  C,
                  ignoreIndex: -100,
                  labelSmoothing: smoothing,
                  loss: l2,
                  lse: s2,
                }),
              );
              const what = `crossEntropy ${dtype} ${rows}x${C} ls=${smoothing}`;
              const [rt, at] = tol(dtype, 1e-5, 1e-6);
              expectClose(l2, l1, rt, at, `${what} loss`);
              expectClose(s2, s1, rt, 0, `${what} lse`);
              const gl = rng.float(dtype, rows);
              const g1 = like(logits);
              const g2 = like(logits);
              cpuBackend.crossEntropyBackward({
                logits,
                target,
                lse: s1,
                gLoss: gl,
                rows,
                C,
                ignoreIndex: -100,
                labelSmoothing: smoothing,
                gLogits: g1,
              });
              withNativeAlways(() =>
                nativeBackend.crossEntropyBackward({
                  logits,
                  target,
                  lse: s1,
                  gLoss: gl,
                  rows,
                  C,
                  ignoreIndex: -100,
                  labelSmoothing: smoothing,
                  gLogits: g2,
                }),
              );
              expectClose(g2, g1, rt, dtype === "float32" ? 1e-7 : 1e-14, `${what} grad`);
            }
          }
        }
      });
    }

    it("crossEntropy with an out-of-range target falls back to the reference", () => {
      const logits = new Rng(1).f32(4 * 100);
      const target = Int32Array.from([1, 200, 3, 4]);
      const [l1, s1, l2, s2] = [
        new Float32Array(4),
        new Float32Array(4),
        new Float32Array(4),
        new Float32Array(4),
      ];
      cpuBackend.crossEntropyForward({
        logits,
        target,
        rows: 4,
        C: 100,
        ignoreIndex: -100,
        labelSmoothing: 0,
        loss: l1,
        lse: s1,
      });
      withNativeAlways(() =>
        nativeBackend.crossEntropyForward({
          logits,
          target,
          rows: 4,
          C: 100,
          ignoreIndex: -100,
          labelSmoothing: 0,
          loss: l2,
          lse: s2,
        }),
      );
      expectSame(l2, l1, "loss");
    });

    it("adamStepMulti on one tensor: Adam, AdamW, AMSGrad, weight decay (float32/float64)", () => {
      let seed = 400;
      for (const dtype of DT) {
        for (const decoupled of [false, true]) {
          for (const amsgrad of [false, true]) {
            for (const weightDecay of [0, 0.01]) {
              const rng = new Rng(seed++);
              const n = 1237;
              const p = rng.float(dtype, n);
              const m = rng.float(dtype, n, -0.1, 0.1);
              const v = rng.float(dtype, n, 0, 0.01);
              const vm = amsgrad ? rng.float(dtype, n, 0, 0.01) : null;
              const opts = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, step: 7, decoupled };
              const a = [p.slice(), m.slice(), v.slice(), vm?.slice() ?? null] as const;
              const b = [p.slice(), m.slice(), v.slice(), vm?.slice() ?? null] as const;
              for (let step = 1; step <= 3; step++) {
                const g = rng.float(dtype, n);
                const o = { ...opts, step };
                cpuAdamStep(a[0], g, a[1], a[2], a[3], o);
                withNativeAlways(() =>
                  nativeBackend.adamStepMulti({
                    params: [b[0]],
                    grads: [g],
                    expAvgs: [b[1]],
                    expAvgSqs: [b[2]],
                    maxExpAvgSqs: b[3] ? [b[3]] : null,
                    ...o,
                  }),
                );
              }
              const what = `adam ${dtype} decoupled=${decoupled} ams=${amsgrad} wd=${weightDecay}`;
              const [rt, at] = tol(dtype, 1e-6, 1e-9);
              for (let i = 0; i < 3; i++)
                expectClose(b[i] as FloatArray, a[i] as FloatArray, rt, at, `${what} [${i}]`);
              if (a[3] && b[3]) expectClose(b[3], a[3], rt, at, `${what} vmax`);
            }
          }
        }
      }
    });

    it("indexSelect / indexAdd / gather / scatterAdd (repeated indices, every dtype)", () => {
      const rng = new Rng(500);
      for (const [outer, n, inner, m] of [
        [1, 50, 384, 700],
        [3, 7, 5, 11],
        [2, 9, 1, 40],
        [4, 3, 130, 2],
      ]) {
        const index = new Int32Array(m).map(() => rng.int(n));
        for (const ctor of [Float32Array, Float64Array, Int32Array, Uint8Array]) {
          const x = new ctor(outer * n * inner).map(() => rng.int(200));
          const o1 = new ctor(outer * m * inner);
          const o2 = new ctor(outer * m * inner);
          cpuBackend.indexSelect({ x, outer, n, inner, index, out: o1 });
          withNativeAlways(() => nativeBackend.indexSelect({ x, outer, n, inner, index, out: o2 }));
          expectSame(o2, o1, `indexSelect ${ctor.name}`);
          const gidx = new Int32Array(outer * m * inner).map(() => rng.int(n));
          const p1 = new ctor(outer * m * inner);
          const p2 = new ctor(outer * m * inner);
          cpuBackend.gather({ x, outer, n, inner, index: gidx, m, out: p1 });
          withNativeAlways(() => nativeBackend.gather({ x, outer, n, inner, index: gidx, m, out: p2 }));
          expectSame(p2, p1, `gather ${ctor.name}`);
        }
        for (const dtype of DT) {
          const gy = rng.float(dtype, outer * m * inner);
          const base = rng.float(dtype, outer * n * inner);
          const g1 = base.slice();
          const g2 = base.slice();
          cpuBackend.indexAdd({ gy, outer, n, inner, index, gx: g1 });
          withNativeAlways(() => nativeBackend.indexAdd({ gy, outer, n, inner, index, gx: g2 }));
          expectSame(g2, g1, `indexAdd ${dtype}`);
          const gidx = new Int32Array(outer * m * inner).map(() => rng.int(n));
          const s1 = base.slice();
          const s2 = base.slice();
          cpuBackend.scatterAdd({ gy, outer, n, inner, index: gidx, m, gx: s1 });
          withNativeAlways(() => nativeBackend.scatterAdd({ gy, outer, n, inner, index: gidx, m, gx: s2 }));
          expectSame(s2, s1, `scatterAdd ${dtype}`);
        }
      }
    });

    it("layerNorm backward and reductions are bit-identical across runs and thread counts", () => {
      const rng = new Rng(600);
      const rows = 512;
      const n = 384;
      const x = rng.f32(rows * n);
      const gy = rng.f32(rows * n);
      const mean = new Float32Array(rows);
      const rstd = new Float32Array(rows);
      nativeBackend.layerNormForward({
        x,
        weight: null,
        bias: null,
        rows,
        n,
        eps: 1e-5,
        out: new Float32Array(rows * n),
        mean,
        rstd,
      });
      const hw = setNumThreads(64);
      const outs: Float32Array[][] = [];
      for (const nt of [hw, 1, hw]) {
        setNumThreads(nt);
        const gx = new Float32Array(rows * n);
        const gw = new Float32Array(n);
        const gb = new Float32Array(n);
        nativeBackend.layerNormBackward({ x, weight: null, mean, rstd, gy, rows, n, gx, gw, gb });
        const s = new Float32Array(n);
        nativeBackend.reduce({ op: "sum", x, outer: 1, n: rows, inner: n, out: s });
        outs.push([gx, gw, gb, s]);
      }
      setNumThreads(hw);
      for (let r = 1; r < outs.length; r++)
        for (let k = 0; k < 4; k++) expectSame(outs[r][k], outs[0][k], `run ${r} part ${k}`);
    });
  },
);
