// Persistent worker pool used by every multi-threaded kernel.
//
// Design: the calling (JS) thread always participates. A job is a function pointer + context and a
// task count; workers claim task indices, in increasing order, from a single 64-bit word holding
// (generation, remaining) so a late worker can never claim a task of a newer job. Idle workers spin
// (pausing, then yielding the core to other runnable threads) for about QKV_POOL_SPIN_US microseconds
// (default 2000) before sleeping on a condition variable: waking a sleeping thread costs 20–60 µs on a
// virtual machine, a third of a 768×128×128 product, and a training step's kernels come closer together. Which thread runs a task never influences a result: every kernel gives each
// task a fixed, disjoint piece of output and combines partial results in a fixed order.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace qkv {

using TaskFn = void (*)(void* ctx, int task, int tid);

/** Number of threads kernels may use (workers + the caller), >= 1. */
int pool_threads();
/** Hardware cores available to this process. */
int pool_hw_threads();
/** Resize the pool; n is clamped to [1, hardware cores]. Returns the new size. */
int pool_set_threads(int n);
/**
 * Runs fn(ctx, t, tid) for t in [0, ntasks) on at most max_threads threads (the caller included),
 * tid in [0, pool_threads()). Returns once every task has finished. Tasks are started in increasing
 * order of t (a task may wait for a lower-numbered one of the same job, never for a higher one).
 */
void pool_run(int ntasks, int max_threads, TaskFn fn, void* ctx);

/** A short pause for spin-wait loops. */
void pool_relax();

/** Scratch memory of the calling thread (64-byte aligned, grows on demand, kept between calls). */
float* pool_scratch(int slot, size_t floats);

template <class F>
inline void parallel_for(int ntasks, int max_threads, F&& f) {
  if (ntasks <= 0) return;
  if (ntasks == 1 || max_threads <= 1 || pool_threads() <= 1) {
    for (int t = 0; t < ntasks; t++) f(t, 0);
    return;
  }
  using FF = typename std::remove_reference<F>::type;
  pool_run(
      ntasks, max_threads, [](void* c, int t, int tid) { (*static_cast<FF*>(c))(t, tid); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

/** How many threads a job of `work` units should use, given `per_thread` units minimum each. */
inline int threads_for(double work, double per_thread) {
  int n = pool_threads();
  double m = work / per_thread;
  if (m < 2) return 1;
  return m < n ? static_cast<int>(m) : n;
}

}  // namespace qkv
