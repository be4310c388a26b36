// One-lane "vector": the portable fallback. The compiler may still auto-vectorise loops over it.
struct V {
  static constexpr int W = 1;
  using T = float;
  using I = int32_t;
  using M = bool;
  // W int8 / bfloat16 values as floats (weight-only quantized kernels).
  static inline T from_i8(const int8_t* p) { return static_cast<float>(*p); }
  static inline T from_bf16(const uint16_t* p) {
    const uint32_t u = static_cast<uint32_t>(*p) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }
  static inline T zero() { return 0.0f; }
  static inline T set1(float x) { return x; }
  static inline T load(const float* p) { return *p; }
  static inline void store(float* p, T v) { *p = v; }
  static inline T loadn(const float* p, int n) { return n > 0 ? *p : 0.0f; }
  static inline T loadn_fill(const float* p, int n, float fill) { return n > 0 ? *p : fill; }
  static inline void storen(float* p, T v, int n) {
    if (n > 0) *p = v;
  }
  static inline T add(T a, T b) { return a + b; }
  static inline T sub(T a, T b) { return a - b; }
  static inline T mul(T a, T b) { return a * b; }
  static inline T div(T a, T b) { return a / b; }
  // a·b is exact in double, so these round once (or twice, harmlessly), like a hardware FMA.
  static inline T fma(T a, T b, T c) {
    return static_cast<float>(static_cast<double>(a) * static_cast<double>(b) + static_cast<double>(c));
  }
  static inline T fnma(T a, T b, T c) {
    return static_cast<float>(static_cast<double>(c) - static_cast<double>(a) * static_cast<double>(b));
  }
  // NaN-propagating like the hardware min/max only for the second operand; callers do not rely on it.
  static inline T max(T a, T b) { return a > b ? a : b; }
  static inline T min(T a, T b) { return a < b ? a : b; }
  static inline T sqrt(T a) { return std::sqrt(a); }
  static inline T abs(T a) { return std::fabs(a); }
  static inline T neg(T a) { return -a; }
  static inline T copysign(T mag, T sgn) { return std::copysign(mag, sgn); }
  static inline float hsum(T a) { return a; }
  static inline float hmax(T a) { return a; }
  static inline float hmin(T a) { return a; }
  static inline M lt(T a, T b) { return a < b; }
  static inline M le(T a, T b) { return a <= b; }
  static inline M gt(T a, T b) { return a > b; }
  static inline M ge(T a, T b) { return a >= b; }
  static inline M isnan(T a) { return a != a; }
  static inline M mor(M a, M b) { return a || b; }
  static inline bool any(M m) { return m; }
  static inline T select(M m, T a, T b) { return m ? a : b; }
  static inline T round(T a) { return std::nearbyint(a); }
  static inline T scale2(T p, T n) { return std::ldexp(p, static_cast<int>(n)); }
  static inline T recip(T a) { return 1.0f / a; }
  static inline I cvt_round(T a) { return static_cast<int32_t>(std::nearbyint(a)); }
  static inline T cvt_i2f(I a) { return static_cast<float>(a); }
  static inline I as_int(T a) {
    I i;
    std::memcpy(&i, &a, 4);
    return i;
  }
  static inline T as_float(I a) {
    T f;
    std::memcpy(&f, &a, 4);
    return f;
  }
  static inline I iadd(I a, I b) { return static_cast<I>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b)); }
  static inline I isub(I a, I b) { return static_cast<I>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b)); }
  static inline I iand(I a, I b) { return a & b; }
  static inline I ior(I a, I b) { return a | b; }
  static inline I iset1(int32_t x) { return x; }
  template <int S>
  static inline I shl(I a) { return static_cast<I>(static_cast<uint32_t>(a) << S); }
  template <int S>
  static inline I sra(I a) { return a >> S; }
  template <int S>
  static inline I srl(I a) { return static_cast<I>(static_cast<uint32_t>(a) >> S); }
  struct DA {
    double s;
  };
  static inline DA dzero() { return DA{0.0}; }
  static inline void dacc(DA& a, T v) { a.s += static_cast<double>(v); }
  static inline double dsum(const DA& a) { return a.s; }
};
static constexpr const char* kIsaName = "scalar";
