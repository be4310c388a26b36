/**
 * The WebAssembly runtime of the wasm backend: it picks one of the two committed modules (relaxed
 * SIMD when the engine validates a relaxed op, else plain SIMD128), instantiates it on a shared
 * `WebAssembly.Memory`, and exposes native/addon.cc's entry points (compiled against
 * native/wasm/napi_shim.h) as an object of the same shape as the Node-API addon, so the op glue in
 * ../native/addon-backend.ts serves both backends.
 *
 * Arguments: a typed array that lives in the module's memory (see ./heap.ts) is passed by address;
 * any other is copied into a scratch area before the call and, when the entry point writes it,
 * copied back after. Views of one JavaScript buffer are copied as one range, so aliased arguments
 * (in-place updates) stay aliased inside the module.
 */
import type { NativeAddon } from "../native/binding.js";
import {
  WASM_RELAXED_BYTES,
  WASM_RELAXED_PATCH_BYTES,
  WASM_RELAXED_PATCH_DEFLATED,
  WASM_SIMD_BYTES,
  WASM_SIMD_DEFLATED,
} from "./gen/binary.js";
import { applyPatch, decodeBase64, unpackBase } from "./pack.js";
import { type WasmGlobal, type WasmImports, type WasmMemory, type WasmModule, wasmApi } from "./wasm-api.js";

/** Bytes of one argument descriptor (qkv_napi_value__ in native/wasm/napi_shim.h). */
const DESC = 40;
const K_UNDEFINED = 0;
const K_NULL = 1;
const K_TYPEDARRAY = 2;
const K_ARRAY = 3;
const K_NUMBER = 4;
const K_STRING = 5;
const K_BOOLEAN = 6;
const K_OBJECT = 7;
/** What `callFast` returns when the arguments need the general path (nothing was called). */
const NOT_FAST: unique symbol = Symbol("not fast");
/** The napi_typedarray_type code of a typed array (subclasses included), or -1. */
function taCode(v: ArrayBufferView): number {
  if (v instanceof Float32Array) return 7;
  if (v instanceof Float64Array) return 8;
  if (v instanceof Int32Array) return 5;
  if (v instanceof Uint8Array) return 1;
  if (v instanceof Int8Array) return 0;
  if (v instanceof Uint8ClampedArray) return 2;
  if (v instanceof Int16Array) return 3;
  if (v instanceof Uint16Array) return 4;
  if (v instanceof Uint32Array) return 6;
  return -1;
}

/** The module's exports that the runtime uses. */
interface Exports {
  __stack_pointer: WasmGlobal;
  __tls_size: WasmGlobal;
  __tls_align: WasmGlobal;
  __wasm_init_tls(p: number): void;
  __wasm_call_ctors(): void;
  qkv_call(fn: number, argc: number, argv: number): number;
  qkv_fn_name(i: number): number;
  qkv_error_addr(): number;
  qkv_error_kind_addr(): number;
  qkv_consts(i: number): number;
  qkv_init(): void;
  qkv_malloc(n: number): number;
  qkv_free(p: number): void;
  qkv_heap_live(): number;
  qkv_memory_pages(): number;
  qkv_worker_loop(tid: number): void;
  qkv_pool_config(hw: number, spin: number): void;
  qkv_pool_online(): number;
  qkv_pool_online_addr(): number;
  qkv_pool_stop(): void;
  qkv_pool_resume(): void;
}

/** Bytes of stack each thread gets (the main thread's comes from the linker, the same size). */
export const STACK_BYTES = 2 << 20;

/** Which entry points write which of their arguments (positions; the rest are only read). */
const WRITES: Record<string, readonly number[]> = {
  noop: [],
  gemm: [2, 3, 4],
  unary: [1],
  unaryBackward: [3],
  binary: [2],
  compare: [2],
  where: [3],
  copy: [1],
  clamp: [1],
  reduce: [1],
  softmax: [1],
  softmaxBackward: [2],
  layerNormForward: [1, 2, 3],
  layerNormBackward: [4, 6, 7],
  crossEntropyForward: [2, 3],
  crossEntropyBackward: [4],
  indexSelect: [2],
  indexAdd: [2],
  gather: [2],
  scatterAdd: [2],
  attentionForward: [3, 4],
  attentionBackward: [6, 7, 8],
  transformerLayer: [1, 13, 14],
  quantizedLinear: [4],
  adamStepMulti: [0, 2, 3, 4],
  sumOfSquares: [1],
  scaleInPlace: [0],
};

/** A tiny module whose only function uses f32x4.relaxed_madd: it validates iff relaxed SIMD is on. */
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02,
  0x0b,
]);

/** Whether this engine has relaxed SIMD (validated, never assumed). */
export function hasRelaxedSimd(): boolean {
  try {
    return wasmApi().validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/** The unpacked modules, made once each on first use (unpacking takes tens of milliseconds). */
const unpacked: { simd?: Uint8Array<ArrayBuffer>; relaxed?: Uint8Array<ArrayBuffer> } = {};

function shippedModule(variant: WasmVariant): Uint8Array<ArrayBuffer> {
  unpacked.simd ??= unpackBase(decodeBase64(WASM_SIMD_DEFLATED), WASM_SIMD_BYTES);
  if (variant === "simd") return unpacked.simd;
  if (!unpacked.relaxed) {
    const patch = unpackBase(decodeBase64(WASM_RELAXED_PATCH_DEFLATED), WASM_RELAXED_PATCH_BYTES);
    unpacked.relaxed = applyPatch(unpacked.simd, patch);
    if (unpacked.relaxed.length !== WASM_RELAXED_BYTES)
      throw new Error(`wasm module: the relaxed-SIMD build unpacked to ${unpacked.relaxed.length} bytes`);
  }
  return unpacked.relaxed;
}

/** The two builds of the wasm module: with relaxed-SIMD fused multiply-add, or plain SIMD128. */
export type WasmVariant = "relaxed" | "simd";

/**
 * The bytes of one module variant. QKV_WASM_FILE (Node only; for profiling and tuning builds from
 * `scripts/build-wasm.mjs --tune`) replaces both with a file's.
 */
export function moduleBytes(variant: WasmVariant): Uint8Array<ArrayBuffer> {
  const proc = (globalThis as { process?: NodeProcess }).process;
  const file = proc?.env?.QKV_WASM_FILE;
  if (file) {
    const fs = proc?.getBuiltinModule?.("node:fs") as { readFileSync(p: string): Uint8Array } | undefined;
    if (!fs) throw new Error("QKV_WASM_FILE needs Node ≥ 20.16");
    return new Uint8Array(fs.readFileSync(file));
  }
  return shippedModule(variant);
}

interface NodeProcess {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
}

/** The variant to use here: QKV_WASM_SIMD=relaxed|simd forces one (tests), else detection. */
export function pickVariant(): WasmVariant {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const want = env?.QKV_WASM_SIMD;
  if (want === "simd") return "simd";
  const relaxed = hasRelaxedSimd();
  if (want === "relaxed" && !relaxed)
    throw new Error("QKV_WASM_SIMD=relaxed but this engine lacks relaxed SIMD");
  return relaxed ? "relaxed" : "simd";
}

/** WASI functions wasi-libc's stdio references; the kernels never print, so they only report ENOSYS. */
const wasiStubs = { fd_close: () => 52, fd_seek: () => 52, fd_write: () => 52 };

export function imports(memory: WasmMemory): WasmImports {
  return { env: { memory }, wasi_snapshot_preview1: wasiStubs };
}

/** One instance of the module on its memory, with the views and the entry points. */
export class WasmRuntime {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly variant: WasmVariant;
  readonly exports: Exports;
  readonly addon: NativeAddon;
  /** The numeric-argument buffer the op glue writes; copied into the module before every call. */
  readonly meta: Float64Array;
  private readonly metaPtr: number;
  /** The buffers the memory has had (a growth makes a new one; old views stay valid). */
  private readonly own = new WeakSet<ArrayBufferLike>();
  /** Pages the views cover, and the memory's pages now. */
  private pages = 0;
  private readonly pagesNow: () => number;
  private u8!: Uint8Array;
  private i32!: Int32Array;
  private u32!: Uint32Array;
  private f64!: Float64Array;
  private readonly errAddr: number;
  private readonly errKindAddr: number;
  private readonly truePtr: number;
  private readonly falsePtr: number;
  private readonly undefPtr: number;
  private descPtr = 0;
  private descCap = 0;
  private scratchPtr = 0;
  private scratchCap = 0;
  /** Copies made for non-resident arguments in the last calls (bytes in, bytes out), for tests. */
  readonly copyStats = { callsCopying: 0, bytesIn: 0, bytesOut: 0 };

  constructor(module: WasmModule, memory: WasmMemory, variant: WasmVariant, meta: Float64Array) {
    this.module = module;
    this.meta = meta;
    this.memory = memory;
    this.variant = variant;
    const inst = new (wasmApi().Instance)(module, imports(memory));
    const ex = inst.exports as unknown as Exports;
    this.exports = ex;
    // (modules built before qkv_memory_pages existed: the slower buffer length)
    this.pagesNow = ex.qkv_memory_pages ?? (() => memory.buffer.byteLength >>> 16);
    this.refresh();
    ex.__wasm_call_ctors();
    // the main thread's TLS block (pool scratch, the fused layer's buffers)
    ex.__wasm_init_tls(this.alignedAlloc(ex.__tls_size.value as number, ex.__tls_align.value as number));
    ex.qkv_init();
    this.errAddr = ex.qkv_error_addr();
    this.errKindAddr = ex.qkv_error_kind_addr();
    this.falsePtr = ex.qkv_consts(0);
    this.truePtr = ex.qkv_consts(1);
    this.undefPtr = ex.qkv_consts(2);
    this.metaPtr = this.malloc(meta.length * 8);
    this.ensureDesc(64);
    this.refresh();
    this.addon = this.makeAddon();
    this.addon.setMeta(new Float64Array(this.memory.buffer, this.metaPtr, meta.length));
  }

  /** n bytes of the module's heap (64-byte aligned); throws when the memory cannot grow. */
  malloc(n: number): number {
    const p = this.exports.qkv_malloc(n);
    // Tensors in the heap go back to it when the garbage collector finalizes their arrays, which needs
    // the event loop: a synchronous loop that never awaits fills the heap unless its steps run in tidy().
    if (p === 0)
      throw new RangeError(
        `qkv wasm: out of memory allocating ${n} bytes (the heap is full: wrap each training or generation step in tidy(), or await between steps so the garbage collector can return finished tensors)`,
      );
    return p >>> 0;
  }

  free(p: number): void {
    this.exports.qkv_free(p);
  }

  alignedAlloc(size: number, align: number): number {
    if (size === 0) return 0;
    return align <= 64 ? this.malloc(size) : (this.malloc(size + align) + align - 1) & ~(align - 1);
  }

  /** Whether `buf` is (a past state of) the module's memory. */
  isResident(buf: ArrayBufferLike): boolean {
    if (this.own.has(buf)) return true;
    if (buf === this.memory.buffer) {
      this.own.add(buf);
      return true;
    }
    return false;
  }

  /** Re-creates the views after the memory grew. */
  refresh(): void {
    const buf = this.memory.buffer;
    if (this.u8 && this.u8.buffer === buf) return;
    if (this.u8 && this.u8.byteLength === buf.byteLength) return;
    this.own.add(buf);
    this.pages = buf.byteLength >>> 16;
    this.u8 = new Uint8Array(buf);
    this.i32 = new Int32Array(buf);
    this.u32 = new Uint32Array(buf);
    this.f64 = new Float64Array(buf);
  }

  /** Current heap views (valid until the memory grows again). */
  views(): { u8: Uint8Array; i32: Int32Array; f64: Float64Array } {
    this.refresh();
    return { u8: this.u8, i32: this.i32, f64: this.f64 };
  }

  private ensureDesc(n: number): void {
    if (n <= this.descCap) return;
    if (this.descPtr) this.free(this.descPtr);
    const cap = Math.max(64, n * 2);
    this.descPtr = this.malloc(cap * DESC);
    this.descCap = cap;
    this.refresh();
  }

  private ensureScratch(bytes: number): void {
    if (bytes <= this.scratchCap) return;
    if (this.scratchPtr) this.free(this.scratchPtr);
    const cap = Math.max(1 << 16, bytes * 1.5) | 0;
    this.scratchPtr = this.malloc(cap);
    this.scratchCap = cap;
    this.refresh();
  }

  /** Calls entry point `fn` (its index) with JS arguments, as the Node-API addon would be called. */
  call(fn: number, name: string, args: readonly unknown[]): unknown {
    const r = this.callFast(fn, args);
    return r === NOT_FAST ? this.callGeneral(fn, name, args) : r;
  }

  /**
   * The common case without allocations: every argument is absent, a number, or a typed array in
   * the module's memory. Returns `NOT_FAST` (having written nothing that matters) for anything else.
   * A sentinel, not null/undefined: entry points that return nothing must not be run a second time.
   */
  private callFast(fn: number, args: readonly unknown[]): unknown {
    const n = args.length;
    if (n > this.descCap) return NOT_FAST;
    const i32 = this.i32;
    const u32 = this.u32;
    let i = this.descPtr >> 2;
    for (let k = 0; k < n; k++, i += DESC >> 2) {
      const v = args[k];
      if (v === undefined) i32[i] = K_UNDEFINED;
      else if (v === null) i32[i] = K_NULL;
      else if (typeof v === "number") {
        i32[i] = K_NUMBER;
        this.f64[(i + 4) >> 1] = v;
      } else if (ArrayBuffer.isView(v) && this.isResident(v.buffer)) {
        const code = taCode(v);
        if (code < 0) return NOT_FAST;
        i32[i] = K_TYPEDARRAY;
        i32[i + 1] = code;
        u32[i + 2] = v.byteOffset;
        u32[i + 3] = (v as unknown as { length: number }).length;
      } else return NOT_FAST;
    }
    this.f64.set(this.meta, this.metaPtr >> 3);
    const r = this.exports.qkv_call(fn, n, this.descPtr) >>> 0;
    if (this.pagesNow() !== this.pages) this.refresh();
    return this.finish(r);
  }

  private finish(r: number): unknown {
    const kind = this.i32[this.errKindAddr >> 2];
    if (kind !== 0) {
      const msg = this.cString(this.errAddr).replace(/^qkv native/, "qkv wasm");
      this.i32[this.errKindAddr >> 2] = 0;
      throw kind === 2 ? new TypeError(msg) : new Error(msg);
    }
    if (r === this.truePtr) return true;
    if (r === this.falsePtr) return false;
    if (r === this.undefPtr) return undefined;
    return this.decode(r);
  }

  /** Any arguments: strings, lists, arrays outside the module (copied in, and back when written). */
  private callGeneral(fn: number, name: string, args: readonly unknown[]): unknown {
    // 1. count descriptors and collect non-resident buffers (one byte range per buffer)
    let ndesc = args.length;
    let ranges: Map<ArrayBufferLike, { lo: number; hi: number; at: number; write: boolean }> | null = null;
    const writes = WRITES[name];
    const note = (a: ArrayBufferView, write: boolean): void => {
      if (this.isResident(a.buffer)) return;
      ranges ??= new Map();
      const r = ranges.get(a.buffer);
      const lo = a.byteOffset & ~7;
      const hi = a.byteOffset + a.byteLength;
      if (r) {
        r.lo = Math.min(r.lo, lo);
        r.hi = Math.max(r.hi, hi);
        r.write ||= write;
      } else ranges.set(a.buffer, { lo, hi, at: 0, write });
    };
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      const write = writes === undefined || writes.includes(i);
      if (ArrayBuffer.isView(a)) note(a, write);
      else if (Array.isArray(a)) {
        ndesc += a.length;
        for (const e of a) if (ArrayBuffer.isView(e)) note(e, write);
      } else if (typeof a === "string") ndesc += 1;
    }
    this.ensureDesc(ndesc);
    // 2. copy the non-resident ranges in
    let strBytes: Uint8Array | null = null;
    let strings = 0;
    for (const a of args) if (typeof a === "string") strings += a.length * 3 + 8;
    if (ranges || strings) {
      let total = strings;
      if (ranges)
        for (const r of (ranges as Map<ArrayBufferLike, { lo: number; hi: number }>).values())
          total += ((r.hi - r.lo + 63) & ~63) + 64;
      this.ensureScratch(total);
      let at = this.scratchPtr;
      if (ranges) {
        this.copyStats.callsCopying++;
        for (const [buf, r] of ranges as Map<ArrayBufferLike, { lo: number; hi: number; at: number }>) {
          r.at = at;
          this.u8.set(new Uint8Array(buf, r.lo, r.hi - r.lo), at);
          this.copyStats.bytesIn += r.hi - r.lo;
          at += ((r.hi - r.lo + 63) & ~63) + 64;
        }
      }
      if (strings) strBytes = new Uint8Array(this.memory.buffer, at, strings);
    }
    // 3. write the descriptors
    const base = this.descPtr;
    let extra = base + args.length * DESC;
    let strAt = 0;
    const put = (p: number, v: unknown): void => {
      const i = p >> 2;
      this.u32[i + 6] = 0;
      if (v === undefined) {
        this.i32[i] = K_UNDEFINED;
      } else if (v === null) {
        this.i32[i] = K_NULL;
      } else if (ArrayBuffer.isView(v)) {
        const code = taCode(v);
        if (code < 0) throw new TypeError(`qkv wasm: ${name}: unsupported array type`);
        this.i32[i] = K_TYPEDARRAY;
        this.i32[i + 1] = code;
        const r = ranges?.get(v.buffer);
        this.u32[i + 2] = r ? r.at + (v.byteOffset - r.lo) : v.byteOffset;
        this.u32[i + 3] = (v as unknown as { length: number }).length;
      } else if (Array.isArray(v)) {
        this.i32[i] = K_ARRAY;
        this.u32[i + 2] = extra;
        this.u32[i + 3] = v.length;
        const first = extra;
        extra += v.length * DESC;
        for (let j = 0; j < v.length; j++) put(first + j * DESC, v[j]);
      } else if (typeof v === "number" || typeof v === "boolean") {
        this.i32[i] = typeof v === "number" ? K_NUMBER : K_BOOLEAN;
        this.f64[(p + 16) >> 3] = Number(v);
      } else if (typeof v === "string") {
        const bytes = new TextEncoder().encode(v);
        (strBytes as Uint8Array).set(bytes, strAt);
        this.i32[i] = K_STRING;
        this.u32[i + 2] = (strBytes as Uint8Array).byteOffset + strAt;
        this.u32[i + 3] = bytes.length;
        strAt += bytes.length + 1;
      } else {
        throw new TypeError(`qkv wasm: ${name}: unsupported argument ${typeof v}`);
      }
    };
    for (let k = 0; k < args.length; k++) put(base + k * DESC, args[k]);
    // 4. call, then copy written ranges back
    this.f64.set(this.meta, this.metaPtr >> 3);
    const r = this.exports.qkv_call(fn, args.length, base) >>> 0;
    this.refresh();
    if (ranges) {
      for (const [buf, rg] of ranges as Map<
        ArrayBufferLike,
        { lo: number; hi: number; at: number; write: boolean }
      >) {
        if (!rg.write) continue;
        new Uint8Array(buf, rg.lo, rg.hi - rg.lo).set(this.u8.subarray(rg.at, rg.at + rg.hi - rg.lo));
        this.copyStats.bytesOut += rg.hi - rg.lo;
      }
    }
    return this.finish(r);
  }

  private cString(p: number): string {
    let e = p;
    while (this.u8[e] !== 0) e++;
    return new TextDecoder().decode(this.u8.slice(p, e));
  }

  private decode(p: number): unknown {
    const i = p >> 2;
    switch (this.i32[i]) {
      case K_UNDEFINED:
        return undefined;
      case K_NULL:
        return null;
      case K_NUMBER:
        return this.f64[(p + 16) >> 3];
      case K_BOOLEAN:
        return this.f64[(p + 16) >> 3] !== 0;
      case K_STRING: {
        const at = this.u32[i + 2];
        return new TextDecoder().decode(this.u8.slice(at, at + this.u32[i + 3]));
      }
      case K_ARRAY:
      case K_OBJECT: {
        const isObj = this.i32[i] === K_OBJECT;
        const out: unknown[] = [];
        const obj: Record<string, unknown> = {};
        for (let c = this.u32[i + 8]; c !== 0; c = this.u32[(c >> 2) + 7]) {
          const v = this.decode(c);
          if (isObj) obj[this.cString(this.u32[(c >> 2) + 6])] = v;
          else out.push(v);
        }
        return isObj ? obj : out;
      }
      default:
        throw new Error(`qkv wasm: unexpected result kind ${this.i32[i]}`);
    }
  }

  private makeAddon(): NativeAddon {
    const names: string[] = [];
    this.refresh();
    for (let i = 0; ; i++) {
      const p = this.exports.qkv_fn_name(i);
      if (!p) break;
      names.push(this.cString(p));
    }
    const addon: Record<string, (...args: unknown[]) => unknown> = {};
    names.forEach((name, fn) => {
      addon[name] = (...args: unknown[]) => this.call(fn, name, args);
    });
    return addon as unknown as NativeAddon;
  }
}

/** A fresh shared memory of `initialPages` (64 KiB each) that can grow to 4 GiB. */
export function newMemory(initialPages = 256): WasmMemory {
  return new (wasmApi().Memory)({ initial: initialPages, maximum: 65536, shared: true });
}
