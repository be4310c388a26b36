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
import { QkvError } from "../util/errors.js";
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

/**
 * How many times each storage has been handed back to the pool. A tensor remembers the count its
 * storage had when the tensor was made; when they differ, the storage was recycled under it (a
 * tensor kept from inside `tidy()` without being returned) and its values are someone else's.
 * Storage that was never released has no entry (generation 0).
 */
const generations = new WeakMap<object, number>();
/**
 * The object a storage's generation is kept on: its buffer, or for a storage hook's array (a view
 * of memory shared with every other such array) the array itself. A view into a hook's array is
 * never released and reads generation 0 (such a view is not checked).
 */
function storageOf(a: AnyArray): object {
  return hooked.has(a) ? a : a.buffer;
}
/** Whether ops check their inputs' generation (on by default: one WeakMap lookup per input). */
let checkRecycled = true;

/** The recycling generation of the storage behind `a` (0 until it is first released). */
export function generationOf(a: AnyArray): number {
  return generations.get(storageOf(a)) ?? 0;
}

/**
 * Raised when an op reads a tensor whose storage went back to the pool after the tensor was made:
 * typically a tensor created inside `tidy()` and kept (in a variable, array or cache) without
 * being returned from it.
 * @example
 * let kept; tidy(() => { kept = x.mul(2); });
 * kept.add(1); // RecycledTensorError: add: input 0 …
 */
export class RecycledTensorError extends QkvError {
  constructor(op: string, what: string) {
    super(
      `${op}: ${what} uses storage that was recycled after it was made (a tensor created inside ` +
        "tidy() and kept without being returned from it): return it from tidy(), or clone() it outside",
      { field: what },
    );
    this.name = "RecycledTensorError";
  }
}

/**
 * Throws {@link RecycledTensorError} when `t`'s storage was recycled since `t` was made. `what`
 * names the operand ("input 1"). Free when checking is off; otherwise one WeakMap lookup.
 */
export function assertLive(op: string, t: { data: AnyArray; generation: number }, what = "a tensor"): void {
  if (checkRecycled && (generations.get(storageOf(t.data)) ?? 0) !== t.generation) {
    throw new RecycledTensorError(op, what);
  }
}

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

/**
 * Depth of {@link withShapeOnlyStorage} scopes. Inside one, allocations return an empty array:
 * tensors keep their shapes but own no memory, so a model can be built only to list the names
 * and shapes of its parameters (checked against a checkpoint's header before the real build).
 */
let shapeOnly = 0;
/** Budget of the innermost shape-only scope: tensors and elements it may still allocate. */
let shapeBudget: { tensors: number; elements: number } | null = null;

/**
 * Thrown from an allocation inside {@link withShapeOnlyStorage} once its budget is spent: the
 * module being built is bigger than the caller allows (e.g. than a checkpoint's header holds).
 * @example
 * try { withShapeOnlyStorage(build, { maxTensors: 10, maxElements: 1e6 }); }
 * catch (e) { if (e instanceof ShapeBudgetExceeded) console.log(e.tensors, e.elements); }
 */
export class ShapeBudgetExceeded extends QkvError {
  constructor(
    readonly tensors: number,
    readonly elements: number,
  ) {
    super(`the module needs more than ${tensors} tensors or ${elements} elements`);
    this.name = "ShapeBudgetExceeded";
  }
}

/** True inside {@link withShapeOnlyStorage} (tensors there have shapes but no elements). */
export function isShapeOnlyStorage(): boolean {
  return shapeOnly > 0;
}

/**
 * Runs `fn` with shape-only storage: every allocation is an empty array, so building a module
 * costs its objects, not its parameters' memory. Nothing computed inside may be read, and no
 * kernel may run (the backend refuses): use it with `withoutInit` to take a model's
 * `stateDict()` shapes. Not for tensors that outlive the call.
 * @example
 * const shapes = withShapeOnlyStorage(() => withoutInit(() => new GPT(config))).stateDict();
 */
export function withShapeOnlyStorage<T>(
  fn: () => T,
  budget: { maxTensors?: number; maxElements?: number } = {},
): T {
  const outer = shapeBudget;
  const limits = {
    tensors: budget.maxTensors ?? Number.POSITIVE_INFINITY,
    elements: budget.maxElements ?? Number.POSITIVE_INFINITY,
  };
  shapeBudget = { ...limits };
  shapeOnly++;
  try {
    return fn();
  } catch (e) {
    // A budget error raised deep inside (maybe rewrapped by a constructor) is reported as is.
    if (shapeBudget.tensors < 0 || shapeBudget.elements < 0)
      throw new ShapeBudgetExceeded(limits.tensors, limits.elements);
    throw e;
  } finally {
    shapeOnly--;
    shapeBudget = outer;
  }
}

/** An empty array standing for `n` elements, charged to the shape-only budget. */
function shapeOnlyArray(dtype: DType, n: number): AnyArray {
  if (shapeBudget) {
    shapeBudget.tensors -= 1;
    shapeBudget.elements -= n;
    if (shapeBudget.tensors < 0 || shapeBudget.elements < 0) throw new ShapeBudgetExceeded(0, 0);
  }
  return make(dtype, 0);
}

/** A zero-filled array of `n` elements, recycled when the pool has one of that size. */
export function allocate(dtype: DType, n: number): AnyArray {
  if (shapeOnly > 0) return shapeOnlyArray(dtype, n);
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
  if (shapeOnly > 0) return shapeOnlyArray(dtype, n);
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
 * A zero-filled array for long-lived storage that is not a tensor's (quantized weights): made by
 * the storage hook when one is installed (so the wasm kernels read it in place), never taken from
 * or returned to the pool, and never collected by a tidy scope.
 */
export function allocateResident(dtype: DType, n: number): AnyArray {
  const a = make(dtype, n);
  if (hooked.has(a)) a.fill(0);
  return a;
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
  generations.set(id, (generations.get(id) ?? 0) + 1);
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
 * instead of whatever they held before (the test suite runs with it on). `checkRecycled` (default
 * on) makes ops refuse inputs whose storage was recycled after they were made (see
 * {@link RecycledTensorError}); off, such a tensor silently reads whatever now lives there.
 * @example
 * memoryPool({ capacityMiB: 128 });
 * memoryPool().reused; // buffers handed out again since start
 */
export function memoryPool(opts: { capacityMiB?: number; poison?: boolean; checkRecycled?: boolean } = {}): {
  capacityMiB: number;
  poison: boolean;
  checkRecycled: boolean;
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
  if (opts.checkRecycled !== undefined) checkRecycled = opts.checkRecycled;
  return {
    capacityMiB: capacityBytes / 2 ** 20,
    poison,
    checkRecycled,
    pooledMiB: pooledBytes / 2 ** 20,
    ...stats,
  };
}
