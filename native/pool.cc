#include "pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>
#if defined(_WIN32)
#include <malloc.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define QKV_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define QKV_PAUSE() __asm__ __volatile__("yield")
#else
#define QKV_PAUSE() ((void)0)
#endif

#if defined(__linux__)
#include <sched.h>
#endif

namespace qkv {
namespace {

constexpr int kSlots = 4;

void* aligned_alloc64(size_t bytes) {
#if defined(_WIN32)
  return _aligned_malloc(bytes, 64);
#else
  return std::aligned_alloc(64, bytes);
#endif
}
void aligned_free(void* p) {
#if defined(_WIN32)
  _aligned_free(p);
#else
  std::free(p);
#endif
}

struct Scratch {
  float* p[kSlots] = {nullptr, nullptr, nullptr, nullptr};
  size_t n[kSlots] = {0, 0, 0, 0};
  ~Scratch() {
    for (float* q : p) aligned_free(q);
  }
};

int detect_hw() {
  int n = 0;
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) n = CPU_COUNT(&set);
#endif
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  return n > 0 ? n : 1;
}

// The pool is heap-allocated and never destroyed: worker threads may still be parked when the
// process exits, and destroying joinable std::thread objects during static destruction aborts.
struct Pool {
  int hw = detect_hw();
  int nthreads = 1;  // workers + caller
  int spin_us = 2000;  // busy-wait (pause, then yield) before a worker sleeps
  std::vector<std::thread> workers;

  // Job word: generation in the high 32 bits, tasks still unclaimed in the low 32 bits.
  std::atomic<uint64_t> state{0};
  std::atomic<TaskFn> fn{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<int> total{0};  // tasks of the current job
  std::atomic<int> limit{0};  // threads allowed on the current job (caller = tid 0)
  std::atomic<int> done{0};
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  std::mutex m;
  std::condition_variable cv;
  std::mutex run_mutex;  // one job at a time (several JS threads may share the addon)

  Pool() {
    int n = hw;
    if (const char* e = std::getenv("QKV_NUM_THREADS")) {
      int v = std::atoi(e);
      if (v > 0) n = v;
    }
    if (const char* e = std::getenv("QKV_POOL_SPIN_US")) {
      int v = std::atoi(e);
      if (v >= 0) spin_us = v;
    }
    resize(n);
  }

  bool has_work(int tid) const {
    uint64_t s = state.load(std::memory_order_acquire);
    return static_cast<uint32_t>(s) != 0 && tid < limit.load(std::memory_order_acquire);
  }

  void work(int tid) {
    uint64_t s = state.load(std::memory_order_acquire);
    for (;;) {
      uint32_t rem = static_cast<uint32_t>(s);
      if (rem == 0) return;
      if (tid >= limit.load(std::memory_order_acquire)) return;
      if (state.compare_exchange_weak(s, s - 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        TaskFn f = fn.load(std::memory_order_relaxed);
        void* c = ctx.load(std::memory_order_relaxed);
        f(c, total.load(std::memory_order_relaxed) - static_cast<int>(rem), tid);
        done.fetch_add(1, std::memory_order_acq_rel);
        s = state.load(std::memory_order_acquire);
      }
    }
  }

  void worker_main(int tid) {
    for (;;) {
      // Spin with pauses for up to 50 µs, then keep polling but yield the core between polls (other
      // threads of this process, e.g. V8's GC helpers, may want it) until spin_us, then park.
      auto t0 = std::chrono::steady_clock::now();
      const auto pause_for = std::chrono::microseconds(std::min(spin_us, 50));
      const auto spin_for = std::chrono::microseconds(spin_us);
      bool got = false, yielding = false;
      for (int i = 0;; i++) {
        if (stop.load(std::memory_order_relaxed)) return;
        if (has_work(tid)) {
          got = true;
          break;
        }
        if (yielding) {
          std::this_thread::yield();
        } else {
          QKV_PAUSE();
        }
        if ((i & 63) == 63 || yielding) {
          const auto dt = std::chrono::steady_clock::now() - t0;
          if (dt > spin_for) break;
          yielding = dt > pause_for;
        }
      }
      if (!got) {
        std::unique_lock<std::mutex> lk(m);
        sleepers.fetch_add(1, std::memory_order_seq_cst);
        cv.wait(lk, [&] { return stop.load(std::memory_order_seq_cst) || has_work(tid); });
        sleepers.fetch_sub(1, std::memory_order_seq_cst);
        if (stop.load()) return;
      }
      work(tid);
    }
  }

  void resize(int n) {
    if (n < 1) n = 1;
    if (n > hw) n = hw;
    if (n == nthreads && static_cast<int>(workers.size()) == n - 1) return;
    {
      std::lock_guard<std::mutex> lk(m);
      stop.store(true, std::memory_order_seq_cst);
    }
    cv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    stop.store(false, std::memory_order_seq_cst);
    nthreads = n;
    for (int i = 1; i < n; i++) workers.emplace_back([this, i] { worker_main(i); });
  }

  void run(int ntasks, int max_threads, TaskFn f, void* c) {
    std::unique_lock<std::mutex> lk(run_mutex, std::try_to_lock);
    if (!lk.owns_lock() || nthreads <= 1) {
      for (int t = 0; t < ntasks; t++) f(c, t, 0);
      return;
    }
    int lim = max_threads < nthreads ? max_threads : nthreads;
    fn.store(f, std::memory_order_relaxed);
    ctx.store(c, std::memory_order_relaxed);
    limit.store(lim, std::memory_order_relaxed);
    done.store(0, std::memory_order_relaxed);
    total.store(ntasks, std::memory_order_relaxed);
    uint64_t gen = (state.load(std::memory_order_relaxed) >> 32) + 1;
    state.store((gen << 32) | static_cast<uint32_t>(ntasks), std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> g(m);
      cv.notify_all();
    }
    work(0);
    for (int i = 0; done.load(std::memory_order_acquire) < ntasks; i++) {
      QKV_PAUSE();
      if (i > 20000) std::this_thread::yield();
    }
  }
};

Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

int pool_threads() { return pool().nthreads; }
int pool_hw_threads() { return pool().hw; }
int pool_set_threads(int n) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lk(p.run_mutex);
  p.resize(n);
  return p.nthreads;
}

void pool_relax() { QKV_PAUSE(); }

void pool_run(int ntasks, int max_threads, TaskFn fn, void* ctx) {
  if (ntasks <= 0) return;
  pool().run(ntasks, max_threads, fn, ctx);
}

float* pool_scratch(int slot, size_t floats) {
  static thread_local Scratch s;
  if (s.n[slot] < floats) {
    aligned_free(s.p[slot]);
    size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64 + 64;
    s.p[slot] = static_cast<float*>(aligned_alloc64(bytes));
    if (!s.p[slot]) std::abort();  // out of memory: nothing sensible to return to a kernel
    s.n[slot] = floats;
  }
  return s.p[slot];
}

}  // namespace qkv
