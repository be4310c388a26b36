/**
 * Tensor storage inside the wasm module's memory, so the kernels read and write tensors in place
 * (no copies). Installed into the tensor layer's allocator hook (src/tensor/pool.ts) when the wasm
 * backend loads with shared memory: views of a shared `WebAssembly.Memory` never detach when it
 * grows.
 *
 * Lifetime: a block returns to the module's allocator when the garbage collector drops its array
 * (a FinalizationRegistry) and every subarray made from it: the arrays are small subclasses whose
 * `subarray` ties the child to its parent, so a live child keeps the parent's block alive. (Views
 * made with `new Float32Array(x.buffer, …)` are not tracked; qkv makes those only for the length of
 * a call.) When the heap cannot grow, `make` returns null and the tensor layer uses a plain array.
 */
import type { AnyArray, DType } from "../../tensor/dtype.js";
import type { StorageHook } from "../../tensor/pool.js";
import type { WasmRuntime } from "./runtime.js";

/** child → parent: keeps a parent (and its block) alive while a subarray of it is. */
const parents = new WeakMap<object, object>();

// One subclass per element type: same instanceof, same element access, one extra map for V8.
class HeapFloat32Array extends Float32Array<ArrayBufferLike> {
  override subarray(begin?: number, end?: number): Float32Array<ArrayBufferLike> {
    const s = super.subarray(begin, end);
    parents.set(s, this);
    return s;
  }
}
class HeapFloat64Array extends Float64Array<ArrayBufferLike> {
  override subarray(begin?: number, end?: number): Float64Array<ArrayBufferLike> {
    const s = super.subarray(begin, end);
    parents.set(s, this);
    return s;
  }
}
class HeapInt32Array extends Int32Array<ArrayBufferLike> {
  override subarray(begin?: number, end?: number): Int32Array<ArrayBufferLike> {
    const s = super.subarray(begin, end);
    parents.set(s, this);
    return s;
  }
}
class HeapUint8Array extends Uint8Array<ArrayBufferLike> {
  override subarray(begin?: number, end?: number): Uint8Array<ArrayBufferLike> {
    const s = super.subarray(begin, end);
    parents.set(s, this);
    return s;
  }
}

// To everything else they are the plain types: `constructor` (what equality checks, `new
// (x.constructor)(n)` and species lookups read) names the base class, so copies made from them
// (slice, map, subarray's view) are ordinary arrays.
for (const [C, Base] of [
  [HeapFloat32Array, Float32Array],
  [HeapFloat64Array, Float64Array],
  [HeapInt32Array, Int32Array],
  [HeapUint8Array, Uint8Array],
] as const)
  Object.defineProperty(C.prototype, "constructor", { value: Base, writable: true, configurable: true });

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };

/** Arrays smaller than this stay plain: their kernels mostly run in JS, and copies are cheap. */
export const MIN_HEAP_ELEMENTS = 64;

export interface HeapStorage extends StorageHook {
  /** Blocks handed out and not yet reclaimed. */
  live(): number;
}

export function heapStorage(rt: WasmRuntime): HeapStorage {
  let live = 0;
  const registry = new FinalizationRegistry<number>((p) => {
    rt.free(p);
    live--;
  });
  return {
    make(dtype: DType, n: number): AnyArray | null {
      if (n < MIN_HEAP_ELEMENTS) return null;
      const p = rt.exports.qkv_malloc(n * BYTES[dtype]) >>> 0;
      if (p === 0) return null;
      rt.refresh();
      const buf = rt.memory.buffer;
      let a: AnyArray;
      switch (dtype) {
        case "float32":
          a = new HeapFloat32Array(buf, p, n);
          break;
        case "float64":
          a = new HeapFloat64Array(buf, p, n);
          break;
        case "int32":
          a = new HeapInt32Array(buf, p, n);
          break;
        case "bool":
          a = new HeapUint8Array(buf, p, n);
          break;
      }
      registry.register(a, p);
      live++;
      return a;
    },
    live: () => live,
  };
}
