// Node-API bindings of the qkv native backend.
//
// Calling convention (see src/backends/native/binding.ts): numeric arguments are written by JS into
// a per-environment Float64Array registered once with setMeta(); typed-array arguments are passed
// directly and used in place (zero copy). Every entry point validates array types and extents
// before touching memory, and reports problems as JS exceptions.
#include <napi.h>

#include <string>

#include "common.h"

namespace qkv {
namespace {

struct EnvData {
  double* meta = nullptr;
  size_t meta_len = 0;
  napi_ref meta_ref = nullptr;
};

const Kernels* g_kernels = nullptr;

const Kernels* select_kernels(const char* want) {
#if QKV_X86
  __builtin_cpu_init();
  const bool has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("fma");
  const bool has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (want && *want) {
    std::string w(want);
    if (w == "avx512" && has512) return kernels_avx512();
    if (w == "avx2" && has2) return kernels_avx2();
    if (w == "scalar" || w == "generic") return kernels_generic();
    return nullptr;
  }
  if (has512) return kernels_avx512();
  if (has2) return kernels_avx2();
#else
  if (want && *want) {
    std::string w(want);
    if (w == "scalar" || w == "generic") return kernels_generic();
    return nullptr;
  }
#endif
  return kernels_generic();
}

// ---- argument helpers ---------------------------------------------------------------------------

struct Arr {
  void* p = nullptr;
  size_t len = 0;
  napi_typedarray_type t = napi_int8_array;
};

struct Call {
  napi_env env;
  size_t argc = 8;
  napi_value argv[8];
  EnvData* d = nullptr;
  const double* m = nullptr;
  bool ok = true;

  Call(napi_env e, napi_callback_info info) : env(e) {
    void* data = nullptr;
    napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
    d = static_cast<EnvData*>(data);
    m = d ? d->meta : nullptr;
    if (!m) fail("qkv native: setMeta() was not called");
  }
  void fail(const char* msg) {
    if (ok) napi_throw_error(env, nullptr, msg);
    ok = false;
  }
  Arr arr(size_t i) {
    Arr a;
    if (!ok) return a;
    if (i >= argc || napi_get_typedarray_info(env, argv[i], &a.t, &a.len, &a.p, nullptr, nullptr) != napi_ok) {
      napi_value exc;
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) napi_get_and_clear_last_exception(env, &exc);
      fail("qkv native: expected a typed array argument");
    }
    return a;
  }
  i64 I(size_t i) const { return static_cast<i64>(m[i]); }
  double D(size_t i) const { return m[i]; }
  bool B(size_t i) const { return m[i] != 0.0; }
  // Checks that [off, off + extent) lies inside the array (extent 0 always passes).
  void need(const Arr& a, i64 off, i64 extent, const char* what) {
    if (!ok || extent <= 0) return;
    if (off < 0 || static_cast<unsigned long long>(off + extent) > a.len) {
      std::string msg = std::string("qkv native: ") + what + " out of bounds";
      fail(msg.c_str());
    }
  }
};

inline bool is_f32(const Arr& a) { return a.t == napi_float32_array; }
inline bool is_f64(const Arr& a) { return a.t == napi_float64_array; }

template <class E>
inline E* P(const Arr& a, i64 off = 0) {
  return static_cast<E*>(a.p) + off;
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// ---- entry points -------------------------------------------------------------------------------

// setMeta(f64: Float64Array)
napi_value SetMeta(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  EnvData* d = static_cast<EnvData*>(data);
  Arr a;
  if (argc < 1 || napi_get_typedarray_info(env, argv[0], &a.t, &a.len, &a.p, nullptr, nullptr) != napi_ok ||
      a.t != napi_float64_array) {
    napi_throw_type_error(env, nullptr, "setMeta expects a Float64Array");
    return nullptr;
  }
  if (d->meta_ref) napi_delete_reference(env, d->meta_ref);
  napi_create_reference(env, argv[0], 1, &d->meta_ref);
  d->meta = static_cast<double*>(a.p);
  d->meta_len = a.len;
  return undefined(env);
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value o, v;
  napi_create_object(env, &o);
  napi_create_string_utf8(env, g_kernels->isa, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "isa", v);
  napi_create_int32(env, pool_threads(), &v);
  napi_set_named_property(env, o, "threads", v);
  napi_create_int32(env, pool_hw_threads(), &v);
  napi_set_named_property(env, o, "hwThreads", v);
  return o;
}

napi_value SetNumThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t n = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok) {
    napi_throw_type_error(env, nullptr, "setNumThreads expects a number");
    return nullptr;
  }
  napi_value r;
  napi_create_int32(env, pool_set_threads(n), &r);
  return r;
}

napi_value SetIsa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char buf[32] = {0};
  size_t len = 0;
  if (argc >= 1) napi_get_value_string_utf8(env, argv[0], buf, sizeof(buf), &len);
  const Kernels* k = select_kernels(buf);
  napi_value r;
  if (k) {
    g_kernels = k;
    napi_create_string_utf8(env, k->isa, NAPI_AUTO_LENGTH, &r);
  } else {
    napi_get_null(env, &r);
  }
  return r;
}

// noop(a, b, c): measures call overhead.
napi_value Noop(napi_env env, napi_callback_info info) {
  Call c(env, info);
  for (size_t i = 0; i < c.argc; i++) c.arr(i);
  return nullptr;
}

// gemm(a, b, out, bias?) meta: batch M N K aOff aBS transA bOff bBS transB accumulate hasBias
napi_value Gemm(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok) return nullptr;
  Arr a = c.arr(0), b = c.arr(1), o = c.arr(2);
  const bool hasBias = c.B(11);
  Arr bias;
  if (hasBias) bias = c.arr(3);
  if (!c.ok) return nullptr;
  const i64 batch = c.I(0), M = c.I(1), N = c.I(2), K = c.I(3);
  const i64 aOff = c.I(4), aBS = c.I(5), bOff = c.I(7), bBS = c.I(8);
  if (batch < 0 || M < 0 || N < 0 || K < 0 || aBS < 0 || bBS < 0 || M > INT32_MAX || N > INT32_MAX ||
      K > INT32_MAX || batch > INT32_MAX)
    c.fail("qkv native: gemm: bad sizes");
  if (!c.ok || batch == 0 || M == 0 || N == 0) return nullptr;
  c.need(a, aOff, (batch - 1) * aBS + M * K, "gemm a");
  c.need(b, bOff, (batch - 1) * bBS + K * N, "gemm b");
  c.need(o, 0, batch * M * N, "gemm out");
  if (hasBias) c.need(bias, 0, N, "gemm bias");
  if (!c.ok) return nullptr;
  if (is_f32(a) && is_f32(b) && is_f32(o) && (!hasBias || is_f32(bias))) {
    GemmP<float> p{static_cast<int>(batch), static_cast<int>(M), static_cast<int>(N), static_cast<int>(K),
                   P<float>(a, aOff), aBS, c.B(6), P<float>(b, bOff), bBS, c.B(9), P<float>(o), c.B(10),
                   hasBias ? P<float>(bias) : nullptr};
    g_kernels->f32.gemm(p);
  } else if (is_f64(a) && is_f64(b) && is_f64(o) && (!hasBias || is_f64(bias))) {
    GemmP<double> p{static_cast<int>(batch), static_cast<int>(M), static_cast<int>(N), static_cast<int>(K),
                    P<double>(a, aOff), aBS, c.B(6), P<double>(b, bOff), bBS, c.B(9), P<double>(o), c.B(10),
                    hasBias ? P<double>(bias) : nullptr};
    g_kernels->f64.gemm(p);
  } else {
    c.fail("qkv native: gemm: operands must all be Float32Array or all Float64Array");
  }
  return nullptr;
}

struct Fn {
  const char* name;
  napi_callback cb;
};

const Fn kFns[] = {
    {"setMeta", SetMeta}, {"info", Info}, {"setNumThreads", SetNumThreads}, {"setIsa", SetIsa},
    {"noop", Noop},       {"gemm", Gemm},
};

}  // namespace
}  // namespace qkv

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace qkv;
  if (!g_kernels) g_kernels = select_kernels(std::getenv("QKV_NATIVE_ISA"));
  if (!g_kernels) g_kernels = select_kernels(nullptr);
  auto* d = new EnvData();
  napi_add_env_cleanup_hook(
      env,
      [](void* p) {
        auto* e = static_cast<EnvData*>(p);
        // The reference itself dies with the environment; only the holder is freed here.
        delete e;
      },
      d);
  for (const Fn& f : kFns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, d, &fn);
    exports.Set(f.name, Napi::Value(env, fn));
  }
  return exports;
}

NODE_API_MODULE(qkv_native, Init)
