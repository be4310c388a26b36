// 8-lane float vector on AVX2 + FMA. Included inside an ISA namespace under a target pragma.
alignas(32) static const int32_t kTailMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
struct V {
  static constexpr int W = 8;
  using T = __m256;
  using I = __m256i;
  using M = __m256;
  // W int8 / bfloat16 values as floats (weight-only quantized kernels).
  static inline T from_i8(const int8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static inline T from_bf16(const uint16_t* p) {
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
  }
  static inline __m256i tail(int n) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailMask + 8 - n)); }
  static inline T zero() { return _mm256_setzero_ps(); }
  static inline T set1(float x) { return _mm256_set1_ps(x); }
  static inline T load(const float* p) { return _mm256_loadu_ps(p); }
  static inline void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static inline T loadn(const float* p, int n) { return _mm256_maskload_ps(p, tail(n)); }
  static inline T loadn_fill(const float* p, int n, float fill) {
    __m256i m = tail(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static inline void storen(float* p, T v, int n) { _mm256_maskstore_ps(p, tail(n), v); }
  static inline T add(T a, T b) { return _mm256_add_ps(a, b); }
  static inline T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static inline T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static inline T div(T a, T b) { return _mm256_div_ps(a, b); }
  static inline T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static inline T fnma(T a, T b, T c) { return _mm256_fnmadd_ps(a, b, c); }
  static inline T max(T a, T b) { return _mm256_max_ps(a, b); }
  static inline T min(T a, T b) { return _mm256_min_ps(a, b); }
  static inline T sqrt(T a) { return _mm256_sqrt_ps(a); }
  static inline T abs(T a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static inline T neg(T a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  static inline T copysign(T mag, T sgn) {
    __m256 s = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(s, mag), _mm256_and_ps(s, sgn));
  }
  static inline float hsum(T a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static inline float hmax(T a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static inline float hmin(T a) {
    __m128 s = _mm_min_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_min_ps(s, _mm_movehl_ps(s, s));
    s = _mm_min_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static inline M lt(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static inline M le(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
  static inline M gt(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static inline M ge(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static inline M isnan(T a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static inline M mor(M a, M b) { return _mm256_or_ps(a, b); }
  static inline bool any(M m) { return _mm256_movemask_ps(m) != 0; }
  static inline T select(M m, T a, T b) { return _mm256_blendv_ps(b, a, m); }
  static inline T round(T a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static inline T scale2(T p, T n) {
    // two exact power-of-two factors so n in [-151, 128] neither overflows nor flushes early
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i h = _mm256_srai_epi32(ni, 1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, h), _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  }
  static inline T recip(T a) {
    T r = _mm256_rcp_ps(a);  // 12 bits; two Newton steps reach full precision (and keep 0 → inf)
    r = _mm256_mul_ps(r, _mm256_fnmadd_ps(a, r, _mm256_set1_ps(2.0f)));
    T r2 = _mm256_mul_ps(r, _mm256_fnmadd_ps(a, r, _mm256_set1_ps(2.0f)));
    // rcp(±inf) = ±0 and rcp(0) = inf are exact; the Newton step would turn them into NaN
    return _mm256_blendv_ps(r2, _mm256_rcp_ps(a), _mm256_cmp_ps(r2, r2, _CMP_UNORD_Q));
  }
  static inline I cvt_round(T a) { return _mm256_cvtps_epi32(a); }
  static inline T cvt_i2f(I a) { return _mm256_cvtepi32_ps(a); }
  static inline I as_int(T a) { return _mm256_castps_si256(a); }
  static inline T as_float(I a) { return _mm256_castsi256_ps(a); }
  static inline I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
  static inline I isub(I a, I b) { return _mm256_sub_epi32(a, b); }
  static inline I iand(I a, I b) { return _mm256_and_si256(a, b); }
  static inline I ior(I a, I b) { return _mm256_or_si256(a, b); }
  static inline I iset1(int32_t x) { return _mm256_set1_epi32(x); }
  template <int S>
  static inline I shl(I a) { return _mm256_slli_epi32(a, S); }
  template <int S>
  static inline I sra(I a) { return _mm256_srai_epi32(a, S); }
  template <int S>
  static inline I srl(I a) { return _mm256_srli_epi32(a, S); }
  struct DA {
    __m256d lo, hi;
  };
  static inline DA dzero() { return DA{_mm256_setzero_pd(), _mm256_setzero_pd()}; }
  static inline void dacc(DA& a, T v) {
    a.lo = _mm256_add_pd(a.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    a.hi = _mm256_add_pd(a.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  static inline double dsum(const DA& a) {
    __m256d s = _mm256_add_pd(a.lo, a.hi);
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
  }
};
static constexpr const char* kIsaName = "avx2";
