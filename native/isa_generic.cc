// Portable variants of the kernels for the target's baseline instruction set: 4-lane generic vectors
// (SSE2 on x86-64, NEON on arm64) with GCC/Clang, one lane with other compilers.
#include <utility>

#include "common.h"
namespace qkv {
namespace isa_generic {
#if defined(__GNUC__) || defined(__clang__)
#include "vec_generic.h"
constexpr int kGemmMR = 4;
constexpr int kGemmNV = 2;  // NR = 8
#else
#include "vec_scalar.h"
constexpr int kGemmMR = 4;
constexpr int kGemmNV = 4;  // NR = 4
#endif
constexpr int kGemmKC = 256;
constexpr int kGemmMC = 128;
#include "kernels.inc"
}  // namespace isa_generic
const Kernels* kernels_generic() { return &isa_generic::kTable; }
}  // namespace qkv
