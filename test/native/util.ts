/** Shared helpers of the native-backend conformance tests: a seeded PRNG and closeness checks. */
import { expect } from "vitest";
import type { FloatArray } from "../../src/backend/backend.js";
import { cpuBackend } from "../../src/backends/cpu/index.js";
import {
  loadNativeBackend,
  nativeLoadError,
  nativeThresholds,
  setNativeIsa,
} from "../../src/backends/native/index.js";

export const native = loadNativeBackend();
export const skipReason = native ? "" : (nativeLoadError() ?? "native backend unavailable");
if (!native) console.warn(`[test/native] skipped: ${skipReason}`);

export { cpuBackend };

/** Deterministic generator (xorshift128+ style mixing of a 32-bit state; no Math.random). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** uniform in [0, 1) */
  next(): number {
    let x = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  f32(n: number, lo = -1, hi = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.uniform(lo, hi);
    return a;
  }
  f64(n: number, lo = -1, hi = 1): Float64Array {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = this.uniform(lo, hi);
    return a;
  }
  float(dtype: "float32" | "float64", n: number, lo = -1, hi = 1): FloatArray {
    return dtype === "float32" ? this.f32(n, lo, hi) : this.f64(n, lo, hi);
  }
}

export function like<A extends FloatArray | Int32Array | Uint8Array>(a: A): A {
  return new (a.constructor as new (n: number) => A)(a.length);
}

/** |a − b| ≤ atol + rtol·|b| elementwise; NaNs must match; reports the worst element. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  atol: number,
  what: string,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const x = actual[i];
    const y = expected[i];
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y))
        throw new Error(`${what}: element ${i} is ${x}, expected ${y}`);
      continue;
    }
    if (x === y) continue;
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= worstExcess)) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`,
    );
  }
}

export function expectSame(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expectClose(actual, expected, 0, 0, what);
}

/** Runs fn with every native size threshold at 0, so even tiny problems take the native path. */
export function withNativeAlways<T>(fn: () => T): T {
  const saved = { ...nativeThresholds };
  for (const k of Object.keys(nativeThresholds) as (keyof typeof nativeThresholds)[]) nativeThresholds[k] = 0;
  try {
    return fn();
  } finally {
    Object.assign(nativeThresholds, saved);
  }
}

/** Kernel variants this CPU can run (the best one first). */
export function availableIsas(): string[] {
  if (!native) return [];
  const best = setNativeIsa("");
  const out: string[] = [];
  for (const isa of ["avx512", "avx2", "generic"]) if (setNativeIsa(isa)) out.push(isa);
  setNativeIsa(best ?? "");
  return out;
}
