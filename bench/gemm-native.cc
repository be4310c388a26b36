// Per-shape GEMM microbenchmark of the native kernels, without Node (for tuning kernels_gemm.inc and
// pool.cc). Build and run from the repository root:
//   g++ -O3 -std=c++17 -fno-math-errno -fno-trapping-math -ffp-contract=off -Wno-psabi -pthread -Inative \
//       bench/gemm-native.cc native/isa_avx512.cc native/pool.cc native/generic.cc -o /tmp/gemm-native
//   /tmp/gemm-native THREADS [TRIALS] [GAP_US]
// Prints GFLOP/s per shape (best trial). With 1 thread and no gap it times the thread's CPU time, so
// other processes on a shared machine disturb it less (WALL=1 forces wall time). GAP_US busy-waits
// that long before each call, as the single-threaded work between a training step's GEMMs does,
// so idle pool workers must be woken (or still be spinning). Environment: ONLY=i runs shape i;
// CHECK=1 compares with a float64 product and checks that 1 and 2 threads give identical bits;
// STEP=1 times the GEMMs of one small-GPT training step on distinct (cache-cold) operands, with
// FRESH=m / FRESH=c giving each call a freshly mmap'ed / calloc'ed output.
#include "common.h"
#include <chrono>
#include <cstdio>
#include <vector>
#include <ctime>
#include <sys/mman.h>
using namespace qkv;
static bool g_cpu = false;
static double now() {
  if (g_cpu) { timespec ts; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); return ts.tv_sec + ts.tv_nsec*1e-9; } return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
struct S { int M, N, K; bool tA, tB; };
int main(int argc, char** argv) {
  int nt = argc > 1 ? atoi(argv[1]) : 1;
  int trials = argc > 2 ? atoi(argv[2]) : 15;
  double gapus = argc > 3 ? atof(argv[3]) : 0;  // idle gap between calls (µs) to emulate pool sleeping
  pool_set_threads(nt);
  g_cpu = nt == 1 && gapus == 0 && !getenv("WALL");
  const Kernels* k = kernels_avx512();
  std::vector<S> shapes = {
    {768,384,128,0,0},{128,384,768,1,0},{768,128,384,0,1},
    {768,128,128,0,0},{128,128,768,1,0},{768,128,128,0,1},
    {768,512,128,0,0},{128,512,768,1,0},{768,128,512,0,1},
    {768,128,512,0,0},{512,128,768,1,0},{768,512,128,0,1},
    {768,65,128,0,0},{128,65,768,1,0},{768,128,65,0,1},
    {512,512,512,0,0},{1024,1024,1024,0,0},{1024,3072,768,0,0},{1024,768,3072,0,0},{768,3072,1024,1,0},{1024,768,3072,0,1},{768,256,2048,0,0},{768,256,4096,0,0},{768,256,4096,0,1},
  };
  if (getenv("STEP")) {
    // The small GPT's GEMMs of one training step (per layer: fwd qkv, proj, fc, fc2 and their two
    // gradient forms; plus the lm head), each followed by `gapus` of single-threaded work.
    std::vector<S> seq;
    for (int l = 0; l < 4; l++) {
      seq.push_back({768,384,128,0,1}); seq.push_back({768,128,128,0,1}); seq.push_back({768,512,128,0,1}); seq.push_back({768,128,512,0,1});
    }
    seq.push_back({768,65,128,0,1});
    seq.push_back({768,128,65,0,0}); seq.push_back({65,128,768,1,0});
    for (int l = 0; l < 4; l++) {
      seq.push_back({768,512,128,0,0}); seq.push_back({128,512,768,1,0});
      seq.push_back({768,128,512,0,0}); seq.push_back({512,128,768,1,0});
      seq.push_back({768,128,128,0,0}); seq.push_back({128,128,768,1,0});
      seq.push_back({768,128,384,0,0}); seq.push_back({384,128,768,1,0});
    }
    std::vector<std::vector<float>> A, B, C; std::vector<GemmP<float>> ps;
    double flop = 0;
    for (auto& s : seq) {
      A.emplace_back((size_t)s.M*s.K, 0.01f); B.emplace_back((size_t)s.K*s.N, 0.02f); C.emplace_back((size_t)s.M*s.N);
      ps.push_back(GemmP<float>{1, s.M, s.N, s.K, A.back().data(), 0, s.tA, B.back().data(), 0, s.tB, C.back().data(), false, nullptr});
      flop += 2.0*s.M*s.N*s.K;
    }
    double best = 1e30;
    for (int t = 0; t < trials; t++) {
      double tot = 0;
      for (auto& p : ps) {
        if (gapus > 0) { double t0 = now(); while (now() - t0 < gapus*1e-6) {} }
        float* fresh = nullptr;
        GemmP<float> q = p;
        const char* fr = getenv("FRESH");
        size_t bytes = (size_t)q.M * q.N * 4;
        if (fr && *fr == 'm') { fresh = (float*)mmap(nullptr, bytes, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0); q.out = fresh; }
        if (fr && *fr == 'c') { fresh = (float*)calloc(bytes, 1); q.out = fresh; }
        double t0 = now(); k->f32.gemm(q); tot += now() - t0;
        if (fr && *fr == 'm') munmap(fresh, bytes);
        if (fr && *fr == 'c') free(fresh);
      }
      best = std::min(best, tot);
    }
    printf("step gemms: %.2f ms  %.1f GF/s (gap %g us)\n", best*1e3, flop/best/1e9, gapus);
    return 0;
  }
  const char* only = getenv("ONLY");
  for (size_t si = 0; si < shapes.size(); si++) {
    if (only && atoi(only) != (int)si) continue;
    S s = shapes[si];
    std::vector<float> a((size_t)s.M*s.K), b((size_t)s.K*s.N), c((size_t)s.M*s.N);
    for (size_t i = 0; i < a.size(); i++) a[i] = (float)((i*7919)%1000)/1000.f - 0.5f;
    for (size_t i = 0; i < b.size(); i++) b[i] = (float)((i*104729)%1000)/1000.f - 0.5f;
    GemmP<float> p{1, s.M, s.N, s.K, a.data(), 0, s.tA, b.data(), 0, s.tB, c.data(), false, nullptr};
    double flop = 2.0*s.M*s.N*s.K;
    if (getenv("CHECK")) {
      std::vector<float> c1(c.size()), c2(c.size());
      pool_set_threads(1); GemmP<float> q = p; q.out = c1.data(); k->f32.gemm(q);
      pool_set_threads(2); q.out = c2.data(); k->f32.gemm(q);
      pool_set_threads(nt);
      double maxerr = 0;
      for (int i = 0; i < s.M; i += 7) for (int j = 0; j < s.N; j++) {
        double r = 0; for (int kk = 0; kk < s.K; kk++) r += (double)(s.tA ? a[(size_t)kk*s.M+i] : a[(size_t)i*s.K+kk]) * (double)(s.tB ? b[(size_t)j*s.K+kk] : b[(size_t)kk*s.N+j]);
        maxerr = std::max(maxerr, std::abs(r - c1[(size_t)i*s.N+j]));
      }
      printf("check %zu: maxerr %.3g bitwise-equal-1v2 %d\n", si, maxerr, (int)(memcmp(c1.data(), c2.data(), c.size()*4) == 0));
      continue;
    }
    for (int i = 0; i < 3; i++) k->f32.gemm(p);
    int reps = std::max(1, (int)(0.02 / (flop / 100e9)));
    if (gapus > 0) reps = std::max(1, reps / 4);
    double best = 1e30;
    for (int t = 0; t < trials; t++) {
      double tot = 0;
      for (int r = 0; r < reps; r++) {
        if (gapus > 0) { double t0 = now(); while (now() - t0 < gapus*1e-6) {} }
        double t0 = now();
        k->f32.gemm(p);
        tot += now() - t0;
      }
      best = std::min(best, tot / reps);
    }
    printf("%2zu %4d %4d %4d %s  %7.1f GF/s  %7.1f us\n", si, s.M, s.N, s.K, s.tA ? "TN" : s.tB ? "NT" : "NN",
           flop / best / 1e9, best*1e6);
  }
}
