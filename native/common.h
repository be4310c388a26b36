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

// One transformer layer over T new tokens, inference only (see TransformerLayerArgs in
// src/backend/fused.ts). Linear weights are (out, in); a null weight of a norm, or a null bias, is
// absent. Attention heads are C / H wide and scaled by 1/sqrt(C / H).
struct LayerMask {
  const void* p;  // additive, same dtype as x, broadcast over (B, H, T, S) through strides; or null
  i64 off;
  i64 st[4];
};
template <class E>
struct LayerP {
  i64 B, T, C, H, F;  // F: feed-forward width
  i64 past, cap;      // self-attention cache: past of cap rows per head filled; cap 0 = no cache
  i64 Sm;             // memory positions of the cross-attention; 0 = no cross-attention sublayer
  double eps;
  bool normFirst;  // pre-norm (GPT-2) or post-norm (BERT, torch.nn.Transformer's default)
  bool causal;     // self-attention: query t sees keys up to past + t
  bool wT;         // every Linear weight stored (in, out) row-major; packed q/k/v: one (C, 3C)
  UnaryOp act;     // applied between the two feed-forward projections
  const E* x;      // (B, T, C)
  E* out;          // (B, T, C); may equal x
  // self-attention sublayer and its norm
  const E *n1w, *n1b, *qW, *qB, *kW, *kB, *vW, *vB, *oW, *oB;
  LayerMask mask;
  E* k;  // (B, H, cap, C/H) caches, rows past … past + T − 1 written here; null with cap 0
  E* v;
  // cross-attention sublayer and its norm (used when Sm > 0)
  const E *n2w, *n2b, *cqW, *cqB, *coW, *coB;
  const E* mk;  // (B, H, Sm, C/H) memory keys and values, projected once per sequence
  const E* mv;
  LayerMask memMask;
  // feed-forward sublayer and its norm: fc (F, C), proj (C, F)
  const E *n3w, *n3b, *fcW, *fcB, *prW, *prB;
};

// Weight-only quantized linear, float32 activations (see kernels_quant.inc and
// FusedQuantizedLinear in src/backend/fused.ts): out (M, N) = x (M, K) · dequant(W)ᵀ + bias.
struct QLinP {
  int M, N, K;
  int kind;               // 0: int8 with a float scale per output row; 1: bfloat16
  const float* x;         // (M, K)
  const int8_t* w8;       // (N, K), kind 0
  const float* scales;    // (N), kind 0
  const uint16_t* w16;    // (N, K), kind 1
  const float* bias;      // (N) or null
  float* out;             // (M, N)
};

template <class F>
using FnPtr = F*;

// The kernel slots, declared once: X(name, signature). KernelSet is generated from this list, and
// kernel_set_complete() checks every slot the same list names (a static_assert in kernels.inc), so an
// unset slot is a compile error, not a null call.
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
  X(reduce, void(ReduceOp op, const E* x, i64 outer, i64 n, i64 inner, E* out))                          \
  /* the fused inference-only transformer layer (src/backend/fused.ts) */                                \
  X(transformer_layer, void(const LayerP<E>& p))

template <class E>
struct KernelSet {
#define QKV_SLOT(name, ...) FnPtr<__VA_ARGS__> name = nullptr;
  QKV_KERNEL_SLOTS(QKV_SLOT)
#undef QKV_SLOT
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
  void (*qlinear_f32)(const QLinP& p);  // float32 only, so outside the per-dtype slots
  // Builds this set's micro-kernel tables. select_kernels calls it on the choosing thread, so pool
  // threads never race to a function-local static's first use: wasi's libc++abi has no thread-safe
  // guard and aborts when two threads meet one mid-initialisation.
  void (*prepare)();
};

const Kernels* kernels_generic();
#if defined(__wasm__)
const Kernels* kernels_wasm();  // SIMD128, or relaxed SIMD when built with QKV_WASM_RELAXED
#endif
#if QKV_X86
const Kernels* kernels_avx2();
const Kernels* kernels_avx512();
#endif

}  // namespace qkv
