// The wasm module's C ABI: native/addon.cc's entry points, compiled against napi_shim.h, reached
// through one export (qkv_call) that JavaScript calls with a function index and its argument
// descriptors (src/backends/wasm/addon.ts). Results and exceptions come back as descriptors too.
#define QKV_WASM 1
#include "napi_shim.h"

#include "../addon.cc"

namespace {

using Desc = qkv_napi_value__;

// Results of the current call (booleans and numbers are most of them); reset by every qkv_call.
constexpr int kArena = 1024;
Desc g_arena[kArena];
int g_used = 0;
Desc g_undefined{QKV_K_UNDEFINED, 0, 0, 0, 0.0, nullptr, nullptr, nullptr, nullptr};
Desc g_null{QKV_K_NULL, 0, 0, 0, 0.0, nullptr, nullptr, nullptr, nullptr};
Desc g_true{QKV_K_BOOLEAN, 0, 0, 0, 1.0, nullptr, nullptr, nullptr, nullptr};
Desc g_false{QKV_K_BOOLEAN, 0, 0, 0, 0.0, nullptr, nullptr, nullptr, nullptr};

// The thrown error of the current call: a message, and whether it is a TypeError.
char g_error[512];
int32_t g_error_kind = 0;  // 0 none, 1 Error, 2 TypeError

struct CbInfo {
  size_t argc;
  Desc* argv;
};
qkv::EnvData g_env_data;

Desc* fresh(int kind) {
  if (g_used >= kArena) return nullptr;
  Desc* d = &g_arena[g_used++];
  *d = Desc{kind, 0, 0, 0, 0.0, nullptr, nullptr, nullptr, nullptr};
  return d;
}

napi_status set(napi_value* out, Desc* d) {
  if (!d) return napi_generic_failure;
  *out = d;
  return napi_ok;
}

void throw_msg(int kind, const char* msg) {
  if (g_error_kind) return;
  g_error_kind = kind;
  size_t i = 0;
  for (; msg && msg[i] && i + 1 < sizeof g_error; i++) g_error[i] = msg[i];
  g_error[i] = 0;
}

void append(Desc* parent, Desc* child, const char* name) {
  // children are linked in insertion order; an element set twice keeps both (never done by addon.cc)
  Desc* c = fresh(child->kind);
  if (!c) return;
  *c = *child;
  c->name = name;
  c->next = nullptr;
  if (parent->last)
    parent->last->next = c;
  else
    parent->first = c;
  parent->last = c;
}

}  // namespace

extern "C" {

napi_status napi_get_cb_info(napi_env, napi_callback_info info, size_t* argc, napi_value* argv, napi_value* this_arg,
                             void** data) {
  const CbInfo* ci = reinterpret_cast<const CbInfo*>(info);
  if (argc) {
    const size_t room = *argc;
    for (size_t i = 0; i < room; i++) argv[i] = i < ci->argc ? &ci->argv[i] : &g_undefined;
    *argc = ci->argc;
  }
  if (this_arg) *this_arg = &g_undefined;
  if (data) *data = &g_env_data;
  return napi_ok;
}
napi_status napi_get_typedarray_info(napi_env, napi_value v, napi_typedarray_type* type, size_t* length, void** data,
                                     napi_value* arraybuffer, size_t* byte_offset) {
  if (!v || v->kind != QKV_K_TYPEDARRAY) return napi_invalid_arg;
  if (type) *type = static_cast<napi_typedarray_type>(v->type);
  if (length) *length = v->len;
  if (data) *data = reinterpret_cast<void*>(static_cast<uintptr_t>(v->ptr));
  if (arraybuffer) *arraybuffer = &g_undefined;
  if (byte_offset) *byte_offset = 0;
  return napi_ok;
}
napi_status napi_is_typedarray(napi_env, napi_value v, bool* r) {
  *r = v && v->kind == QKV_K_TYPEDARRAY;
  return napi_ok;
}
napi_status napi_is_array(napi_env, napi_value v, bool* r) {
  *r = v && v->kind == QKV_K_ARRAY;
  return napi_ok;
}
napi_status napi_get_array_length(napi_env, napi_value v, uint32_t* r) {
  if (!v || v->kind != QKV_K_ARRAY) return napi_array_expected;
  *r = v->len;
  return napi_ok;
}
napi_status napi_get_element(napi_env, napi_value v, uint32_t i, napi_value* r) {
  if (!v || v->kind != QKV_K_ARRAY || i >= v->len) return napi_invalid_arg;
  *r = reinterpret_cast<Desc*>(static_cast<uintptr_t>(v->ptr)) + i;
  return napi_ok;
}
napi_status napi_typeof(napi_env, napi_value v, napi_valuetype* r) {
  switch (v ? v->kind : QKV_K_UNDEFINED) {
    case QKV_K_UNDEFINED: *r = napi_undefined; break;
    case QKV_K_NULL: *r = napi_null; break;
    case QKV_K_NUMBER: *r = napi_number; break;
    case QKV_K_STRING: *r = napi_string; break;
    case QKV_K_BOOLEAN: *r = napi_boolean; break;
    default: *r = napi_object; break;
  }
  return napi_ok;
}
napi_status napi_get_value_int32(napi_env, napi_value v, int32_t* r) {
  if (!v || v->kind != QKV_K_NUMBER) return napi_number_expected;
  const double d = v->num;
  *r = d == d && d > -2147483649.0 && d < 2147483648.0 ? static_cast<int32_t>(d) : 0;
  return napi_ok;
}
napi_status napi_get_value_string_utf8(napi_env, napi_value v, char* buf, size_t size, size_t* r) {
  if (!v || v->kind != QKV_K_STRING) return napi_string_expected;
  const char* s = reinterpret_cast<const char*>(static_cast<uintptr_t>(v->ptr));
  size_t n = v->len;
  if (buf && size > 0) {
    if (n > size - 1) n = size - 1;
    for (size_t i = 0; i < n; i++) buf[i] = s[i];
    buf[n] = 0;
  }
  if (r) *r = n;
  return napi_ok;
}
napi_status napi_throw_error(napi_env, const char*, const char* msg) {
  throw_msg(1, msg);
  return napi_ok;
}
napi_status napi_throw_type_error(napi_env, const char*, const char* msg) {
  throw_msg(2, msg);
  return napi_ok;
}
napi_status napi_is_exception_pending(napi_env, bool* r) {
  *r = g_error_kind != 0;
  return napi_ok;
}
napi_status napi_get_and_clear_last_exception(napi_env, napi_value* r) {
  g_error_kind = 0;
  *r = &g_undefined;
  return napi_ok;
}
napi_status napi_get_undefined(napi_env, napi_value* r) { return set(r, &g_undefined); }
napi_status napi_get_null(napi_env, napi_value* r) { return set(r, &g_null); }
napi_status napi_get_boolean(napi_env, bool v, napi_value* r) { return set(r, v ? &g_true : &g_false); }
napi_status napi_create_int32(napi_env, int32_t v, napi_value* r) {
  Desc* d = fresh(QKV_K_NUMBER);
  if (d) d->num = v;
  return set(r, d);
}
napi_status napi_create_string_utf8(napi_env, const char* s, size_t len, napi_value* r) {
  Desc* d = fresh(QKV_K_STRING);
  if (d) {
    if (len == NAPI_AUTO_LENGTH) len = std::strlen(s);
    d->ptr = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(s));
    d->len = static_cast<uint32_t>(len);
  }
  return set(r, d);
}
napi_status napi_create_object(napi_env, napi_value* r) { return set(r, fresh(QKV_K_OBJECT)); }
napi_status napi_set_named_property(napi_env, napi_value obj, const char* name, napi_value v) {
  if (!obj || obj->kind != QKV_K_OBJECT || !v) return napi_object_expected;
  append(obj, v, name);
  return napi_ok;
}
napi_status napi_create_array_with_length(napi_env, size_t, napi_value* r) { return set(r, fresh(QKV_K_ARRAY)); }
napi_status napi_set_element(napi_env, napi_value arr, uint32_t, napi_value v) {
  if (!arr || arr->kind != QKV_K_ARRAY || !v) return napi_array_expected;
  append(arr, v, nullptr);
  return napi_ok;
}
napi_status napi_create_reference(napi_env, napi_value, uint32_t, napi_ref* r) {
  *r = reinterpret_cast<napi_ref>(&g_env_data);
  return napi_ok;
}
napi_status napi_delete_reference(napi_env, napi_ref) { return napi_ok; }

/** Calls entry point `fn` (an index into the list qkv_fn_name enumerates) with argc descriptors. */
__attribute__((export_name("qkv_call"))) Desc* qkv_call(int fn, int argc, Desc* argv) {
  using namespace qkv;
  g_used = 0;
  g_error_kind = 0;
  constexpr int n = static_cast<int>(sizeof(kFns) / sizeof(kFns[0]));
  if (fn < 0 || fn >= n) {
    throw_msg(1, "qkv wasm: unknown entry point");
    return &g_undefined;
  }
  CbInfo ci{static_cast<size_t>(argc), argv};
  napi_value r = kFns[fn].cb(nullptr, reinterpret_cast<napi_callback_info>(&ci));
  return r ? r : &g_undefined;
}

/** Name of entry point i (a NUL-terminated string), or 0 past the end. */
__attribute__((export_name("qkv_fn_name"))) const char* qkv_fn_name(int i) {
  using namespace qkv;
  constexpr int n = static_cast<int>(sizeof(kFns) / sizeof(kFns[0]));
  return i >= 0 && i < n ? kFns[i].name : nullptr;
}

/** Where the current error message (NUL-terminated) and its kind (0 none, 1 Error, 2 TypeError) live. */
__attribute__((export_name("qkv_error_addr"))) char* qkv_error_addr() { return g_error; }
__attribute__((export_name("qkv_error_kind_addr"))) int32_t* qkv_error_kind_addr() { return &g_error_kind; }
/** The constant results true / false / undefined, so JS can compare pointers on the hot path. */
__attribute__((export_name("qkv_consts"))) Desc* qkv_consts(int i) {
  return i == 0 ? &g_false : i == 1 ? &g_true : &g_undefined;
}

/** Selects the kernels once at start (QKV_NATIVE_ISA has no meaning here). */
__attribute__((export_name("qkv_init"))) void qkv_init() {
  if (!qkv::g_kernels) qkv::g_kernels = qkv::select_kernels(nullptr);
}
}
