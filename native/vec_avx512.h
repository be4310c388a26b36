// 16-lane float vector on AVX-512F. Included inside an ISA namespace under a target pragma.
struct V {
  static constexpr int W = 16;
  using T = __m512;
  using I = __m512i;
  using M = __mmask16;
  // W int8 / bfloat16 values as floats (weight-only quantized kernels).
  static inline T from_i8(const int8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  static inline T from_bf16(const uint16_t* p) {
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
  }
  static inline M tail(int n) { return static_cast<M>((1u << n) - 1u); }
  static inline T zero() { return _mm512_setzero_ps(); }
  static inline T set1(float x) { return _mm512_set1_ps(x); }
  static inline T load(const float* p) { return _mm512_loadu_ps(p); }
  static inline void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static inline T loadn(const float* p, int n) { return _mm512_maskz_loadu_ps(tail(n), p); }
  static inline T loadn_fill(const float* p, int n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tail(n), p);
  }
  static inline void storen(float* p, T v, int n) { _mm512_mask_storeu_ps(p, tail(n), v); }
  static inline T add(T a, T b) { return _mm512_add_ps(a, b); }
  static inline T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static inline T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static inline T div(T a, T b) { return _mm512_div_ps(a, b); }
  static inline T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static inline T fnma(T a, T b, T c) { return _mm512_fnmadd_ps(a, b, c); }
  static inline T max(T a, T b) { return _mm512_max_ps(a, b); }
  static inline T min(T a, T b) { return _mm512_min_ps(a, b); }
  static inline T sqrt(T a) { return _mm512_sqrt_ps(a); }
  static inline T abs(T a) { return _mm512_abs_ps(a); }
  static inline T neg(T a) { return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(INT32_MIN))); }
  static inline T copysign(T mag, T sgn) {
    __m512i m = _mm512_set1_epi32(INT32_MIN);
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(m, _mm512_castps_si512(sgn), _mm512_castps_si512(mag), 0xCA));
  }
  static inline float hsum(T a) { return _mm512_reduce_add_ps(a); }
  static inline float hmax(T a) { return _mm512_reduce_max_ps(a); }
  static inline float hmin(T a) { return _mm512_reduce_min_ps(a); }
  static inline M lt(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static inline M le(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
  static inline M gt(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static inline M ge(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static inline M isnan(T a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static inline M mor(M a, M b) { return static_cast<M>(a | b); }
  static inline bool any(M m) { return m != 0; }
  static inline T select(M m, T a, T b) { return _mm512_mask_blend_ps(m, b, a); }
  // nearest-even rounding to an integral float; p·2^n for integral n; 1/x to ~1 ulp
  static inline T round(T a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static inline T scale2(T p, T n) { return _mm512_scalef_ps(p, n); }
  static inline T recip(T a) {
    T r = _mm512_rcp14_ps(a);  // 14 bits; one Newton step reaches ~1 ulp
    T r2 = _mm512_mul_ps(r, _mm512_fnmadd_ps(a, r, _mm512_set1_ps(2.0f)));
    // rcp(±inf) = ±0 and rcp(0) = inf are exact; the Newton step would turn them into NaN
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(r2, r2, _CMP_UNORD_Q), r2, r);
  }
  // integer helpers (exponent manipulation)
  static inline I cvt_round(T a) { return _mm512_cvtps_epi32(a); }  // nearest-even
  static inline T cvt_i2f(I a) { return _mm512_cvtepi32_ps(a); }
  static inline I as_int(T a) { return _mm512_castps_si512(a); }
  static inline T as_float(I a) { return _mm512_castsi512_ps(a); }
  static inline I iadd(I a, I b) { return _mm512_add_epi32(a, b); }
  static inline I isub(I a, I b) { return _mm512_sub_epi32(a, b); }
  static inline I iand(I a, I b) { return _mm512_and_si512(a, b); }
  static inline I ior(I a, I b) { return _mm512_or_si512(a, b); }
  static inline I iset1(int32_t x) { return _mm512_set1_epi32(x); }
  template <int S>
  static inline I shl(I a) { return _mm512_slli_epi32(a, S); }
  template <int S>
  static inline I sra(I a) { return _mm512_srai_epi32(a, S); }
  template <int S>
  static inline I srl(I a) { return _mm512_srli_epi32(a, S); }
  // double-precision accumulation of float vectors (sums that the reference forms in float64)
  struct DA {
    __m512d lo, hi;
  };
  static inline DA dzero() { return DA{_mm512_setzero_pd(), _mm512_setzero_pd()}; }
  static inline void dacc(DA& a, T v) {
    a.lo = _mm512_add_pd(a.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    a.hi = _mm512_add_pd(a.hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
  }
  static inline double dsum(const DA& a) { return _mm512_reduce_add_pd(_mm512_add_pd(a.lo, a.hi)); }
};
static constexpr const char* kIsaName = "avx512";
