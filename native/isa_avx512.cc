// AVX-512 variants of the kernels (selected at load time when the CPU supports them).
#include "common.h"
#if QKV_X86
#include <utility>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi2"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi2")
#endif
namespace qkv {
namespace isa_avx512 {
#include "vec_avx512.h"
#ifndef QKV_AVX512_MR
#define QKV_AVX512_MR 8
#endif
#ifndef QKV_AVX512_KC
#define QKV_AVX512_KC 512
#endif
constexpr int kGemmMR = QKV_AVX512_MR;
constexpr int kGemmNV = 2;  // NR = 32
constexpr int kGemmKC = QKV_AVX512_KC;
#ifndef QKV_AVX512_MC
#define QKV_AVX512_MC 192
#endif
constexpr int kGemmMC = QKV_AVX512_MC;
#include "kernels.inc"
}  // namespace isa_avx512
const Kernels* kernels_avx512() { return &isa_avx512::kTable; }
}  // namespace qkv
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
