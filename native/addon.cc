// Node-API bindings of the qkv native backend.
//
// Calling convention (see src/backends/native/binding.ts): numeric arguments are written by JS into
// a per-environment Float64Array registered once with setMeta(); typed-array arguments are passed
// directly and used in place (zero copy). Every entry point validates array types and extents
// before touching memory, and reports problems as JS exceptions.
#ifdef QKV_WASM
#include "wasm/napi_shim.h"  // the wasm build (native/wasm/entry.cc) runs these same entry points
#else
#include <napi.h>
#if !defined(_WIN32)
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif
#endif

#include <initializer_list>
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

static const Kernels* pick_kernels(const char* want) {
#if defined(__wasm__)
  if (want && *want) {
    std::string w(want);
    return w == "wasm" ? kernels_wasm() : nullptr;  // one kernel set per module (see isa_wasm.cc)
  }
  return kernels_wasm();
#elif QKV_X86
  __builtin_cpu_init();
  const bool has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("fma");
  const bool has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (want && *want) {
    std::string w(want);
    if (w == "avx512" && has512) return kernels_avx512();
    if (w == "avx2" && has2) return kernels_avx2();
    if (w == "generic" || w == "scalar") return kernels_generic();
    return nullptr;
  }
  if (has512) return kernels_avx512();
  if (has2) return kernels_avx2();
#else
  if (want && *want) {
    std::string w(want);
    if (w == "generic" || w == "scalar") return kernels_generic();
    return nullptr;
  }
#endif
  return kernels_generic();
}

// The kernel set for `want` (empty: the widest this CPU runs), its tables built on this thread.
const Kernels* select_kernels(const char* want) {
  const Kernels* k = pick_kernels(want);
  if (k) k->prepare();
  return k;
}

// ---- argument helpers ---------------------------------------------------------------------------

struct Arr {
  void* p = nullptr;
  size_t len = 0;
  napi_typedarray_type t = napi_int8_array;
};

struct Call {
  napi_env env;
  static constexpr size_t kMaxArgs = 32;  // transformerLayer takes the most: 30
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
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
  // Argument i as a typed array, or an empty Arr (an absent operand) when it is null or undefined.
  Arr opt_arr(size_t i) {
    napi_valuetype vt;
    if (ok && i < argc && napi_typeof(env, argv[i], &vt) == napi_ok && (vt == napi_undefined || vt == napi_null))
      return Arr();
    return arr(i);
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

template <class E>
bool all_type(std::initializer_list<const Arr*> arrs) {
  const napi_typedarray_type want = std::is_same<E, float>::value ? napi_float32_array : napi_float64_array;
  for (const Arr* a : arrs)
    if (a && a->t != want) return false;
  return true;
}

template <class E>
const KernelSet<E>& ks();
template <>
const KernelSet<float>& ks<float>() {
  return g_kernels->f32;
}
template <>
const KernelSet<double>& ks<double>() {
  return g_kernels->f64;
}

// The one float32/float64 dispatch: runs f(E{}) with E = float when every array is a Float32Array,
// E = double when every one is a Float64Array, and returns false otherwise (the caller falls back).
// Null entries stand for absent optional arrays and are skipped.
template <class F>
bool with_float(std::initializer_list<const Arr*> arrs, F&& f) {
  if (all_type<float>(arrs)) {
    f(float{});
    return true;
  }
  if (all_type<double>(arrs)) {
    f(double{});
    return true;
  }
  return false;
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
}// noop(a, b, c): measures call overhead.
napi_value Noop(napi_env env, napi_callback_info info) {
  Call c(env, info);
  for (size_t i = 0; i < c.argc; i++) c.arr(i);
  return nullptr;
}

// opTable(): the op names of every family in code order, compiled in from the generated header, so
// the loader can refuse an addon built from another version of src/backend/op-table.ts.
template <size_t N>
napi_value name_list(napi_env env, const char* const (&names)[N]) {
  napi_value arr, v;
  napi_create_array_with_length(env, N, &arr);
  for (size_t i = 0; i < N; i++) {
    napi_create_string_utf8(env, names[i], NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, arr, static_cast<uint32_t>(i), v);
  }
  return arr;
}

napi_value OpTable(napi_env env, napi_callback_info) {
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "unary", name_list(env, kUnaryOpNames));
  napi_set_named_property(env, o, "binary", name_list(env, kBinaryOpNames));
  napi_set_named_property(env, o, "compare", name_list(env, kCompareOpNames));
  napi_set_named_property(env, o, "reduce", name_list(env, kReduceOpNames));
  return o;
}

napi_value boolean(napi_env env, bool v) {
  napi_value r;
  napi_get_boolean(env, v, &r);
  return r;
}

int elem_type(const Arr& a) {
  switch (a.t) {
    case napi_float32_array: return T_F32;
    case napi_float64_array: return T_F64;
    case napi_int32_array: return T_I32;
    case napi_uint8_array: return T_U8;
    default: return -1;
  }
}
size_t elem_size(int t) { return t == T_F64 ? 8 : t == T_U8 ? 1 : 4; }

// Reads `nd, shape[nd]` and then `nops` strided operands (`offset, strides[nd]`) from meta at *pos,
// checks each operand's reachable extent against its array, and coalesces dimensions. When
// `contiguous_out` is set, a dense row-major operand is appended (the kernel's output).
bool read_nd(Call& c, size_t pos, int nops, const Arr* arrs, bool contiguous_out, NdIter& it, i64* offs,
             i64* total_out) {
  const int nd = static_cast<int>(c.I(pos));
  if (nd < 0 || nd > 32) {
    c.fail("qkv native: too many dimensions");
    return false;
  }
  i64 shape[32];
  i64 st[4][32];
  i64 total = 1;
  for (int d = 0; d < nd; d++) {
    shape[d] = c.I(pos + 1 + d);
    if (shape[d] < 0) {
      c.fail("qkv native: negative dimension");
      return false;
    }
    total *= shape[d];
  }
  size_t p = pos + 1 + nd;
  for (int o = 0; o < nops; o++) {
    offs[o] = c.I(p++);
    i64 lo = offs[o], hi = offs[o];
    for (int d = 0; d < nd; d++) {
      st[o][d] = c.I(p++);
      if (shape[d] > 0) {
        const i64 span = st[o][d] * (shape[d] - 1);
        if (span < 0)
          lo += span;
        else
          hi += span;
      }
    }
    if (total > 0 && (lo < 0 || hi >= static_cast<i64>(arrs[o].len))) {
      c.fail("qkv native: strided operand out of bounds");
      return false;
    }
  }
  int n = nops;
  if (contiguous_out) {
    i64 s = 1;
    for (int d = nd - 1; d >= 0; d--) {
      st[n][d] = s;
      s *= shape[d];
    }
    n++;
  }
  const i64* sp[4] = {st[0], st[1], st[2], st[3]};
  if (!nd_coalesce(nd, shape, n, sp, it)) return false;
  *total_out = total;
  return true;
}

// unary(x, out) meta: ml::unary (meta-layout.ts)
napi_value Unary(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr x = c.arr(0), o = c.arr(1);
  if (!c.ok) return nullptr;
  const int code = static_cast<int>(c.I(ml::unary::op));
  if (code < 0 || code >= kUnaryOpCount) c.fail("qkv native: unary: unknown op code");
  if (!c.ok) return nullptr;
  const UnaryOp op = static_cast<UnaryOp>(code);
  if (o.len < x.len) return boolean(env, false);
  const i64 n = static_cast<i64>(x.len);
  return boolean(env, with_float({&x, &o}, [&](auto e) {
    using E = decltype(e);
    ks<E>().unary(op, P<E>(x), P<E>(o), n);
  }));
}

// unaryBackward(x, y, gy, gx) meta: ml::unary (meta-layout.ts)
napi_value UnaryBackward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr x = c.arr(0), y = c.arr(1), gy = c.arr(2), gx = c.arr(3);
  if (!c.ok) return nullptr;
  const int code = static_cast<int>(c.I(ml::unary::op));
  if (code < 0 || code >= kUnaryOpCount) c.fail("qkv native: unaryBackward: unknown op code");
  if (!c.ok) return nullptr;
  const UnaryOp op = static_cast<UnaryOp>(code);
  if (y.len < x.len || gy.len < x.len || gx.len < x.len) return boolean(env, false);
  const i64 n = static_cast<i64>(x.len);
  return boolean(env, with_float({&x, &y, &gy, &gx}, [&](auto e) {
    using E = decltype(e);
    ks<E>().unary_bwd(op, P<E>(x), P<E>(y), P<E>(gy), P<E>(gx), n);
  }));
}

// binary(a, b, out) meta: ml::binary (meta-layout.ts)
napi_value Binary(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr a = c.arr(0), b = c.arr(1), o = c.arr(2);
  if (!c.ok) return nullptr;
  const int code = static_cast<int>(c.I(ml::binary::op));
  if (code < 0 || code >= kBinaryOpCount) c.fail("qkv native: binary: unknown op code");
  if (!c.ok) return nullptr;
  const BinaryOp op = static_cast<BinaryOp>(code);
  const int ta = elem_type(a);
  if (ta < 0 || ta > T_F64 || elem_type(b) != ta || elem_type(o) != ta)
    return boolean(env, false);
  const Arr ops[2] = {a, b};
  NdIter it;
  i64 offs[2], total;
  if (!read_nd(c, ml::binary::nd, 2, ops, true, it, offs, &total)) return c.ok ? boolean(env, false) : nullptr;
  if (static_cast<i64>(o.len) < total) return boolean(env, false);
  if (total == 0) return boolean(env, true);
  return boolean(env, with_float({&a, &b, &o}, [&](auto e) {
    using E = decltype(e);
    ks<E>().binary(op, it, P<E>(a, offs[0]), P<E>(b, offs[1]), P<E>(o));
  }));
}

// compare(a, b, out: Uint8Array) meta: ml::compare (meta-layout.ts)
napi_value Compare(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr a = c.arr(0), b = c.arr(1), o = c.arr(2);
  if (!c.ok) return nullptr;
  const int code = static_cast<int>(c.I(ml::compare::op));
  if (code < 0 || code >= kCompareOpCount) c.fail("qkv native: compare: unknown op code");
  if (!c.ok) return nullptr;
  const CompareOp op = static_cast<CompareOp>(code);
  const int ta = elem_type(a);
  if (ta < 0 || elem_type(b) != ta || elem_type(o) != T_U8) return boolean(env, false);
  const Arr ops[2] = {a, b};
  NdIter it;
  i64 offs[2], total;
  if (!read_nd(c, ml::compare::nd, 2, ops, true, it, offs, &total)) return c.ok ? boolean(env, false) : nullptr;
  if (static_cast<i64>(o.len) < total) return boolean(env, false);
  if (total == 0) return boolean(env, true);
  const size_t es = elem_size(ta);
  compare_nd(op, it, static_cast<const char*>(a.p) + offs[0] * es, static_cast<const char*>(b.p) + offs[1] * es, ta,
             P<uint8_t>(o));
  return boolean(env, true);
}

// where(cond, a, b, out) meta: ml::strided (meta-layout.ts)
napi_value Where(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr cd = c.arr(0), a = c.arr(1), b = c.arr(2), o = c.arr(3);
  if (!c.ok) return nullptr;
  const int ta = elem_type(a);
  if (elem_type(cd) != T_U8 || ta < 0 || elem_type(b) != ta || elem_type(o) != ta) return boolean(env, false);
  const Arr ops[3] = {cd, a, b};
  NdIter it;
  i64 offs[3], total;
  if (!read_nd(c, ml::strided::nd, 3, ops, true, it, offs, &total)) return c.ok ? boolean(env, false) : nullptr;
  if (static_cast<i64>(o.len) < total) return boolean(env, false);
  if (total == 0) return boolean(env, true);
  const size_t es = elem_size(ta);
  where_nd(it, P<uint8_t>(cd, offs[0]), static_cast<const char*>(a.p) + offs[1] * es,
           static_cast<const char*>(b.p) + offs[2] * es, ta, o.p);
  return boolean(env, true);
}

// copy(src, dst) meta: ml::strided (meta-layout.ts)
napi_value Copy(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr s = c.arr(0), d = c.arr(1);
  if (!c.ok) return nullptr;
  const int ts = elem_type(s), td = elem_type(d);
  if (ts < 0 || td < 0) return boolean(env, false);
  const Arr ops[2] = {s, d};
  NdIter it;
  i64 offs[2], total;
  if (!read_nd(c, ml::strided::nd, 2, ops, false, it, offs, &total)) return c.ok ? boolean(env, false) : nullptr;
  if (total == 0) return boolean(env, true);
  // Overlapping source and destination ranges would make the result order-dependent.
  if (s.p == d.p || (static_cast<const char*>(s.p) < static_cast<const char*>(d.p) + d.len * elem_size(td) &&
                     static_cast<const char*>(d.p) < static_cast<const char*>(s.p) + s.len * elem_size(ts))) {
    return boolean(env, false);  // views of one buffer: let the reference handle it
  }
  copy_nd(it, static_cast<const char*>(s.p) + offs[0] * elem_size(ts), ts,
          static_cast<char*>(d.p) + offs[1] * elem_size(td), td);
  return boolean(env, true);
}

// clamp(x, out) meta: ml::clamp (meta-layout.ts)
napi_value Clamp(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr x = c.arr(0), o = c.arr(1);
  if (!c.ok) return nullptr;
  const int t = elem_type(x);
  if (t < 0 || elem_type(o) != t || o.len < x.len) return boolean(env, false);
  clamp_any(x.p, o.p, t, static_cast<i64>(x.len), c.D(ml::clamp::lo), c.D(ml::clamp::hi));
  return boolean(env, true);
}

// reduce(x, out) meta: ml::reduce (meta-layout.ts)
napi_value Reduce(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr x = c.arr(0), o = c.arr(1);
  if (!c.ok) return nullptr;
  const int code = static_cast<int>(c.I(ml::reduce::op));
  if (code < 0 || code >= kReduceOpCount) c.fail("qkv native: reduce: unknown op code");
  if (!c.ok) return nullptr;
  const ReduceOp op = static_cast<ReduceOp>(code);
  const i64 outer = c.I(ml::reduce::outer), n = c.I(ml::reduce::n), inner = c.I(ml::reduce::inner);
  if (outer < 0 || n < 0 || inner < 0) return boolean(env, false);
  if (static_cast<i64>(x.len) < outer * n * inner || static_cast<i64>(o.len) < outer * inner) return boolean(env, false);
  return boolean(env, with_float({&x, &o}, [&](auto e) {
    using E = decltype(e);
    ks<E>().reduce(op, P<E>(x), outer, n, inner, P<E>(o));
  }));
}

// softmax(x, out) meta: ml::softmax (meta-layout.ts)
napi_value Softmax(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr x = c.arr(0), o = c.arr(1);
  if (!c.ok) return nullptr;
  const i64 rows = c.I(ml::softmax::rows), n = c.I(ml::softmax::n);
  const bool lg = c.B(ml::softmax::log);
  if (rows < 0 || n < 0 || static_cast<i64>(x.len) < rows * n || static_cast<i64>(o.len) < rows * n)
    return boolean(env, false);
  return boolean(env, with_float({&x, &o}, [&](auto e) {
    using E = decltype(e);
    ks<E>().softmax_fwd(P<E>(x), rows, n, P<E>(o), lg);
  }));
}

// softmaxBackward(y, gy, gx) meta: ml::softmax (meta-layout.ts)
napi_value SoftmaxBackward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr y = c.arr(0), gy = c.arr(1), gx = c.arr(2);
  if (!c.ok) return nullptr;
  const i64 rows = c.I(ml::softmax::rows), n = c.I(ml::softmax::n);
  const bool lg = c.B(ml::softmax::log);
  const i64 tot = rows * n;
  if (rows < 0 || n < 0 || static_cast<i64>(y.len) < tot || static_cast<i64>(gy.len) < tot ||
      static_cast<i64>(gx.len) < tot)
    return boolean(env, false);
  return boolean(env, with_float({&y, &gy, &gx}, [&](auto e) {
    using E = decltype(e);
    ks<E>().softmax_bwd(P<E>(y), P<E>(gy), rows, n, P<E>(gx), lg);
  }));
}


// layerNormForward(x, out, mean, rstd, weight?, bias?) meta: ml::layerNormForward (meta-layout.ts)
napi_value LayerNormForward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr x = c.arr(0), o = c.arr(1), mean = c.arr(2), rstd = c.arr(3);
  const bool hw = c.B(ml::layerNormForward::hasW), hb = c.B(ml::layerNormForward::hasB);
  Arr w, b;
  if (hw) w = c.arr(4);
  if (hb) b = c.arr(5);
  if (!c.ok) return nullptr;
  const i64 rows = c.I(ml::layerNormForward::rows), n = c.I(ml::layerNormForward::n);
  const double eps = c.D(ml::layerNormForward::eps);
  const i64 tot = rows * n;
  if (rows < 0 || n <= 0 || static_cast<i64>(x.len) < tot || static_cast<i64>(o.len) < tot ||
      static_cast<i64>(mean.len) < rows || static_cast<i64>(rstd.len) < rows || (hw && static_cast<i64>(w.len) < n) ||
      (hb && static_cast<i64>(b.len) < n))
    return boolean(env, false);
  const Arr* pw = hw ? &w : nullptr;
  const Arr* pb = hb ? &b : nullptr;
  return boolean(env, with_float({&x, &o, &mean, &rstd, pw, pb}, [&](auto e) {
    using E = decltype(e);
    ks<E>().layernorm_fwd(P<E>(x), hw ? P<E>(w) : nullptr, hb ? P<E>(b) : nullptr, rows, n, eps,
                                 P<E>(o), P<E>(mean), P<E>(rstd));
  }));
}

// layerNormBackward(x, mean, rstd, gy, gx, weight?, gw?, gb?) meta: ml::layerNormBackward (meta-layout.ts)
napi_value LayerNormBackward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr x = c.arr(0), mean = c.arr(1), rstd = c.arr(2), gy = c.arr(3), gx = c.arr(4);
  const bool hw = c.B(ml::layerNormBackward::hasW), hgw = c.B(ml::layerNormBackward::hasGW), hgb = c.B(ml::layerNormBackward::hasGB);
  Arr w, gw, gb;
  if (hw) w = c.arr(5);
  if (hgw) gw = c.arr(6);
  if (hgb) gb = c.arr(7);
  if (!c.ok) return nullptr;
  const i64 rows = c.I(ml::layerNormBackward::rows), n = c.I(ml::layerNormBackward::n);
  const i64 tot = rows * n;
  if (rows < 0 || n <= 0 || static_cast<i64>(x.len) < tot || static_cast<i64>(gy.len) < tot ||
      static_cast<i64>(gx.len) < tot || static_cast<i64>(mean.len) < rows || static_cast<i64>(rstd.len) < rows ||
      (hw && static_cast<i64>(w.len) < n) || (hgw && static_cast<i64>(gw.len) < n) ||
      (hgb && static_cast<i64>(gb.len) < n))
    return boolean(env, false);
  const Arr* pw = hw ? &w : nullptr;
  const Arr* pgw = hgw ? &gw : nullptr;
  const Arr* pgb = hgb ? &gb : nullptr;
  return boolean(env, with_float({&x, &mean, &rstd, &gy, &gx, pw, pgw, pgb}, [&](auto e) {
    using E = decltype(e);
    ks<E>().layernorm_bwd(P<E>(x), hw ? P<E>(w) : nullptr, P<E>(mean), P<E>(rstd),
                                 P<E>(gy), rows, n, P<E>(gx), hgw ? P<E>(gw) : nullptr,
                                 hgb ? P<E>(gb) : nullptr);
  }));
}

bool targets_ok(const Arr& target, i64 rows, i64 C, int ignore) {
  if (target.t != napi_int32_array || static_cast<i64>(target.len) < rows) return false;
  const int32_t* t = P<int32_t>(target);
  for (i64 r = 0; r < rows; r++)
    if (t[r] != ignore && (t[r] < 0 || t[r] >= C)) return false;
  return true;
}

// crossEntropyForward(logits, target, loss, lse) meta: ml::crossEntropy (meta-layout.ts)
napi_value CrossEntropyForward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr lg = c.arr(0), tg = c.arr(1), loss = c.arr(2), lse = c.arr(3);
  if (!c.ok) return nullptr;
  const i64 rows = c.I(ml::crossEntropy::rows), C = c.I(ml::crossEntropy::C);
  const int ignore = static_cast<int>(c.I(ml::crossEntropy::ignoreIndex));
  const double sm = c.D(ml::crossEntropy::smoothing);
  if (rows < 0 || C <= 0 || static_cast<i64>(lg.len) < rows * C || static_cast<i64>(loss.len) < rows ||
      static_cast<i64>(lse.len) < rows || !targets_ok(tg, rows, C, ignore))
    return boolean(env, false);
  return boolean(env, with_float({&lg, &loss, &lse}, [&](auto e) {
    using E = decltype(e);
    ks<E>().xent_fwd(P<E>(lg), P<int32_t>(tg), rows, C, ignore, sm, P<E>(loss), P<E>(lse));
  }));
}

// crossEntropyBackward(logits, target, lse, gLoss, gLogits) meta: ml::crossEntropy (meta-layout.ts)
napi_value CrossEntropyBackward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr lg = c.arr(0), tg = c.arr(1), lse = c.arr(2), gl = c.arr(3), go = c.arr(4);
  if (!c.ok) return nullptr;
  const i64 rows = c.I(ml::crossEntropy::rows), C = c.I(ml::crossEntropy::C);
  const int ignore = static_cast<int>(c.I(ml::crossEntropy::ignoreIndex));
  const double sm = c.D(ml::crossEntropy::smoothing);
  if (rows < 0 || C <= 0 || static_cast<i64>(lg.len) < rows * C || static_cast<i64>(go.len) < rows * C ||
      static_cast<i64>(gl.len) < rows || static_cast<i64>(lse.len) < rows || !targets_ok(tg, rows, C, ignore))
    return boolean(env, false);
  return boolean(env, with_float({&lg, &lse, &gl, &go}, [&](auto e) {
    using E = decltype(e);
    ks<E>().xent_bwd(P<E>(lg), P<int32_t>(tg), P<E>(lse), P<E>(gl), rows, C, ignore, sm,
                            P<E>(go));
  }));
}

bool index_ok(const Arr& idx, i64 count, i64 n) {
  if (idx.t != napi_int32_array || static_cast<i64>(idx.len) < count) return false;
  const int32_t* p = P<int32_t>(idx);
  int32_t bad = 0;
  for (i64 i = 0; i < count; i++) bad |= (p[i] < 0) | (p[i] >= n);
  return bad == 0;
}

// indexSelect(x, index, out) meta: ml::indexing (meta-layout.ts)
napi_value IndexSelect(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr x = c.arr(0), idx = c.arr(1), o = c.arr(2);
  if (!c.ok) return nullptr;
  const i64 outer = c.I(ml::indexing::outer), n = c.I(ml::indexing::n), inner = c.I(ml::indexing::inner), m = static_cast<i64>(idx.len);
  const int t = elem_type(x);
  if (t < 0 || elem_type(o) != t || outer < 0 || n < 0 || inner < 0 || static_cast<i64>(x.len) < outer * n * inner ||
      static_cast<i64>(o.len) < outer * m * inner || !index_ok(idx, m, n))
    return boolean(env, false);
  index_select(x.p, elem_size(t), outer, n, inner, P<int32_t>(idx), m, o.p);
  return boolean(env, true);
}

// indexAdd(gy, index, gx) meta: ml::indexing (meta-layout.ts)
napi_value IndexAdd(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr gy = c.arr(0), idx = c.arr(1), gx = c.arr(2);
  if (!c.ok) return nullptr;
  const i64 outer = c.I(ml::indexing::outer), n = c.I(ml::indexing::n), inner = c.I(ml::indexing::inner), m = static_cast<i64>(idx.len);
  if (outer < 0 || n < 0 || inner < 0 || static_cast<i64>(gx.len) < outer * n * inner ||
      static_cast<i64>(gy.len) < outer * m * inner || !index_ok(idx, m, n))
    return boolean(env, false);
  return boolean(env, with_float({&gy, &gx}, [&](auto e) {
    using E = decltype(e);
    index_add(P<E>(gy), outer, n, inner, P<int32_t>(idx), m, P<E>(gx));
  }));
}

// gather(x, index, out) meta: ml::indexing (meta-layout.ts)
napi_value Gather(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr x = c.arr(0), idx = c.arr(1), o = c.arr(2);
  if (!c.ok) return nullptr;
  const i64 outer = c.I(ml::indexing::outer), n = c.I(ml::indexing::n), inner = c.I(ml::indexing::inner), m = c.I(ml::indexing::m);
  const int t = elem_type(x);
  const i64 cnt = outer * m * inner;
  if (t < 0 || elem_type(o) != t || outer < 0 || n < 0 || inner < 0 || m < 0 ||
      static_cast<i64>(x.len) < outer * n * inner || static_cast<i64>(o.len) < cnt || !index_ok(idx, cnt, n))
    return boolean(env, false);
  gather_any(x.p, elem_size(t), outer, n, inner, P<int32_t>(idx), m, o.p);
  return boolean(env, true);
}

// scatterAdd(gy, index, gx) meta: ml::indexing (meta-layout.ts)
napi_value ScatterAdd(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr gy = c.arr(0), idx = c.arr(1), gx = c.arr(2);
  if (!c.ok) return nullptr;
  const i64 outer = c.I(ml::indexing::outer), n = c.I(ml::indexing::n), inner = c.I(ml::indexing::inner), m = c.I(ml::indexing::m);
  const i64 cnt = outer * m * inner;
  if (outer < 0 || n < 0 || inner < 0 || m < 0 || static_cast<i64>(gx.len) < outer * n * inner ||
      static_cast<i64>(gy.len) < cnt || !index_ok(idx, cnt, n))
    return boolean(env, false);
  return boolean(env, with_float({&gy, &gx}, [&](auto e) {
    using E = decltype(e);
    scatter_add(P<E>(gy), outer, n, inner, P<int32_t>(idx), m, P<E>(gx));
  }));
}

// Whether rows × cols elements of every head under layout l lie inside an array of len elements.
bool attn_fits(const AttnLayout& l, const AttnP& p, i64 rows, i64 cols, size_t len) {
  if (l.off < 0 || l.sb < 0 || l.sh < 0 || l.st < 0) return false;
  if (p.B == 0 || p.H == 0 || rows == 0) return true;
  const i64 last = l.off + (p.B - 1) * l.sb + (p.H - 1) * l.sh + (rows - 1) * l.st + cols;
  return last <= static_cast<i64>(len);
}

// Attention meta (ml::attention): sizes, scale, causal, the mask's offset and strides, then the
// (offset, batch, head, row) layouts of q, k, v, out when hasLayout (default: contiguous (B, H, rows, cols))
static_assert(ml::attention::ms3 == ml::attention::ms0 + 3 && ml::attention::kOffset == ml::attention::qOffset + 4 &&
                  ml::attention::vOffset == ml::attention::qOffset + 8 &&
                  ml::attention::outOffset == ml::attention::qOffset + 12 && ml::attention::outRow + 1 == ml::attention::kSize,
              "attention: four mask strides, then four consecutive (offset, batch, head, row) layouts");
bool read_attn(Call& c, const Arr& q, const Arr& k, const Arr& v, const Arr* mask, AttnP& p) {
  const i64 B = c.I(ml::attention::B), H = c.I(ml::attention::H), T = c.I(ml::attention::T), S = c.I(ml::attention::S), D = c.I(ml::attention::D), Dv = c.I(ml::attention::Dv);
  // empty heads (D or Dv = 0) are left to the reference kernels
  if (B < 0 || H < 0 || T < 0 || S < 0 || D <= 0 || Dv <= 0 || B * H * (T + S) * (D + Dv + 1) > (1LL << 40))
    return false;
  const i64 rows[4] = {T, S, S, T}, cols[4] = {D, D, Dv, Dv};
  for (int i = 0; i < 4; i++) {
    AttnLayout& l = p.lay[i];
    if (c.B(ml::attention::hasLayout)) {
      const int o = ml::attention::qOffset + 4 * i;  // q, k, v, out: (offset, batch, head, row) each
      l = AttnLayout{c.I(o), c.I(o + 1), c.I(o + 2), c.I(o + 3)};
      if (l.st < cols[i] && rows[i] > 1) return false;
    } else {
      l = AttnLayout{0, H * rows[i] * cols[i], rows[i] * cols[i], cols[i]};
    }
  }
  p.B = static_cast<int>(B);
  p.H = static_cast<int>(H);
  if (!attn_fits(p.lay[0], p, T, D, q.len) || !attn_fits(p.lay[1], p, S, D, k.len) ||
      !attn_fits(p.lay[2], p, S, Dv, v.len))
    return false;
  p.B = static_cast<int>(B);
  p.H = static_cast<int>(H);
  p.T = static_cast<int>(T);
  p.S = static_cast<int>(S);
  p.D = static_cast<int>(D);
  p.Dv = static_cast<int>(Dv);
  p.scale = c.D(ml::attention::scale);
  p.causal = c.B(ml::attention::causal);
  p.mask = nullptr;
  p.maskOffset = 0;
  for (int i = 0; i < 4; i++) p.ms[i] = 0;
  if (mask) {
    p.maskOffset = c.I(ml::attention::maskOffset);
    const i64 dims[4] = {B, H, T, S};
    i64 lo = p.maskOffset, hi = p.maskOffset;
    for (int i = 0; i < 4; i++) {
      p.ms[i] = c.I(ml::attention::ms0 + i);
      if (dims[i] > 0) {
        const i64 span = p.ms[i] * (dims[i] - 1);
        if (span < 0)
          lo += span;
        else
          hi += span;
      }
    }
    if (B * H * T * S > 0 && (lo < 0 || hi >= static_cast<i64>(mask->len))) return false;
    p.mask = mask->p;
  }
  return true;
}

// attentionForward(q, k, v, out, lse, mask?)
napi_value AttentionForward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr q = c.arr(0), k = c.arr(1), v = c.arr(2), o = c.arr(3), lse = c.arr(4);
  const bool hm = c.B(ml::attention::hasMask);
  Arr mask;
  if (hm) mask = c.arr(5);
  if (!c.ok) return nullptr;
  AttnP p;
  if (!read_attn(c, q, k, v, hm ? &mask : nullptr, p)) return boolean(env, false);
  const i64 rows = static_cast<i64>(p.B) * p.H * p.T;
  if (!attn_fits(p.lay[3], p, p.T, p.Dv, o.len) || static_cast<i64>(lse.len) < rows) return boolean(env, false);
  const Arr* pm = hm ? &mask : nullptr;
  return boolean(env, with_float({&q, &k, &v, &o, &lse, pm}, [&](auto e) {
    using E = decltype(e);
    ks<E>().attn_fwd(p, P<E>(q), P<E>(k), P<E>(v), P<E>(o), P<E>(lse));
  }));
}

// attentionBackward(q, k, v, out, lse, gOut, gq, gk, gv, mask?)
napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Arr q = c.arr(0), k = c.arr(1), v = c.arr(2), o = c.arr(3), lse = c.arr(4), go = c.arr(5), gq = c.arr(6),
      gk = c.arr(7), gv = c.arr(8);
  const bool hm = c.B(ml::attention::hasMask);
  Arr mask;
  if (hm) mask = c.arr(9);
  if (!c.ok) return nullptr;
  AttnP p;
  if (!read_attn(c, q, k, v, hm ? &mask : nullptr, p)) return boolean(env, false);
  const i64 rows = static_cast<i64>(p.B) * p.H * p.T;
  if (!attn_fits(p.lay[3], p, p.T, p.Dv, o.len) || !attn_fits(p.lay[3], p, p.T, p.Dv, go.len) ||
      static_cast<i64>(lse.len) < rows || !attn_fits(p.lay[0], p, p.T, p.D, gq.len) ||
      !attn_fits(p.lay[1], p, p.S, p.D, gk.len) || !attn_fits(p.lay[2], p, p.S, p.Dv, gv.len))
    return boolean(env, false);
  const Arr* pm = hm ? &mask : nullptr;
  return boolean(env, with_float({&q, &k, &v, &o, &lse, &go, &gq, &gk, &gv, pm}, [&](auto e) {
    using E = decltype(e);
    ks<E>().attn_bwd(p, P<E>(q), P<E>(k), P<E>(v), P<E>(o), P<E>(lse), P<E>(go),
                            P<E>(gq), P<E>(gk), P<E>(gv));
  }));
}

// ---- multi-tensor optimizer kernels (arguments: JS arrays of typed arrays) ------------------------

// Reads a JS array of typed arrays into out; false when v is not one.
bool arr_list(napi_env env, napi_value v, std::vector<Arr>& out) {
  bool is = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is) != napi_ok || !is || napi_get_array_length(env, v, &n) != napi_ok) return false;
  out.resize(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    bool ta = false;
    if (napi_get_element(env, v, i, &e) != napi_ok || napi_is_typedarray(env, e, &ta) != napi_ok || !ta ||
        napi_get_typedarray_info(env, e, &out[i].t, &out[i].len, &out[i].p, nullptr, nullptr) != napi_ok)
      return false;
  }
  return true;
}

template <class E>
bool list_type(const std::vector<Arr>& l) {
  for (const Arr& a : l)
    if (!all_type<E>({&a})) return false;
  return true;
}

template <class E>
std::vector<E*> list_ptrs(const std::vector<Arr>& l) {
  std::vector<E*> r(l.size());
  for (size_t i = 0; i < l.size(); i++) r[i] = P<E>(l[i]);
  return r;
}

// with_float for a list of arrays.
template <class F>
bool with_float_list(const std::vector<Arr>& l, F&& f) {
  if (list_type<float>(l)) {
    f(float{});
    return true;
  }
  if (list_type<double>(l)) {
    f(double{});
    return true;
  }
  return false;
}

std::vector<i64> list_lens(const std::vector<Arr>& l) {
  std::vector<i64> r(l.size());
  for (size_t i = 0; i < l.size(); i++) r[i] = static_cast<i64>(l[i].len);
  return r;
}

// sumOfSquares(xs[], out: Float64Array): out[i] = Σ xs[i]², accumulated in float64.
napi_value SumOfSquares(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok) return nullptr;
  std::vector<Arr> xs;
  if (c.argc < 2 || !arr_list(env, c.argv[0], xs)) return boolean(env, false);
  Arr out = c.arr(1);
  if (!c.ok) return nullptr;
  if (!is_f64(out) || out.len < xs.size()) return boolean(env, false);
  const std::vector<i64> ns = list_lens(xs);
  const int n = static_cast<int>(xs.size());
  return boolean(env, with_float_list(xs, [&](auto e) {
    using E = decltype(e);
    ks<E>().sumsq(list_ptrs<E>(xs).data(), ns.data(), n, P<double>(out));
  }));
}

// scaleInPlace(xs[]) meta: ml::scaleInPlace (meta-layout.ts)
napi_value ScaleInPlace(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok) return nullptr;
  std::vector<Arr> xs;
  if (c.argc < 1 || !arr_list(env, c.argv[0], xs)) return boolean(env, false);
  const std::vector<i64> ns = list_lens(xs);
  const int n = static_cast<int>(xs.size());
  return boolean(env, with_float_list(xs, [&](auto e) {
    using E = decltype(e);
    ks<E>().scale(list_ptrs<E>(xs).data(), ns.data(), n, c.D(ml::scaleInPlace::scale));
  }));
}

template <class E>
void adam_multi_call(const std::vector<Arr>* l, bool hmax, int n, const i64* ns, const AdamOpts& o) {
  std::vector<E*> p = list_ptrs<E>(l[0]), g = list_ptrs<E>(l[1]), m = list_ptrs<E>(l[2]), v = list_ptrs<E>(l[3]);
  std::vector<E*> vm = hmax ? list_ptrs<E>(l[4]) : std::vector<E*>();
  ks<E>().adam_multi(p.data(), const_cast<const E* const*>(g.data()), m.data(), v.data(), hmax ? vm.data() : nullptr, ns, n,
                o);
}

// adamStepMulti(ps[], gs[], ms[], vs[], vmaxs[]?) meta: ml::adam (meta-layout.ts)
// (one step shared by all tensors)
napi_value AdamStepMulti(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok) return nullptr;
  const bool hmax = c.B(ml::adam::hasMax);
  std::vector<Arr> l[5];
  const int nl = hmax ? 5 : 4;
  if (static_cast<int>(c.argc) < nl) return boolean(env, false);
  for (int i = 0; i < nl; i++)
    if (!arr_list(env, c.argv[i], l[i])) return boolean(env, false);
  const size_t n = l[0].size();
  for (int i = 1; i < nl; i++)
    if (l[i].size() != n) return boolean(env, false);
  for (size_t t = 0; t < n; t++)
    for (int i = 1; i < nl; i++)
      if (l[i][t].len < l[0][t].len) return boolean(env, false);
  const std::vector<i64> ns = list_lens(l[0]);
  AdamOpts o{c.D(ml::adam::lr), c.D(ml::adam::beta1), c.D(ml::adam::beta2), c.D(ml::adam::eps), c.D(ml::adam::weightDecay), c.D(ml::adam::step), c.B(ml::adam::decoupled)};
  bool f32 = true, f64 = true;
  for (int i = 0; i < nl; i++) {
    f32 = f32 && list_type<float>(l[i]);
    f64 = f64 && list_type<double>(l[i]);
  }
  if (f32)
    adam_multi_call<float>(l, hmax, static_cast<int>(n), ns.data(), o);
  else if (f64)
    adam_multi_call<double>(l, hmax, static_cast<int>(n), ns.data(), o);
  else
    return boolean(env, false);
  return boolean(env, true);
}

// gemm(a, b, out, bias?, preact?) meta: ml::gemm (meta-layout.ts)
// activation(-1 | any UnaryOp code) hasPreact. With an activation the call always passes 5 arrays.
napi_value Gemm(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok) return nullptr;
  Arr a = c.arr(0), b = c.arr(1), o = c.arr(2);
  const bool hasBias = c.B(ml::gemm::hasBias);
  const int act = static_cast<int>(c.I(ml::gemm::activation));
  const bool hasPre = act >= 0 && c.B(ml::gemm::hasPreact);
  if (act < -1 || act >= kUnaryOpCount) c.fail("qkv native: gemm: unknown activation");
  if (act >= 0 && c.B(ml::gemm::accumulate)) c.fail("qkv native: gemm: an activation epilogue cannot accumulate");
  Arr bias, pre;
  if (hasBias) bias = c.arr(3);
  if (hasPre) pre = c.arr(4);
  if (!c.ok) return nullptr;
  const i64 batch = c.I(ml::gemm::batch), M = c.I(ml::gemm::M), N = c.I(ml::gemm::N), K = c.I(ml::gemm::K);
  const i64 aOff = c.I(ml::gemm::aOffset), aBS = c.I(ml::gemm::aBatchStride), bOff = c.I(ml::gemm::bOffset), bBS = c.I(ml::gemm::bBatchStride);
  if (batch < 0 || M < 0 || N < 0 || K < 0 || aBS < 0 || bBS < 0 || M > INT32_MAX || N > INT32_MAX ||
      K > INT32_MAX || batch > INT32_MAX)
    c.fail("qkv native: gemm: bad sizes");
  if (!c.ok || batch == 0 || M == 0 || N == 0) return nullptr;
  c.need(a, aOff, (batch - 1) * aBS + M * K, "gemm a");
  c.need(b, bOff, (batch - 1) * bBS + K * N, "gemm b");
  c.need(o, 0, batch * M * N, "gemm out");
  if (hasBias) c.need(bias, 0, N, "gemm bias");
  if (hasPre) c.need(pre, 0, batch * M * N, "gemm preact");
  if (!c.ok) return nullptr;
  const bool ok = with_float({&a, &b, &o, hasBias ? &bias : nullptr, hasPre ? &pre : nullptr}, [&](auto e) {
    using E = decltype(e);
    GemmP<E> p{static_cast<int>(batch), static_cast<int>(M), static_cast<int>(N), static_cast<int>(K),
               P<E>(a, aOff), aBS, c.B(ml::gemm::transA), P<E>(b, bOff), bBS, c.B(ml::gemm::transB), P<E>(o),
               c.B(ml::gemm::accumulate), hasBias ? P<E>(bias) : nullptr, act, hasPre ? P<E>(pre) : nullptr};
    ks<E>().gemm(p);
  });
  if (!ok) c.fail("qkv native: gemm: operands must all be Float32Array or all Float64Array");
  return nullptr;
}

// transformerLayer(x, out, n1w, n1b, qW, qB, kW, kB, vW, vB, oW, oB, mask, k, v, n3w, n3b, fcW, fcB, prW, prB
//                  [, n2w, n2b, cqW, cqB, coW, coB, mk, mv, memMask])
// (the order of transformerLayerForward in src/backends/native/index.ts; null is an absent operand)
// meta: the transformerLayer fields of src/backends/native/meta-layout.ts (ml::transformerLayer).
namespace layer {
enum Slot {
  X, OUT, N1W, N1B, QW, QB, KW, KB, VW, VB, OW, OB, MASK, K, V, N3W, N3B, FCW, FCB, PRW, PRB,
  N2W, N2B, CQW, CQB, COW, COB, MK, MV, MEM_MASK, COUNT  // the cross-attention's operands, null without one
};
}

template <class E>
bool run_layer(Call& c, const Arr* a) {
  using namespace layer;
  using L = ml::transformerLayer;
  // read_mask reads a mask's offset and its 4 strides from consecutive fields
  static_assert(L::ms3 == L::maskOffset + 4 && L::mms3 == L::memMaskOffset + 4, "mask fields must be consecutive");
  const i64 B = c.I(L::B), T = c.I(L::T), C = c.I(L::C), H = c.I(L::H), F = c.I(L::F), past = c.I(L::past),
            cap = c.I(L::cap), Sm = c.I(L::Sm);
  const double actCode = c.D(L::act);
  if (!(actCode >= 0 && actCode < kUnaryOpCount)) return false;  // also refuses NaN
  const auto act = static_cast<UnaryOp>(static_cast<int>(actCode));
  if (B <= 0 || T <= 0 || C <= 0 || H <= 0 || C % H != 0 || F <= 0 || past < 0 || cap < 0 || Sm < 0 ||
      (cap > 0 && past + T > cap) || (cap == 0 && past != 0) ||
      B * (cap + T + Sm) * (C + F) > (1LL << 40))
    return false;
  const i64 rows = B * T, S = cap > 0 ? past + T : T;
  const bool cross = Sm > 0;
  // Minimum length of each operand; required ones are marked (an optional one is absent when empty).
  struct Need {
    i64 n;
    bool required;
  };
  Need need[COUNT] = {};
  need[X] = {rows * C, true};
  need[OUT] = {rows * C, true};
  need[N1W] = need[N1B] = need[N3W] = need[N3B] = {C, false};
  need[QW] = need[KW] = need[VW] = need[OW] = {C * C, true};
  need[QB] = need[KB] = need[VB] = need[OB] = need[PRB] = {C, false};
  need[K] = need[V] = {B * cap * C, cap > 0};
  need[N2W] = need[N2B] = need[CQB] = need[COB] = {C, false};
  need[CQW] = need[COW] = {C * C, cross};
  need[MK] = need[MV] = {B * Sm * C, cross};
  need[FCW] = need[PRW] = {F * C, true};
  need[FCB] = {F, false};
  need[MASK] = need[MEM_MASK] = {0, false};  // checked through their strides below
  const E* ptr[COUNT];
  for (int i = 0; i < COUNT; i++) {
    const bool present = a[i].len > 0;
    ptr[i] = nullptr;
    if (!present) {
      if (need[i].required && need[i].n > 0) return false;
      continue;
    }
    if (!all_type<E>({&a[i]})) return false;
    if (static_cast<i64>(a[i].len) < need[i].n) return false;
    ptr[i] = P<E>(a[i]);
  }
  // A mask's last element, offset + Σ (dim − 1)·stride over (B, H, T, S), must lie inside it.
  auto read_mask = [&](int slot, size_t m0, i64 keys, LayerMask& m) {
    m.p = ptr[slot];
    m.off = c.I(m0);
    const i64 dims[4] = {B, H, T, keys};
    i64 last = m.off;
    for (int d = 0; d < 4; d++) {
      m.st[d] = c.I(m0 + 1 + d);
      if (m.st[d] < 0) return false;
      last += (dims[d] - 1) * m.st[d];
    }
    return !m.p || (m.off >= 0 && last < static_cast<i64>(a[slot].len));
  };
  LayerP<E> p;
  if (!read_mask(MASK, L::maskOffset, S, p.mask) || !read_mask(MEM_MASK, L::memMaskOffset, cross ? Sm : 1, p.memMask))
    return false;
  if (!cross && p.memMask.p) return false;
  p.B = B, p.T = T, p.C = C, p.H = H, p.F = F, p.past = past, p.cap = cap, p.Sm = Sm;
  p.eps = c.D(L::eps);
  p.normFirst = c.B(L::normFirst);
  p.causal = c.B(L::causal);
  p.wT = c.B(L::wT);
  p.act = act;
  p.x = ptr[X];
  p.out = P<E>(a[OUT]);
  p.n1w = ptr[N1W], p.n1b = ptr[N1B], p.qW = ptr[QW], p.qB = ptr[QB], p.kW = ptr[KW], p.kB = ptr[KB];
  p.vW = ptr[VW], p.vB = ptr[VB], p.oW = ptr[OW], p.oB = ptr[OB];
  p.k = cap > 0 ? P<E>(a[K]) : nullptr;
  p.v = cap > 0 ? P<E>(a[V]) : nullptr;
  p.n2w = ptr[N2W], p.n2b = ptr[N2B], p.cqW = ptr[CQW], p.cqB = ptr[CQB], p.coW = ptr[COW], p.coB = ptr[COB];
  p.mk = ptr[MK], p.mv = ptr[MV];
  p.n3w = ptr[N3W], p.n3b = ptr[N3B], p.fcW = ptr[FCW], p.fcB = ptr[FCB], p.prW = ptr[PRW], p.prB = ptr[PRB];
  ks<E>().transformer_layer(p);
  return true;
}

napi_value TransformerLayer(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok) return nullptr;
  if (c.argc != layer::COUNT) {
    c.fail("qkv native: transformerLayer: expected 30 operands (null where absent)");
    return nullptr;
  }
  Arr a[layer::COUNT];
  for (size_t i = 0; i < layer::COUNT; i++) a[i] = c.opt_arr(i);
  if (!c.ok) return nullptr;
  const int t = elem_type(a[layer::X]);
  const bool ok = t == T_F32 ? run_layer<float>(c, a) : t == T_F64 ? run_layer<double>(c, a) : false;
  return boolean(env, ok);
}

// quantizedLinear(x, w, scales, bias, out): out (M, N) = x (M, K) · dequant(w)ᵀ + bias, float32 activations.
// w is an Int8Array (kind 0, with a Float32Array of N row scales) or a Uint16Array of bfloat16 (kind 1,
// scales null); bias may be null. meta: ml::quantizedLinear. Returns false on operands it cannot take.
napi_value QuantizedLinear(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok) return nullptr;
  using L = ml::quantizedLinear;
  Arr x = c.arr(0), w = c.arr(1), sc = c.opt_arr(2), bias = c.opt_arr(3), o = c.arr(4);
  if (!c.ok) return nullptr;
  const i64 M = c.I(L::M), N = c.I(L::N), K = c.I(L::K), kind = c.I(L::kind);
  if (M < 0 || N < 0 || K < 0 || M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || (kind != 0 && kind != 1))
    return boolean(env, false);
  const bool typesOk = x.t == napi_float32_array && o.t == napi_float32_array &&
                       (kind == 0 ? w.t == napi_int8_array && sc.len > 0 && sc.t == napi_float32_array
                                  : w.t == napi_uint16_array && sc.len == 0) &&
                       (bias.len == 0 || bias.t == napi_float32_array);
  if (!typesOk || static_cast<i64>(x.len) < M * K || static_cast<i64>(w.len) < N * K ||
      static_cast<i64>(o.len) < M * N || (kind == 0 && static_cast<i64>(sc.len) < N) ||
      (bias.len > 0 && static_cast<i64>(bias.len) < N))
    return boolean(env, false);
  QLinP p{static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), static_cast<int>(kind),
          P<float>(x), kind == 0 ? P<int8_t>(w) : nullptr, kind == 0 ? P<float>(sc) : nullptr,
          kind == 1 ? P<uint16_t>(w) : nullptr, bias.len > 0 ? P<float>(bias) : nullptr, P<float>(o)};
  g_kernels->qlinear_f32(p);
  return boolean(env, true);
}

#if !defined(QKV_WASM) && !defined(_WIN32)
// mapFile(fd, offset, length): an external ArrayBuffer over bytes [offset, offset + length) of the
// open file `fd` (offset a multiple of the page size), or null when the file cannot be mapped here
// (then the caller reads it instead). The mapping is MAP_PRIVATE and writable: writes into it (an
// optimizer updating a parameter in place) are copy-on-write pages of this process and never reach
// the file. It stays valid after `fd` is closed and is unmapped when the ArrayBuffer is collected.
// A file replaced by rename (qkv's atomic checkpoint writes: a new inode) leaves the mapping on the
// old one, which lives until unmapped; a file truncated in place under it would fault on access.
napi_value MapFile(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t fd = -1;
  int64_t offset = -1, length = -1;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[2], &length) != napi_ok) {
    napi_throw_type_error(env, nullptr, "mapFile expects (fd, offset, length) numbers");
    return nullptr;
  }
  napi_value nul;
  napi_get_null(env, &nul);
  const long page = sysconf(_SC_PAGESIZE);
  struct stat st;
  if (fd < 0 || offset < 0 || length <= 0 || page <= 0 || offset % page != 0 || fstat(fd, &st) != 0 ||
      !S_ISREG(st.st_mode) || offset > static_cast<int64_t>(st.st_size) ||
      length > static_cast<int64_t>(st.st_size) - offset)
    return nul;
  void* p = mmap(nullptr, static_cast<size_t>(length), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
                 static_cast<off_t>(offset));
  if (p == MAP_FAILED) return nul;
  napi_value ab;
  const napi_status s = napi_create_external_arraybuffer(
      env, p, static_cast<size_t>(length),
      [](napi_env, void* data, void* hint) { munmap(data, reinterpret_cast<size_t>(hint)); },
      reinterpret_cast<void*>(static_cast<size_t>(length)), &ab);
  if (s != napi_ok) {
    // Some embedders (a V8 sandbox) refuse external buffers: clear any pending error, read instead.
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
    }
    munmap(p, static_cast<size_t>(length));
    return nul;
  }
  return ab;
}
#endif

struct Fn {
  const char* name;
  napi_callback cb;
};

const Fn kFns[] = {
    {"setMeta", SetMeta},
    {"info", Info},
    {"opTable", OpTable},
    {"setNumThreads", SetNumThreads},
    {"setIsa", SetIsa},
    {"noop", Noop},
    {"gemm", Gemm},
    {"unary", Unary},
    {"unaryBackward", UnaryBackward},
    {"binary", Binary},
    {"compare", Compare},
    {"where", Where},
    {"copy", Copy},
    {"clamp", Clamp},
    {"reduce", Reduce},
    {"softmax", Softmax},
    {"softmaxBackward", SoftmaxBackward},
    {"layerNormForward", LayerNormForward},
    {"layerNormBackward", LayerNormBackward},
    {"crossEntropyForward", CrossEntropyForward},
    {"crossEntropyBackward", CrossEntropyBackward},
    {"indexSelect", IndexSelect},
    {"indexAdd", IndexAdd},
    {"gather", Gather},
    {"scatterAdd", ScatterAdd},
    {"attentionForward", AttentionForward},
    {"attentionBackward", AttentionBackward},
    {"transformerLayer", TransformerLayer},
    {"quantizedLinear", QuantizedLinear},
    {"adamStepMulti", AdamStepMulti},
    {"sumOfSquares", SumOfSquares},
    {"scaleInPlace", ScaleInPlace},
#if !defined(QKV_WASM) && !defined(_WIN32)
    {"mapFile", MapFile},
#endif
};

}  // namespace
}  // namespace qkv

#ifndef QKV_WASM
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
#endif  // QKV_WASM
