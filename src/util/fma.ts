/**
 * Fused multiply-add with a single rounding, emulated with error-free transformations (Dekker's
 * product, Knuth's sum) and rounding to odd (Boldo & Melquiond 2008). JS has no Math.fma, yet
 * PyTorch's compiled kernels fuse `x * range + low`, and matching them bit for bit needs the same
 * single rounding. Valid away from overflow and underflow, which the callers stay clear of.
 */

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** Index of the low 32 bits of a double in `u32` (platform byte order). */
const LO = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;
const HI = 1 - LO;

/** a + b rounded to odd: exact sums are returned as is, inexact ones with an odd last bit. */
function addRoundOdd(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  const err = a - (s - bb) + (b - bb);
  if (err === 0 || !Number.isFinite(s)) return s;
  f64[0] = s;
  if ((u32[LO] & 1) === 1) return s;
  // s is even and inexact: step one ulp toward the exact sum, which lies strictly between s and
  // that neighbour, so the odd neighbour is the round-to-odd result.
  const away = err > 0 === s > 0;
  if (away) {
    u32[LO] += 1; // even, so no carry
  } else if (u32[LO] === 0) {
    u32[LO] = 0xffffffff;
    u32[HI] -= 1;
  } else {
    u32[LO] -= 1;
  }
  return f64[0];
}

const SPLIT = 134217729; // 2^27 + 1 (Veltkamp)

/**
 * a·b + c with one rounding to double, like C's `fma`.
 * @example fma(0.1, 10, -1) // 5.551115123125783e-17, where 0.1 * 10 - 1 gives 0
 */
export function fma(a: number, b: number, c: number): number {
  const p = a * b;
  if (!Number.isFinite(p) || !Number.isFinite(c) || p === 0) return p + c;
  // Exact product p + pe (Dekker).
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const pe = ah * bh - p + ah * bl + al * bh + al * bl;
  // Exact sum c + p = s + se (Knuth).
  const s = c + p;
  const v = s - c;
  const se = c - (s - v) + (p - v);
  return s + addRoundOdd(se, pe);
}

/**
 * a·b + c with one rounding to float32, like C's `fmaf`; a, b and c must be float32 values.
 * @example fmaf(Math.fround(0.1), 10, -1) // 1.4901161193847656e-8
 */
export function fmaf(a: number, b: number, c: number): number {
  // The product of two float32 values is exact in double; rounding the sum to odd at 53 bits
  // and then to nearest at 24 rounds once (53 ≥ 24 + 2).
  return Math.fround(addRoundOdd(a * b, c));
}
