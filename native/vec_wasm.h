// 4-lane float vector on WebAssembly SIMD128. Included inside an ISA namespace (isa_wasm.cc).
// With QKV_WASM_RELAXED, fma/fnma use relaxed-SIMD's fused multiply-add (one rounding, the same as
// the AVX2 / AVX-512 kernels); without it they are a multiply and an add, like vec_generic.h.
#include <wasm_simd128.h>
struct V {
  static constexpr int W = 4;
  using T = v128_t;
  using I = v128_t;
  using M = v128_t;
  // W int8 / bfloat16 values as floats (weight-only quantized kernels).
  static inline T from_i8(const int8_t* p) {
    return wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(wasm_i16x8_extend_low_i8x16(wasm_v128_load32_zero(p))));
  }
  static inline T from_bf16(const uint16_t* p) {
    return wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(wasm_v128_load64_zero(p)), 16);
  }
  static inline T zero() { return wasm_f32x4_const_splat(0.0f); }
  static inline T set1(float x) { return wasm_f32x4_splat(x); }
  static inline T load(const float* p) { return wasm_v128_load(p); }
  static inline void store(float* p, T v) { wasm_v128_store(p, v); }
  // Partial loads and stores touch only the first n lanes (n may be >= W).
  static inline T loadn(const float* p, int n) {
    if (n >= W) return load(p);
    alignas(16) float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < n; i++) t[i] = p[i];
    return wasm_v128_load(t);
  }
  static inline T loadn_fill(const float* p, int n, float fill) {
    if (n >= W) return load(p);
    alignas(16) float t[4] = {fill, fill, fill, fill};
    for (int i = 0; i < n; i++) t[i] = p[i];
    return wasm_v128_load(t);
  }
  static inline void storen(float* p, T v, int n) {
    if (n >= W) return store(p, v);
    alignas(16) float t[4];
    wasm_v128_store(t, v);
    for (int i = 0; i < n; i++) p[i] = t[i];
  }
  static inline T add(T a, T b) { return wasm_f32x4_add(a, b); }
  static inline T sub(T a, T b) { return wasm_f32x4_sub(a, b); }
  static inline T mul(T a, T b) { return wasm_f32x4_mul(a, b); }
  static inline T div(T a, T b) { return wasm_f32x4_div(a, b); }
#ifdef QKV_WASM_RELAXED
  static inline T fma(T a, T b, T c) { return wasm_f32x4_relaxed_madd(a, b, c); }
  static inline T fnma(T a, T b, T c) { return wasm_f32x4_relaxed_nmadd(a, b, c); }
#else
  static inline T fma(T a, T b, T c) { return wasm_f32x4_add(wasm_f32x4_mul(a, b), c); }
  static inline T fnma(T a, T b, T c) { return wasm_f32x4_sub(c, wasm_f32x4_mul(a, b)); }
#endif
  // a·b + c with one rounding (up to a second, f64 → f32, that is exact but in rare ties): the
  // product of two floats is exact in f64. For the few kernels that need it (kernels_math.inc).
#define QKV_HAS_FMA_EXACT 1
  static inline T fma_exact(T a, T b, T c) {
    const v128_t lo = wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(a), wasm_f64x2_promote_low_f32x4(b)),
                                     wasm_f64x2_promote_low_f32x4(c));
    const v128_t ah = wasm_i32x4_shuffle(a, a, 2, 3, 0, 1), bh = wasm_i32x4_shuffle(b, b, 2, 3, 0, 1),
                 ch = wasm_i32x4_shuffle(c, c, 2, 3, 0, 1);
    const v128_t hi = wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(ah), wasm_f64x2_promote_low_f32x4(bh)),
                                     wasm_f64x2_promote_low_f32x4(ch));
    return wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 1, 4, 5);
  }
  // like x86 maxps/minps: the second operand wins when either is NaN (pmax(b, a) = b < a ? a : b)
  static inline T max(T a, T b) { return wasm_f32x4_pmax(b, a); }
  static inline T min(T a, T b) { return wasm_f32x4_pmin(b, a); }
  static inline T sqrt(T a) { return wasm_f32x4_sqrt(a); }
  static inline T abs(T a) { return wasm_f32x4_abs(a); }
  static inline T neg(T a) { return wasm_f32x4_neg(a); }
  static inline T copysign(T mag, T sgn) {
    const v128_t s = wasm_i32x4_const_splat(INT32_MIN);
    return wasm_v128_bitselect(sgn, mag, s);
  }
  static inline float hsum(T a) {
    return (wasm_f32x4_extract_lane(a, 0) + wasm_f32x4_extract_lane(a, 1)) +
           (wasm_f32x4_extract_lane(a, 2) + wasm_f32x4_extract_lane(a, 3));
  }
  static inline float hmax(T a) {
    float x0 = wasm_f32x4_extract_lane(a, 0), x1 = wasm_f32x4_extract_lane(a, 1);
    float x2 = wasm_f32x4_extract_lane(a, 2), x3 = wasm_f32x4_extract_lane(a, 3);
    float x = x0 > x1 ? x0 : x1, y = x2 > x3 ? x2 : x3;
    return x > y ? x : y;
  }
  static inline float hmin(T a) {
    float x0 = wasm_f32x4_extract_lane(a, 0), x1 = wasm_f32x4_extract_lane(a, 1);
    float x2 = wasm_f32x4_extract_lane(a, 2), x3 = wasm_f32x4_extract_lane(a, 3);
    float x = x0 < x1 ? x0 : x1, y = x2 < x3 ? x2 : x3;
    return x < y ? x : y;
  }
  static inline M lt(T a, T b) { return wasm_f32x4_lt(a, b); }
  static inline M le(T a, T b) { return wasm_f32x4_le(a, b); }
  static inline M gt(T a, T b) { return wasm_f32x4_gt(a, b); }
  static inline M ge(T a, T b) { return wasm_f32x4_ge(a, b); }
  static inline M isnan(T a) { return wasm_f32x4_ne(a, a); }
  static inline M mor(M a, M b) { return wasm_v128_or(a, b); }
  static inline bool any(M m) { return wasm_v128_any_true(m); }
  static inline T select(M m, T a, T b) { return wasm_v128_bitselect(a, b, m); }
  static inline T round(T a) { return wasm_f32x4_nearest(a); }
  static inline T scale2(T p, T n) {
    // two exact power-of-two factors so n in [-151, 128] neither overflows nor flushes early
    v128_t ni = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(n));
    v128_t h = wasm_i32x4_shr(ni, 1);
    v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(h, wasm_i32x4_splat(127)), 23);
    v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(ni, h), wasm_i32x4_splat(127)), 23);
    return wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
  }
  static inline T recip(T a) { return wasm_f32x4_div(wasm_f32x4_splat(1.0f), a); }
  static inline I cvt_round(T a) { return wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(a)); }
  static inline T cvt_i2f(I a) { return wasm_f32x4_convert_i32x4(a); }
  static inline I as_int(T a) { return a; }
  static inline T as_float(I a) { return a; }
  static inline I iadd(I a, I b) { return wasm_i32x4_add(a, b); }
  static inline I isub(I a, I b) { return wasm_i32x4_sub(a, b); }
  static inline I iand(I a, I b) { return wasm_v128_and(a, b); }
  static inline I ior(I a, I b) { return wasm_v128_or(a, b); }
  static inline I iset1(int32_t x) { return wasm_i32x4_splat(x); }
  template <int S>
  static inline I shl(I a) {
    return wasm_i32x4_shl(a, S);
  }
  template <int S>
  static inline I sra(I a) {
    return wasm_i32x4_shr(a, S);
  }
  template <int S>
  static inline I srl(I a) {
    return wasm_u32x4_shr(a, S);
  }
  struct DA {
    v128_t lo, hi;
  };
  static inline DA dzero() { return DA{wasm_f64x2_const_splat(0.0), wasm_f64x2_const_splat(0.0)}; }
  static inline void dacc(DA& a, T v) {
    a.lo = wasm_f64x2_add(a.lo, wasm_f64x2_promote_low_f32x4(v));
    a.hi = wasm_f64x2_add(a.hi, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)));
  }
  static inline double dsum(const DA& a) {
    v128_t s = wasm_f64x2_add(a.lo, a.hi);
    return wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1);
  }
};
#ifdef QKV_WASM_RELAXED
static constexpr const char* kIsaName = "wasm-relaxed-simd";
#else
static constexpr const char* kIsaName = "wasm-simd128";
#endif
