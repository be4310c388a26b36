// native/pool.h's interface over WebAssembly threads: the module's shared memory is instantiated once
// per worker (src/backends/wasm/threads.ts), and each worker sits in qkv_worker_loop, waiting on an
// atomic word with memory.atomic.wait32. pool_run publishes a job in the same (generation,
// remaining) word as native/pool.cc, wakes the workers with memory.atomic.notify, works on it from
// the calling thread (tid 0), then spins until every task is done: a browser's main thread may not
// block in wait32, and the caller has work to do anyway. Which thread runs a task never changes a
// result (see pool.h).
#include <atomic>
#include <cstdlib>

#include "pool.h"

namespace qkv {
namespace {

constexpr int kSlots = 4;
constexpr int kMaxThreads = 64;

struct Scratch {
  float* p[kSlots] = {nullptr, nullptr, nullptr, nullptr};
  size_t n[kSlots] = {0, 0, 0, 0};
};

std::atomic<uint64_t> g_state{0};  // generation << 32 | tasks still unclaimed
std::atomic<TaskFn> g_fn{nullptr};
std::atomic<void*> g_ctx{nullptr};
std::atomic<int> g_total{0};
std::atomic<int> g_limit{0};
std::atomic<int> g_done{0};
std::atomic<int32_t> g_wake{0};     // futex word: bumped by every job
std::atomic<int32_t> g_online{0};   // workers inside qkv_worker_loop
std::atomic<int32_t> g_stop{0};
std::atomic<int32_t> g_running{0};  // one job at a time
int g_requested = 1;                // threads the caller asked for (workers + caller)
int g_hw = 1;
int g_spin = 200000;  // polls before a worker sleeps

bool has_work(int tid) {
  const uint64_t s = g_state.load(std::memory_order_acquire);
  return static_cast<uint32_t>(s) != 0 && tid < g_limit.load(std::memory_order_acquire);
}

void work(int tid) {
  uint64_t s = g_state.load(std::memory_order_acquire);
  for (;;) {
    const uint32_t rem = static_cast<uint32_t>(s);
    if (rem == 0 || tid >= g_limit.load(std::memory_order_acquire)) return;
    if (g_state.compare_exchange_weak(s, s - 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      TaskFn f = g_fn.load(std::memory_order_relaxed);
      void* c = g_ctx.load(std::memory_order_relaxed);
      f(c, g_total.load(std::memory_order_relaxed) - static_cast<int>(rem), tid);
      g_done.fetch_add(1, std::memory_order_acq_rel);
      s = g_state.load(std::memory_order_acquire);
    }
  }
}

}  // namespace

int pool_threads() {
  const int online = g_online.load(std::memory_order_acquire);
  return g_requested < 1 + online ? g_requested : 1 + online;
}
int pool_hw_threads() { return g_hw; }
int pool_set_threads(int n) {
  if (n < 1) n = 1;
  if (n > kMaxThreads) n = kMaxThreads;
  g_requested = n;
  return pool_threads();
}

void pool_relax() {}

void pool_run(int ntasks, int max_threads, TaskFn f, void* c) {
  if (ntasks <= 0) return;
  const int nt = pool_threads();
  int32_t idle = 0;
  if (nt <= 1 || max_threads <= 1 || !g_running.compare_exchange_strong(idle, 1)) {
    for (int t = 0; t < ntasks; t++) f(c, t, 0);
    return;
  }
  g_fn.store(f, std::memory_order_relaxed);
  g_ctx.store(c, std::memory_order_relaxed);
  g_limit.store(max_threads < nt ? max_threads : nt, std::memory_order_relaxed);
  g_done.store(0, std::memory_order_relaxed);
  g_total.store(ntasks, std::memory_order_relaxed);
  const uint64_t gen = (g_state.load(std::memory_order_relaxed) >> 32) + 1;
  g_state.store((gen << 32) | static_cast<uint32_t>(ntasks), std::memory_order_seq_cst);
  g_wake.fetch_add(1, std::memory_order_seq_cst);
  __builtin_wasm_memory_atomic_notify(reinterpret_cast<int*>(&g_wake), static_cast<unsigned>(kMaxThreads));
  work(0);
  while (g_done.load(std::memory_order_acquire) < ntasks) {
  }
  g_running.store(0, std::memory_order_release);
}

float* pool_scratch(int slot, size_t floats) {
  static thread_local Scratch s;
  if (s.n[slot] < floats) {
    std::free(s.p[slot]);
    const size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64 + 64;
    s.p[slot] = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!s.p[slot]) __builtin_trap();  // out of memory: nothing sensible to return to a kernel
    s.n[slot] = floats;
  }
  return s.p[slot];
}

}  // namespace qkv

extern "C" {

/** A worker's whole life: waits for jobs until qkv_pool_stop(). tid in [1, 64). */
__attribute__((export_name("qkv_worker_loop"))) void qkv_worker_loop(int tid) {
  using namespace qkv;
  g_online.fetch_add(1, std::memory_order_seq_cst);
  __builtin_wasm_memory_atomic_notify(reinterpret_cast<int*>(&g_online), 64u);
  for (;;) {
    if (g_stop.load(std::memory_order_acquire)) break;
    const int32_t w = g_wake.load(std::memory_order_acquire);
    if (has_work(tid)) {
      work(tid);
      continue;
    }
    bool got = false;
    for (int i = 0; i < g_spin; i++) {
      if (has_work(tid) || g_wake.load(std::memory_order_relaxed) != w) {
        got = true;
        break;
      }
    }
    if (got) continue;
    __builtin_wasm_memory_atomic_wait32(reinterpret_cast<int*>(&g_wake), w, -1);
  }
  g_online.fetch_sub(1, std::memory_order_seq_cst);
  __builtin_wasm_memory_atomic_notify(reinterpret_cast<int*>(&g_online), 64u);
}

/** Sets the number of cores the host reports and how long idle workers poll before sleeping. */
__attribute__((export_name("qkv_pool_config"))) void qkv_pool_config(int hw, int spin) {
  qkv::g_hw = hw > 0 ? hw : 1;
  if (spin >= 0) qkv::g_spin = spin;
}

/** Workers currently inside qkv_worker_loop. */
__attribute__((export_name("qkv_pool_online"))) int qkv_pool_online() { return qkv::g_online.load(); }

/** Address of the online counter (the loader waits on it while workers start). */
__attribute__((export_name("qkv_pool_online_addr"))) int qkv_pool_online_addr() {
  return static_cast<int>(reinterpret_cast<uintptr_t>(&qkv::g_online));
}

/** Lets workers started from now on stay in their loop (after a qkv_pool_stop). */
__attribute__((export_name("qkv_pool_resume"))) void qkv_pool_resume() {
  qkv::g_stop.store(0, std::memory_order_seq_cst);
}

/** Asks every worker to leave its loop (they then return to JS and can be terminated). */
__attribute__((export_name("qkv_pool_stop"))) void qkv_pool_stop() {
  qkv::g_stop.store(1, std::memory_order_seq_cst);
  qkv::g_wake.fetch_add(1, std::memory_order_seq_cst);
  __builtin_wasm_memory_atomic_notify(reinterpret_cast<int*>(&qkv::g_wake), 64u);
}
}
