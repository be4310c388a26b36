// Shared declarations of the qkv native kernels. ISA-specific implementations live in
// kernels.inc, which isa_*.cc include once per instruction set inside a target pragma.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QKV_X86 1
#include <immintrin.h>
#else
#define QKV_X86 0
#endif

#include "gen/qkv_ops.h"  // op enums generated from src/backend/op-table.ts
#include "pool.h"

namespace qkv {

using i64 = int64_t;

template <class E>
struct GemmP {
  int batch, M, N, K;
  const E* a;
  i64 aBatchStride;
  bool transA;
  const E* b;
  i64 bBatchStride;
  bool transB;
  E* out;
  bool accumulate;
  const E* bias;  // may be null
  int activation = -1;  // -1 or a UnaryOp code (checked by the addon): epilogue out = f(z) once a tile is final
  E* preact = nullptr;  // with an activation, may receive z
};

/**
 * A broadcast/strided element-wise problem over up to 4 operands, dimensions coalesced (innermost
 * last, nd >= 1). Operand offsets are applied to the data pointers before the kernels see them.
 */
constexpr int kMaxDims = 8;
struct NdIter {
  int nd;
  i64 shape[kMaxDims];
  i64 st[4][kMaxDims];  // element strides per operand
};

/** Builds an NdIter from a shape and per-operand strides, dropping unit dims and merging contiguous ones. */
bool nd_coalesce(int nd, const i64* shape, int nops, const i64* const* strides, NdIter& it);

// Type-independent kernels (generic.cc). Element types: 0 float32, 1 float64, 2 int32, 3 uint8.
enum ElemType { T_F32 = 0, T_F64 = 1, T_I32 = 2, T_U8 = 3 };
void copy_nd(const NdIter& it, const void* src, int st, void* dst, int dt);
void compare_nd(CompareOp op, const NdIter& it, const void* a, const void* b, int t, uint8_t* out);
void where_nd(const NdIter& it, const uint8_t* cond, const void* a, const void* b, int t, void* out);
void clamp_any(const void* x, void* out, int t, i64 n, double lo, double hi);
void index_select(const void* x, size_t esize, i64 outer, i64 n, i64 inner, const int32_t* index, i64 m, void* out);
void gather_any(const void* x, size_t esize, i64 outer, i64 n, i64 inner, const int32_t* index, i64 m, void* out);
template <class E>
void index_add(const E* gy, i64 outer, i64 n, i64 inner, const int32_t* index, i64 m, E* gx);
template <class E>
void scatter_add(const E* gy, i64 outer, i64 n, i64 inner, const int32_t* index, i64 m, E* gx);

struct AdamOpts {
  double lr, beta1, beta2, eps, weightDecay;
  double step;
  bool decoupled;
};

/** Where row t of head (b, h) of an attention operand starts: off + b·sb + h·sh + t·st (last dim contiguous). */
struct AttnLayout {
  i64 off, sb, sh, st;
};

struct AttnP {
  int B, H, T, S, D, Dv;
  AttnLayout lay[4];  // q, k, v, out (the gradients share their operand's layout; lse is contiguous (B, H, T))
  double scale;
  bool causal;
  const void* mask;  // same dtype as q, or null
  i64 maskOffset;
  i64 ms[4];  // mask strides over (B, H, T, S)
};

// One GPT block over T new tokens with a KV cache (see DecodeBlockArgs in src/backend/backend.ts).
template <class E>
struct DecodeP {
  i64 B, T, C, H, past, cap;
  double eps;
  const E* x;
  const E *ln1w, *ln1b, *attnW, *attnB, *projW, *projB, *ln2w, *ln2b, *fcW, *fcB, *mlpW, *mlpB;  // may be null: w/b of LNs, biases
  E* k;  // (B, H, cap, C/H)
  E* v;
  E* out;  // (B, T, C); may equal x
};

template <class F>
using FnPtr = F*;

// The kernel slots, declared once: X(name, signature). KernelSet is generated from this list, and
// kernel_set_complete() checks every slot the same list names (a static_assert in kernels.inc), so an
// unset slot is a compile error, not a null call. decode_block is the one optional slot (null: the
// caller falls back to the composed block).
#define QKV_KERNEL_SLOTS(X)                                                                                 \
  X(gemm, void(const GemmP<E>&))                                                                          \
  X(unary, void(UnaryOp op, const E* x, E* y, i64 n))                                                     \
  X(unary_bwd, void(UnaryOp op, const E* x, const E* y, const E* gy, E* gx, i64 n))                        \
  X(binary, void(BinaryOp op, const NdIter& it, const E* a, const E* b, E* out))                           \
  X(softmax_fwd, void(const E* x, i64 rows, i64 n, E* out, bool log))                                      \
  X(softmax_bwd, void(const E* y, const E* gy, i64 rows, i64 n, E* gx, bool log))                          \
  X(layernorm_fwd,                                                                                        \
    void(const E* x, const E* w, const E* b, i64 rows, i64 n, double eps, E* out, E* mean, E* rstd))       \
  X(layernorm_bwd, void(const E* x, const E* w, const E* mean, const E* rstd, const E* gy, i64 rows, i64 n, \
                        E* gx, E* gw, E* gb))                                                             \
  X(xent_fwd, void(const E* logits, const int32_t* target, i64 rows, i64 C, int ignore, double smoothing,    \
                   E* loss, E* lse))                                                                      \
  X(xent_bwd, void(const E* logits, const int32_t* target, const E* lse, const E* gloss, i64 rows, i64 C,   \
                   int ignore, double smoothing, E* glogits))                                             \
  X(attn_fwd, void(const AttnP& p, const E* q, const E* k, const E* v, E* out, E* lse))                    \
  X(attn_bwd, void(const AttnP& p, const E* q, const E* k, const E* v, const E* out, const E* lse,          \
                   const E* gout, E* gq, E* gk, E* gv))                                                   \
  /* multi-tensor forms over `count` tensors of ns[i] elements (vmax may be null) */                      \
  X(adam_multi, void(E* const* p, const E* const* g, E* const* m, E* const* v, E* const* vmax,             \
                     const i64* ns, int count, const AdamOpts& o))                                        \
  X(sumsq, void(const E* const* xs, const i64* ns, int count, double* out))                                \
  X(scale, void(E* const* xs, const i64* ns, int count, double s))                                         \
  X(reduce, void(ReduceOp op, const E* x, i64 outer, i64 n, i64 inner, E* out))

template <class E>
struct KernelSet {
#define QKV_SLOT(name, ...) FnPtr<__VA_ARGS__> name = nullptr;
  QKV_KERNEL_SLOTS(QKV_SLOT)
#undef QKV_SLOT
  void (*decode_block)(const DecodeP<E>& p) = nullptr;  // optional: null = no native version
};

/** Whether every required slot of k is set (usable in a static_assert). */
template <class E>
constexpr bool kernel_set_complete(const KernelSet<E>& k) {
#define QKV_SLOT(name, ...) &&k.name != nullptr
  return true QKV_KERNEL_SLOTS(QKV_SLOT);
#undef QKV_SLOT
}

struct Kernels {
  const char* isa;
  KernelSet<float> f32;
  KernelSet<double> f64;
};

const Kernels* kernels_generic();
#if QKV_X86
const Kernels* kernels_avx2();
const Kernels* kernels_avx512();
#endif

}  // namespace qkv
