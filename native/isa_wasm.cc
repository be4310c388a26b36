// WebAssembly SIMD128 variants of the kernels (native/wasm/, built by scripts/build-wasm.mjs): the
// same kernels.inc as the x86 builds, over 4-lane vectors. Built twice: plain SIMD128, and with
// QKV_WASM_RELAXED for relaxed-SIMD fused multiply-add; the loader picks one at run time.
//
// Register budget: V8 maps v128 values to the 16 xmm registers on x86-64 (and 32 NEON registers on
// arm64). A 4×2 GEMM tile holds 8 accumulators + 2 B vectors + 1 broadcast A value, which leaves
// room for addresses without spills. Measured with bench/wasm-gemm.ts on the small GPT's shapes
// (V8 11.3, x86-64): 4×2 and 2×4 tie (about 15 GF/s, relaxed), 3×3, 4×3 and 6×2 are 5-30% slower.
#include <utility>

#include "common.h"
#if defined(__wasm__)
namespace qkv {
namespace isa_wasm {
#include "vec_wasm.h"
#ifndef QKV_WASM_MR
#define QKV_WASM_MR 4
#endif
#ifndef QKV_WASM_NV
#define QKV_WASM_NV 2
#endif
#ifndef QKV_WASM_KC
#define QKV_WASM_KC 256
#endif
constexpr int kGemmMR = QKV_WASM_MR;
constexpr int kGemmNV = QKV_WASM_NV;  // NR = 4·NV
constexpr int kGemmKC = QKV_WASM_KC;
constexpr int kGemmMC = 128;
#include "kernels.inc"
}  // namespace isa_wasm
const Kernels* kernels_wasm() { return &isa_wasm::kTable; }
}  // namespace qkv
#endif
