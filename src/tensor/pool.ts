/**
 * Storage recycling. A training step makes a few hundred activation and gradient buffers of the
 * same handful of sizes, uses each once, and drops it. Letting the garbage collector reclaim them
 * costs more than the arithmetic on a small model: every fresh typed array is zero-filled (or
 * page-faulted in), and the external-memory pressure triggers a collection several times a step.
 *
 * This pool keeps released buffers by (dtype, length) and hands them out again. Buffers come back
 * only when qkv can prove nothing else uses them:
 *  - the backward sweep releases the gradients it made and no longer needs (see autograd/graph.ts);
 *  - {@link tidy} releases the activations the graph recorded inside it, except what it returns.
 * Everything else is left to the garbage collector as before, so the pool is never required for
 * correctness. `allocate` still returns zeroed memory; `allocateUninit` skips the fill for callers
 * that overwrite every element.
 */
// dtype.ts re-exports this module's allocators; the cycle is safe because neither module uses
// the other while it initialises.
import { type AnyArray, type DType, dtypeOf } from "./dtype.js";

/** Buffers smaller than this (elements) are cheap for the JS engine and not pooled. */
const MIN_POOLED = 1024;

const free = new Map<string, AnyArray[]>();
/** Buffers (or, for a storage hook's views, arrays) currently in `free`: guards against releasing one twice. */
const inPool = new WeakSet<object>();
let pooledBytes = 0;
let capacityBytes = 512 * 2 ** 20;
/** Debug aid: fill `allocateUninit` memory with garbage (NaN, 0x7fffffff) so a kernel that skips elements shows. */
let poison = false;
const stats = { reused: 0, fresh: 0, released: 0, dropped: 0 };

function key(dtype: DType, n: number): string {
  return `${dtype}:${n}`;
}

/**
 * Where fresh storage comes from, when a backend wants it in its own memory (the wasm backend puts
 * tensors inside the module's shared memory, so its kernels read them in place). `make` returns a
 * view of `n` elements with arbitrary contents, or null to fall back to a plain typed array (e.g.
 * when its heap is full). The hook owns reclaiming what the garbage collector drops.
 */
export interface StorageHook {
  make(dtype: DType, n: number): AnyArray | null;
}

let hook: StorageHook | null = null;
/** Arrays made by a hook: views that share one buffer, pooled by identity. */
const hooked = new WeakSet<AnyArray>();

/**
 * Installs (or, with null, removes) the storage hook; returns the previous one. Arrays made before
 * stay valid either way.
 * @example
 * setStorageHook({ make: (dtype, n) => myHeapView(dtype, n) });
 */
export function setStorageHook(h: StorageHook | null): StorageHook | null {
  const prev = hook;
  if (h !== hook) {
    // pooled buffers of the other kind would keep being handed out: start afresh
    free.clear();
    pooledBytes = 0;
  }
  hook = h;
  return prev;
}

/** Whether `a` came from the storage hook (it then shares its buffer with other arrays). */
export function isHookedStorage(a: AnyArray): boolean {
  return hooked.has(a);
}

function make(dtype: DType, n: number): AnyArray {
  if (hook && n > 0) {
    const a = hook.make(dtype, n);
    if (a) {
      hooked.add(a);
      return a;
    }
  }
  return plain(dtype, n);
}

function plain(dtype: DType, n: number): AnyArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "int32":
      return new Int32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}

/** Scopes collecting the arrays allocated while they are open (innermost last). */
const trackers: Set<AnyArray>[] = [];

function take(dtype: DType, n: number): AnyArray | null {
  if (n < MIN_POOLED) return null;
  const list = free.get(key(dtype, n));
  const a = list?.pop();
  if (!a) return null;
  inPool.delete(hooked.has(a) ? a : a.buffer);
  pooledBytes -= a.byteLength;
  stats.reused++;
  return a;
}

function track(a: AnyArray): AnyArray {
  if (trackers.length > 0 && a.length >= MIN_POOLED) trackers[trackers.length - 1].add(a);
  return a;
}

/** A zero-filled array of `n` elements, recycled when the pool has one of that size. */
export function allocate(dtype: DType, n: number): AnyArray {
  const reused = take(dtype, n);
  if (reused) {
    reused.fill(0);
    return track(reused);
  }
  if (n >= MIN_POOLED) stats.fresh++;
  const a = make(dtype, n);
  // a hook's memory may be recycled by its own allocator
  if (hooked.has(a)) a.fill(0);
  return track(a);
}

/** Like {@link allocate} but with arbitrary contents: only for callers that write every element. */
export function allocateUninit(dtype: DType, n: number): AnyArray {
  let a = take(dtype, n);
  if (!a) {
    if (n >= MIN_POOLED) stats.fresh++;
    a = make(dtype, n);
  }
  if (poison)
    a.fill(dtype === "float32" || dtype === "float64" ? Number.NaN : dtype === "int32" ? 0x7fffffff : 0xaa);
  return track(a);
}

/**
 * Hands `a` back for reuse. The caller guarantees that nothing reads or writes it afterwards.
 * Views (subarrays) and small arrays are ignored; past the capacity the array is left to the GC.
 */
export function release(a: AnyArray): void {
  if (a.length < MIN_POOLED) return;
  const own = hooked.has(a);
  if (!own && (a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength)) return;
  const id = own ? a : a.buffer;
  if (inPool.has(id)) return;
  if (pooledBytes + a.byteLength > capacityBytes) {
    stats.dropped++;
    return;
  }
  const k = key(dtypeOf(a), a.length);
  let list = free.get(k);
  if (!list) {
    list = [];
    free.set(k, list);
  }
  list.push(a);
  inPool.add(id);
  pooledBytes += a.byteLength;
  stats.released++;
}

/** Starts collecting the arrays allocated from now on; pair with {@link endTracking}. */
export function beginTracking(): Set<AnyArray> {
  const s = new Set<AnyArray>();
  trackers.push(s);
  return s;
}

/**
 * Stops the innermost collection. Arrays it saw are handed to the enclosing one (if any), so an
 * outer scope still knows they were made inside it.
 */
export function endTracking(s: Set<AnyArray>): void {
  const i = trackers.lastIndexOf(s);
  if (i < 0) return;
  trackers.splice(i, 1);
  const outer = trackers[i - 1];
  if (outer) for (const a of s) outer.add(a);
}

/**
 * Pool settings and counters. `capacityMiB` bounds the memory kept for reuse (default 512);
 * 0 turns pooling off and empties the pool. `poison` makes uninitialised allocations hold garbage
 * instead of whatever they held before (the test suite runs with it on).
 * @example
 * memoryPool({ capacityMiB: 128 });
 * memoryPool().reused; // buffers handed out again since start
 */
export function memoryPool(opts: { capacityMiB?: number; poison?: boolean } = {}): {
  capacityMiB: number;
  poison: boolean;
  pooledMiB: number;
  reused: number;
  fresh: number;
  released: number;
  dropped: number;
} {
  if (opts.capacityMiB !== undefined) {
    if (!(opts.capacityMiB >= 0))
      throw new Error(`memoryPool: capacityMiB must be ≥ 0, got ${opts.capacityMiB}`);
    capacityBytes = opts.capacityMiB * 2 ** 20;
    if (pooledBytes > capacityBytes) {
      free.clear();
      pooledBytes = 0;
    }
  }
  if (opts.poison !== undefined) poison = opts.poison;
  return { capacityMiB: capacityBytes / 2 ** 20, poison, pooledMiB: pooledBytes / 2 ** 20, ...stats };
}
