/**
 * Bit-exact conversions between float32 and the narrow float formats found in checkpoints:
 * IEEE half (F16), bfloat16 (BF16) and the two OCP 8-bit formats (F8_E4M3, F8_E5M2).
 * Everything works on integer bit patterns so signed zeros, subnormals, infinities and NaN
 * payloads survive. Browser-safe: no Node APIs.
 */

/**
 * Float32 bit pattern (as an unsigned 32-bit integer) of an IEEE half-precision bit pattern.
 * Every half value is exactly representable in float32, so this is exact, including
 * subnormals, signed zeros, infinities and NaN payloads.
 *
 * @example
 * ```ts
 * f16BitsToF32Bits(0x3c00); // 0x3f800000 (1.0)
 * f16BitsToF32Bits(0x0001); // 0x33800000 (2^-24, the smallest subnormal)
 * ```
 */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal half: mant * 2^-24. Shift the leading one up to the implicit-bit position.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/**
 * Float32 bit pattern of a bfloat16 bit pattern (bfloat16 is the top half of a float32).
 *
 * @example
 * ```ts
 * bf16BitsToF32Bits(0x3f80); // 0x3f800000 (1.0)
 * ```
 */
export function bf16BitsToF32Bits(h: number): number {
  return ((h & 0xffff) << 16) >>> 0;
}

/**
 * Round a float32 bit pattern to IEEE half precision, round-to-nearest-even. Values past the
 * half range become ±Infinity, tiny values become subnormals or ±0, NaN stays NaN (quiet).
 *
 * @example
 * ```ts
 * f32BitsToF16Bits(0x3f800000); // 0x3c00 (1.0)
 * f32BitsToF16Bits(0x477ff000); // 0x7c00 (65520 rounds up to Infinity)
 * ```
 */
export function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half of the smallest subnormal: rounds to zero
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half; // a carry into 0x400 correctly yields the smallest normal
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // carry may reach Infinity
  return sign | half;
}

/**
 * Round a float32 bit pattern to bfloat16, round-to-nearest-even; NaN stays NaN (quiet).
 *
 * @example
 * ```ts
 * f32BitsToBf16Bits(0x3f800000); // 0x3f80 (1.0)
 * f32BitsToBf16Bits(0x3f808000); // 0x3f80 (tie rounds to even)
 * ```
 */
export function f32BitsToBf16Bits(bits: number): number {
  bits >>>= 0;
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  const lsb = (bits >>> 16) & 1;
  return Math.floor((bits + 0x7fff + lsb) / 0x10000) & 0xffff;
}

/**
 * Float32 bit pattern of an F8_E5M2 byte (1 sign, 5 exponent, 2 mantissa bits, IEEE-like
 * with infinities and NaN). E5M2 is the top byte of a half, so this is exact.
 *
 * @example
 * ```ts
 * f8e5m2BitsToF32Bits(0x3c); // 0x3f800000 (1.0)
 * ```
 */
export function f8e5m2BitsToF32Bits(b: number): number {
  return f16BitsToF32Bits((b & 0xff) << 8);
}

/**
 * Value of an F8_E4M3 byte in the "FN" variant used by safetensors (bias 7, no infinities,
 * 0x7f/0xff are NaN, largest finite 448). Exactly representable in float32.
 *
 * @example
 * ```ts
 * f8e4m3ToNumber(0x38); // 1
 * f8e4m3ToNumber(0x7e); // 448
 * ```
 */
export function f8e4m3ToNumber(b: number): number {
  const neg = (b & 0x80) !== 0;
  const exp = (b >>> 3) & 0xf;
  const mant = b & 0x7;
  if (exp === 0xf && mant === 0x7) return Number.NaN;
  const mag = exp === 0 ? mant * 2 ** -9 : (1 + mant / 8) * 2 ** (exp - 7);
  return neg ? -mag : mag;
}
