// 4-lane float vector written with GCC/Clang generic vector extensions: the compiler lowers it to
// SSE2 on x86-64 and NEON on arm64, so the portable fallback is still SIMD. Included inside an ISA
// namespace. fma/fnma are not fused here (callers that need exactness do not rely on fusion).
typedef float qkv_v4f __attribute__((vector_size(16)));
typedef int32_t qkv_v4i __attribute__((vector_size(16)));
typedef uint32_t qkv_v4u __attribute__((vector_size(16)));
typedef double qkv_v4d __attribute__((vector_size(32)));
struct V {
  static constexpr int W = 4;
  using T = qkv_v4f;
  using I = qkv_v4i;
  using M = qkv_v4i;
  // W int8 / bfloat16 values as floats (weight-only quantized kernels).
  static inline T from_i8(const int8_t* p) { return T{float(p[0]), float(p[1]), float(p[2]), float(p[3])}; }
  static inline T from_bf16(const uint16_t* p) {
    qkv_v4u u = {uint32_t(p[0]) << 16, uint32_t(p[1]) << 16, uint32_t(p[2]) << 16, uint32_t(p[3]) << 16};
    T r;
    std::memcpy(&r, &u, sizeof r);
    return r;
  }
  static inline T zero() { return T{0.0f, 0.0f, 0.0f, 0.0f}; }
  static inline T set1(float x) { return T{x, x, x, x}; }
  static inline T load(const float* p) {
    T r;
    std::memcpy(&r, p, sizeof(T));
    return r;
  }
  static inline void store(float* p, T v) { std::memcpy(p, &v, sizeof(T)); }
  static inline T loadn(const float* p, int n) {
    T r = zero();
    for (int i = 0; i < n && i < W; i++) r[i] = p[i];
    return r;
  }
  static inline T loadn_fill(const float* p, int n, float fill) {
    T r = set1(fill);
    for (int i = 0; i < n && i < W; i++) r[i] = p[i];
    return r;
  }
  static inline void storen(float* p, T v, int n) {
    for (int i = 0; i < n && i < W; i++) p[i] = v[i];
  }
  static inline T add(T a, T b) { return a + b; }
  static inline T sub(T a, T b) { return a - b; }
  static inline T mul(T a, T b) { return a * b; }
  static inline T div(T a, T b) { return a / b; }
  static inline T fma(T a, T b, T c) { return a * b + c; }
  static inline T fnma(T a, T b, T c) { return c - a * b; }
  // like x86 maxps/minps: the second operand wins when either is NaN
  static inline T max(T a, T b) { return a > b ? a : b; }
  static inline T min(T a, T b) { return a < b ? a : b; }
  static inline T sqrt(T a) {
    for (int i = 0; i < W; i++) a[i] = std::sqrt(a[i]);
    return a;
  }
  static inline T abs(T a) { return (T)((I)a & I{INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX}); }
  static inline T neg(T a) { return -a; }
  static inline T copysign(T mag, T sgn) {
    const I s = I{INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN};
    return (T)(((I)mag & ~s) | ((I)sgn & s));
  }
  static inline float hsum(T a) { return (a[0] + a[1]) + (a[2] + a[3]); }
  static inline float hmax(T a) {
    float x = a[0] > a[1] ? a[0] : a[1], y = a[2] > a[3] ? a[2] : a[3];
    return x > y ? x : y;
  }
  static inline float hmin(T a) {
    float x = a[0] < a[1] ? a[0] : a[1], y = a[2] < a[3] ? a[2] : a[3];
    return x < y ? x : y;
  }
  static inline M lt(T a, T b) { return a < b; }
  static inline M le(T a, T b) { return a <= b; }
  static inline M gt(T a, T b) { return a > b; }
  static inline M ge(T a, T b) { return a >= b; }
  static inline M isnan(T a) { return a != a; }
  static inline M mor(M a, M b) { return a | b; }
  static inline bool any(M m) { return (m[0] | m[1] | m[2] | m[3]) != 0; }
  static inline T select(M m, T a, T b) { return m ? a : b; }
  // round to nearest even, valid for |a| < 2^22 (the only use is exp's range reduction)
  static inline T round(T a) {
    const T magic = set1(12582912.0f);  // 1.5·2^23
    return (a + magic) - magic;
  }
  static inline T scale2(T p, T n) {
    I ni = __builtin_convertvector(n, I);
    I h = ni >> 1;
    T s1 = (T)((qkv_v4u)(h + 127) << 23);
    T s2 = (T)((qkv_v4u)(ni - h + 127) << 23);
    return p * s1 * s2;
  }
  static inline T recip(T a) { return set1(1.0f) / a; }
  static inline I cvt_round(T a) {
    const T magic = set1(12582912.0f);  // 1.5·2^23
    return __builtin_convertvector((a + magic) - magic, I);
  }
  static inline T cvt_i2f(I a) { return __builtin_convertvector(a, T); }
  static inline I as_int(T a) { return (I)a; }
  static inline T as_float(I a) { return (T)a; }
  static inline I iadd(I a, I b) { return (I)((qkv_v4u)a + (qkv_v4u)b); }
  static inline I isub(I a, I b) { return (I)((qkv_v4u)a - (qkv_v4u)b); }
  static inline I iand(I a, I b) { return a & b; }
  static inline I ior(I a, I b) { return a | b; }
  static inline I iset1(int32_t x) { return I{x, x, x, x}; }
  template <int S>
  static inline I shl(I a) {
    return (I)((qkv_v4u)a << S);
  }
  template <int S>
  static inline I sra(I a) {
    return a >> S;
  }
  template <int S>
  static inline I srl(I a) {
    return (I)((qkv_v4u)a >> S);
  }
  struct DA {
    qkv_v4d s;
  };
  static inline DA dzero() { return DA{qkv_v4d{0.0, 0.0, 0.0, 0.0}}; }
  static inline void dacc(DA& a, T v) { a.s += __builtin_convertvector(v, qkv_v4d); }
  static inline double dsum(const DA& a) { return (a.s[0] + a.s[1]) + (a.s[2] + a.s[3]); }
};
static constexpr const char* kIsaName = "generic";
