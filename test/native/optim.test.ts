/**
 * Multi-tensor optimizer kernels (adamStepMulti, sumOfSquares, scaleInPlace): native against the
 * reference, on lists mixing tiny tensors with ones split into several chunks, and bit-identical
 * across thread counts.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { FloatArray } from "../../src/backend/backend.js";
import { adamStep as cpuAdamStep } from "../../src/backends/cpu/optim.js";
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

const DT = ["float32", "float64"] as const;
// Sizes straddle the kernels' 32768-element chunks.
const SIZES = [1, 7, 128, 4099, 32768, 70001];

const copyList = (l: FloatArray[]) => l.map((a) => a.slice());

describe.skipIf(!native)(
  `native multi-tensor optimizer kernels vs cpu${skipReason ? ` (${skipReason})` : ""}`,
  () => {
    afterAll(() => {
      setNativeIsa("");
    });

    for (const isa of availableIsas()) {
      it(`${isa}: adamStepMulti matches adamStep per tensor (Adam, AdamW, AMSGrad, weight decay)`, () => {
        expect(setNativeIsa(isa)).toBe(isa);
        let seed = 900;
        for (const dtype of DT) {
          for (const decoupled of [false, true]) {
            for (const amsgrad of [false, true]) {
              const rng = new Rng(seed++);
              const weightDecay = decoupled ? 0.1 : 0.01;
              const p = SIZES.map((n) => rng.float(dtype, n));
              const m = SIZES.map((n) => rng.float(dtype, n, -0.1, 0.1));
              const v = SIZES.map((n) => rng.float(dtype, n, 0, 0.01));
              const vm = amsgrad ? SIZES.map((n) => rng.float(dtype, n, 0, 0.01)) : null;
              const a = [copyList(p), copyList(m), copyList(v), vm ? copyList(vm) : null] as const;
              const b = [copyList(p), copyList(m), copyList(v), vm ? copyList(vm) : null] as const;
              for (let step = 1; step <= 3; step++) {
                const g = SIZES.map((n) => rng.float(dtype, n));
                const opts = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, step, decoupled };
                for (let i = 0; i < SIZES.length; i++)
                  cpuAdamStep(a[0][i], g[i], a[1][i], a[2][i], a[3]?.[i] ?? null, opts);
                withNativeAlways(() =>
                  nativeBackend.adamStepMulti({
                    params: b[0],
                    grads: g,
                    expAvgs: b[1],
                    expAvgSqs: b[2],
                    maxExpAvgSqs: b[3],
                    ...opts,
                  }),
                );
              }
              // Same float64 arithmetic per element as the single-tensor kernel.
              for (let k = 0; k < 4; k++) {
                const x = a[k];
                const y = b[k];
                if (!x || !y) continue;
                for (let i = 0; i < SIZES.length; i++)
                  expectClose(
                    y[i],
                    x[i],
                    1e-6,
                    1e-9,
                    `${dtype} dec=${decoupled} ams=${amsgrad} state ${k} tensor ${i}`,
                  );
              }
            }
          }
        }
      });

      it(`${isa}: sumOfSquares and scaleInPlace`, () => {
        expect(setNativeIsa(isa)).toBe(isa);
        const rng = new Rng(950);
        for (const dtype of DT) {
          const xs = SIZES.map((n) => rng.float(dtype, n, -3, 3));
          const s1 = new Float64Array(xs.length);
          const s2 = new Float64Array(xs.length);
          cpuBackend.sumOfSquares({ xs, out: s1 });
          withNativeAlways(() => nativeBackend.sumOfSquares({ xs, out: s2 }));
          // Σx² over up to 70001 terms: the summation orders differ, each within a few ulps of the sum.
          expectClose(s2, s1, 1e-13, 0, `sumOfSquares ${dtype}`);
          const a = copyList(xs);
          const b = copyList(xs);
          cpuBackend.scaleInPlace({ xs: a, scale: 0.3719 });
          withNativeAlways(() => nativeBackend.scaleInPlace({ xs: b, scale: 0.3719 }));
          for (let i = 0; i < xs.length; i++) expectSame(b[i], a[i], `scaleInPlace ${dtype} tensor ${i}`);
        }
        // Empty list and empty tensors.
        const out = new Float64Array(2).fill(7);
        withNativeAlways(() =>
          nativeBackend.sumOfSquares({ xs: [new Float32Array(0), new Float32Array(0)], out }),
        );
        expect([...out]).toEqual([0, 0]);
      });
    }

    it("is bit-identical across thread counts", () => {
      const rng = new Rng(990);
      const xs = SIZES.map((n) => rng.f32(n));
      const g = SIZES.map((n) => rng.f32(n));
      const hw = setNumThreads(64);
      const sums: Float64Array[] = [];
      const params: FloatArray[][] = [];
      for (const nt of [hw, 1]) {
        setNumThreads(nt);
        const s = new Float64Array(xs.length);
        nativeBackend.sumOfSquares({ xs, out: s });
        sums.push(s);
        const p = copyList(xs);
        const m = SIZES.map((n) => new Float32Array(n));
        const v = SIZES.map((n) => new Float32Array(n));
        const opts = {
          lr: 1e-2,
          beta1: 0.9,
          beta2: 0.99,
          eps: 1e-8,
          weightDecay: 0.1,
          step: 1,
          decoupled: true,
        };
        nativeBackend.adamStepMulti({
          params: p,
          grads: g,
          expAvgs: m,
          expAvgSqs: v,
          maxExpAvgSqs: null,
          ...opts,
        });
        params.push(p);
      }
      setNumThreads(hw);
      expectSame(sums[1], sums[0], "sumOfSquares");
      for (let i = 0; i < SIZES.length; i++) expectSame(params[1][i], params[0][i], `adam tensor ${i}`);
    });
  },
);

describe("reference multi-tensor optimizer kernels", () => {
  it("reference kernels reject mismatched lists", () => {
    const a = [new Float32Array(4)];
    const opts = {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      step: 1,
      decoupled: false,
    };
    expect(() =>
      cpuBackend.adamStepMulti({
        params: a,
        grads: [],
        expAvgs: a,
        expAvgSqs: a,
        maxExpAvgSqs: null,
        ...opts,
      }),
    ).toThrow(/adamStepMulti: lists of 1 and 0/);
    expect(() =>
      cpuBackend.adamStepMulti({
        params: a,
        grads: [new Float32Array(2)],
        expAvgs: a,
        expAvgSqs: a,
        maxExpAvgSqs: null,
        ...opts,
      }),
    ).toThrow(/adamStepMulti: array 0 has 2 elements/);
    expect(() => cpuBackend.sumOfSquares({ xs: a, out: new Float64Array(0) })).toThrow(
      /sumOfSquares: out has 0 slots/,
    );
  });
});
