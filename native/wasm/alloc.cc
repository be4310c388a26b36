// The module's heap: a thread-safe size-class allocator (malloc/free and operator new/delete for the
// kernels, qkv_malloc/qkv_free for tensor storage allocated from JavaScript). Blocks come from a bump
// pointer that grows the memory on demand and return to per-class free lists; classes are four steps
// per power of two (at most 25% slack). Every block is 64-byte aligned behind a 64-byte header, so
// SIMD loads never straddle a cache line at a row start. A spin lock guards the lists: allocations
// are rare next to the kernels' work (scratch buffers are kept per thread).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

extern "C" unsigned char __heap_base;

namespace {

constexpr size_t kAlign = 64;
constexpr int kClasses = 4 * 32;

struct Header {
  uint32_t cls;
  uint32_t magic;
};
constexpr uint32_t kMagic = 0x716b7621u;

std::atomic<int32_t> g_lock{0};
uintptr_t g_top = 0;  // bump pointer (0 until first use)
void* g_free[kClasses];
size_t g_live = 0;  // bytes handed out (for tests and diagnostics)

struct Guard {
  Guard() {
    int32_t z = 0;
    while (!g_lock.compare_exchange_weak(z, 1, std::memory_order_acquire)) z = 0;
  }
  ~Guard() { g_lock.store(0, std::memory_order_release); }
};

// Size class of n bytes (n >= 1) and the class's block size.
int class_of(size_t n) {
  if (n <= kAlign) return 0;
  const size_t units = (n + kAlign - 1) / kAlign;  // >= 2
  const int e = 31 - __builtin_clz(static_cast<uint32_t>(units - 1));  // units - 1 in [2^e, 2^(e+1))
  // four steps between 2^e and 2^(e+1) units: 2^e · (1 + (q+1)/4)
  const size_t base = static_cast<size_t>(1) << e;
  size_t q = 0;
  while (base + (base * (q + 1)) / 4 < units && q < 3) q++;
  if (base + (base * (q + 1)) / 4 < units) return 1 + 4 * (e + 1);
  return 1 + 4 * e + static_cast<int>(q);
}
size_t class_bytes(int c) {
  if (c == 0) return kAlign;
  const int e = (c - 1) / 4, q = (c - 1) % 4;
  const size_t base = static_cast<size_t>(1) << e;
  size_t units = base + (base * (q + 1)) / 4;
  if (units < 2) units = 2;
  return units * kAlign;
}

void* bump(size_t bytes) {
  if (g_top == 0) g_top = (reinterpret_cast<uintptr_t>(&__heap_base) + kAlign - 1) & ~(kAlign - 1);
  const uintptr_t start = g_top;
  const uint64_t end = static_cast<uint64_t>(start) + bytes;
  if (end > 0xFFFF0000ull) return nullptr;
  const uint64_t have = static_cast<uint64_t>(__builtin_wasm_memory_size(0)) << 16;
  if (end > have) {
    const uint64_t need = ((end - have) + 65535) >> 16;
    // grow by at least 1/8 of the memory to keep the number of (costly) grow steps small
    uint64_t pages = need > (have >> 19) ? need : (have >> 19);
    if (__builtin_wasm_memory_grow(0, static_cast<size_t>(pages)) == static_cast<size_t>(-1) &&
        __builtin_wasm_memory_grow(0, static_cast<size_t>(need)) == static_cast<size_t>(-1))
      return nullptr;
  }
  g_top = static_cast<uintptr_t>(end);
  return reinterpret_cast<void*>(start);
}

void* alloc(size_t n) {
  if (n == 0) n = 1;
  if (n > 0xF0000000u) return nullptr;
  const int c = class_of(n);
  if (c >= kClasses) return nullptr;
  const size_t bytes = class_bytes(c);
  Guard g;
  char* block;
  if (g_free[c]) {
    block = static_cast<char*>(g_free[c]);
    std::memcpy(&g_free[c], block + kAlign, sizeof(void*));
  } else {
    block = static_cast<char*>(bump(bytes + kAlign));
    if (!block) return nullptr;
  }
  Header h{static_cast<uint32_t>(c), kMagic};
  std::memcpy(block, &h, sizeof h);
  g_live += bytes;
  return block + kAlign;
}

void release(void* p) {
  if (!p) return;
  char* block = static_cast<char*>(p) - kAlign;
  Header h;
  std::memcpy(&h, block, sizeof h);
  if (h.magic != kMagic || h.cls >= kClasses) __builtin_trap();  // not ours, or freed twice
  h.magic = 0;
  std::memcpy(block, &h, sizeof h);
  Guard g;
  std::memcpy(static_cast<char*>(p), &g_free[h.cls], sizeof(void*));
  g_free[h.cls] = block;
  g_live -= class_bytes(static_cast<int>(h.cls));
}

size_t usable(void* p) {
  Header h;
  std::memcpy(&h, static_cast<char*>(p) - kAlign, sizeof h);
  return class_bytes(static_cast<int>(h.cls));
}

}  // namespace

extern "C" {
void* malloc(size_t n) { return alloc(n); }
void free(void* p) { release(p); }
void* calloc(size_t a, size_t b) {
  if (b && a > SIZE_MAX / b) return nullptr;
  void* p = alloc(a * b);
  if (p) std::memset(p, 0, a * b);
  return p;
}
void* realloc(void* p, size_t n) {
  if (!p) return alloc(n);
  if (n <= usable(p)) return p;
  void* q = alloc(n);
  if (!q) return nullptr;
  std::memcpy(q, p, usable(p));
  release(p);
  return q;
}
void* aligned_alloc(size_t align, size_t n) { return align <= kAlign ? alloc(n) : nullptr; }
int posix_memalign(void** out, size_t align, size_t n) {
  void* p = align <= kAlign ? alloc(n) : nullptr;
  if (!p) return 12;  // ENOMEM
  *out = p;
  return 0;
}

/** Tensor storage for JavaScript: n bytes, 64-byte aligned, or 0 when the heap is full. */
__attribute__((export_name("qkv_malloc"))) void* qkv_malloc(size_t n) { return alloc(n); }
__attribute__((export_name("qkv_free"))) void qkv_free(void* p) { release(p); }
/** Bytes currently allocated (block sizes, headers excluded). */
__attribute__((export_name("qkv_heap_live"))) size_t qkv_heap_live() { return g_live; }
}

void* operator new(size_t n) {
  void* p = alloc(n);
  if (!p) __builtin_trap();
  return p;
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return alloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return alloc(n); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, size_t) noexcept { release(p); }
void operator delete[](void* p, size_t) noexcept { release(p); }

// thread_local objects with destructors register them here; a wasm worker's thread ends with its
// instance, and the main thread's with the page or process, so there is nothing to run.
extern "C" int __cxa_thread_atexit(void (*)(void*), void*, void*) { return 0; }

/** The memory's size in 64 KiB pages (cheaper for JavaScript than memory.buffer.byteLength). */
extern "C" __attribute__((export_name("qkv_memory_pages"))) int qkv_memory_pages() {
  return static_cast<int>(__builtin_wasm_memory_size(0));
}
