// AVX2 + FMA variants of the kernels (selected at load time when the CPU supports them).
#include "common.h"
#if QKV_X86
#include <utility>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi2")
#endif
namespace qkv {
namespace isa_avx2 {
#include "vec_avx2.h"
#ifndef QKV_AVX2_MR
#define QKV_AVX2_MR 6
#endif
#ifndef QKV_AVX2_KC
#define QKV_AVX2_KC 512
#endif
constexpr int kGemmMR = QKV_AVX2_MR;
constexpr int kGemmNV = 2;  // NR = 16
constexpr int kGemmKC = QKV_AVX2_KC;
constexpr int kGemmMC = 192;
#include "kernels.inc"
}  // namespace isa_avx2
const Kernels* kernels_avx2() { return &isa_avx2::kTable; }
}  // namespace qkv
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
