// Portable variants of the kernels: baseline instruction set of the target (SSE2 on x86-64, NEON on
// arm64 through auto-vectorisation).
#include <utility>

#include "common.h"
namespace qkv {
namespace isa_generic {
#include "vec_scalar.h"
constexpr int kGemmMR = 4;
constexpr int kGemmNV = 4;  // NR = 4 scalar columns
constexpr int kGemmKC = 256;
constexpr int kGemmMC = 128;
#include "kernels.inc"
}  // namespace isa_generic
const Kernels* kernels_generic() { return &isa_generic::kTable; }
}  // namespace qkv
