// A minimal stand-in for Node-API, so native/addon.cc (its argument checks and kernel calls) compiles
// unchanged for the wasm32 target. A napi_value is a descriptor in wasm memory: JavaScript writes one
// per argument (src/backends/wasm/addon.ts mirrors this layout), and results (booleans, numbers,
// strings, objects, arrays) are descriptors the module builds in an arena that the next call resets.
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" {

/** One value. Argument descriptors are written by JS with this exact layout (40 bytes). */
struct qkv_napi_value__ {
  int32_t kind;  // qkv_kind
  int32_t type;  // napi_typedarray_type of a typed array
  uint32_t ptr;  // typed array: data address; array: first element descriptor; string: bytes
  uint32_t len;  // typed array: elements; array: count; string: bytes
  double num;    // number or boolean
  // result trees (objects, arrays) built by the module
  const char* name;
  qkv_napi_value__* next;
  qkv_napi_value__* first;
  qkv_napi_value__* last;
};
static_assert(sizeof(qkv_napi_value__) == 40, "descriptor layout is shared with addon.ts");

enum qkv_kind {
  QKV_K_UNDEFINED = 0,
  QKV_K_NULL = 1,
  QKV_K_TYPEDARRAY = 2,
  QKV_K_ARRAY = 3,
  QKV_K_NUMBER = 4,
  QKV_K_STRING = 5,
  QKV_K_BOOLEAN = 6,
  QKV_K_OBJECT = 7,
};

typedef struct qkv_napi_env__* napi_env;
typedef qkv_napi_value__* napi_value;
typedef struct qkv_napi_cbinfo__* napi_callback_info;
typedef struct qkv_napi_ref__* napi_ref;
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

typedef enum { napi_ok, napi_invalid_arg, napi_object_expected, napi_string_expected, napi_number_expected,
               napi_array_expected = 8, napi_generic_failure = 9 } napi_status;
typedef enum {
  napi_int8_array,
  napi_uint8_array,
  napi_uint8_clamped_array,
  napi_int16_array,
  napi_uint16_array,
  napi_int32_array,
  napi_uint32_array,
  napi_float32_array,
  napi_float64_array,
  napi_bigint64_array,
  napi_biguint64_array,
} napi_typedarray_type;
typedef enum {
  napi_undefined,
  napi_null,
  napi_boolean,
  napi_number,
  napi_string,
  napi_symbol,
  napi_object,
  napi_function,
  napi_external,
  napi_bigint,
} napi_valuetype;

#define NAPI_AUTO_LENGTH SIZE_MAX

napi_status napi_get_cb_info(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv,
                             napi_value* this_arg, void** data);
napi_status napi_get_typedarray_info(napi_env env, napi_value v, napi_typedarray_type* type, size_t* length,
                                     void** data, napi_value* arraybuffer, size_t* byte_offset);
napi_status napi_is_typedarray(napi_env env, napi_value v, bool* result);
napi_status napi_is_array(napi_env env, napi_value v, bool* result);
napi_status napi_get_array_length(napi_env env, napi_value v, uint32_t* result);
napi_status napi_get_element(napi_env env, napi_value v, uint32_t i, napi_value* result);
napi_status napi_typeof(napi_env env, napi_value v, napi_valuetype* result);
napi_status napi_get_value_int32(napi_env env, napi_value v, int32_t* result);
napi_status napi_get_value_string_utf8(napi_env env, napi_value v, char* buf, size_t bufsize, size_t* result);
napi_status napi_throw_error(napi_env env, const char* code, const char* msg);
napi_status napi_throw_type_error(napi_env env, const char* code, const char* msg);
napi_status napi_is_exception_pending(napi_env env, bool* result);
napi_status napi_get_and_clear_last_exception(napi_env env, napi_value* result);
napi_status napi_get_undefined(napi_env env, napi_value* result);
napi_status napi_get_null(napi_env env, napi_value* result);
napi_status napi_get_boolean(napi_env env, bool v, napi_value* result);
napi_status napi_create_int32(napi_env env, int32_t v, napi_value* result);
napi_status napi_create_string_utf8(napi_env env, const char* s, size_t len, napi_value* result);
napi_status napi_create_object(napi_env env, napi_value* result);
napi_status napi_set_named_property(napi_env env, napi_value obj, const char* name, napi_value v);
napi_status napi_create_array_with_length(napi_env env, size_t n, napi_value* result);
napi_status napi_set_element(napi_env env, napi_value arr, uint32_t i, napi_value v);
napi_status napi_create_reference(napi_env env, napi_value v, uint32_t count, napi_ref* result);
napi_status napi_delete_reference(napi_env env, napi_ref ref);
}
