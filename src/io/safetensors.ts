/**
 * Reader and writer for the safetensors checkpoint format, on plain typed-array records so it
 * does not depend on the tensor class. Browser-safe: works on ArrayBuffer/Uint8Array only.
 * Untrusted input is validated completely (header, offsets, sizes) before any tensor memory
 * is allocated, and every error names the file and the problem.
 */

import { QkvError } from "../util/errors.js";
import {
  bf16BitsToF32Bits,
  f8e4m3ToNumber,
  f8e5m2BitsToF32Bits,
  f16BitsToF32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
} from "./float-bits.js";

/**
 * A tensor as plain data: row-major contiguous `data` with `product(shape)` elements.
 *
 * @example
 * ```ts
 * const t: RawTensor = { dtype: "float32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
 * ```
 */
export interface RawTensor {
  dtype: "float32" | "float64" | "int32";
  shape: number[];
  data: Float32Array | Float64Array | Int32Array;
  /**
   * Set on lazily read tensors (`openSafetensorsFile(...).lazy(name)` in `qkv/node`): their file,
   * which reads many of them in one pass (see {@link RawTensorSource}).
   */
  readonly source?: RawTensorSource;
  /**
   * True when `data` was read for this caller alone (no one else holds it), so a loader may keep
   * it as a tensor's storage instead of copying it. Unset on tensors that alias a caller's buffer.
   */
  readonly owned?: boolean;
}

/**
 * What a file behind lazily read RawTensors offers a model loader: its tensors read together, in
 * file order, into one buffer (no per-tensor allocation or copy), each optionally as the transpose
 * of its 2-D matrix (GPT-2's Conv1D (in, out) weights become (out, in) in the same pass).
 * @example const [w] = raw.source!.readTogether([raw], [true]); // w.shape = raw.shape reversed
 */
export interface RawTensorSource {
  /**
   * Reads `tensors` (lazy tensors of this source) and returns them in order, `owned`, with data
   * that views one shared buffer (or a mapping of the file) wherever the dtype needs no
   * conversion. `transposed[i]` asks for tensor i (2-D) as its transpose.
   */
  readTogether(
    tensors: readonly RawTensor[],
    transposed: readonly boolean[],
    opts?: {
      /** The 2-D transpose to use (default: a cache-blocked loop). */
      transpose?: Transpose2d;
      /** Largest shared buffer (default 1 GiB); a single bigger tensor gets one of its own. */
      maxBufferBytes?: number;
      /**
       * Return the tensors marked in `transposed` as stored (their file shape, not transposed),
       * after checking that they are 2-D: for a caller that views them transposed instead.
       */
      transposedAsStored?: boolean;
    },
  ): RawTensor[];
}

/**
 * Writes the transpose of the row-major (rows, cols) matrix `src` into `dst` as (cols, rows). A
 * loader may pass a backend's kernel to {@link RawTensorSource.readTogether}.
 */
export type Transpose2d = (
  src: RawTensor["data"],
  rows: number,
  cols: number,
  dst: RawTensor["data"],
) => void;

/**
 * Element types this module reads. Floats widen to float32/float64, integers to int32.
 *
 * @example
 * ```ts
 * const tag: SafetensorsDtype = "BF16";
 * ```
 */
export type SafetensorsDtype =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "F8_E4M3"
  | "F8_E5M2"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL";

/**
 * One validated header entry. `begin`/`end` are byte offsets relative to the data buffer.
 *
 * @example
 * ```ts
 * const e: SafetensorsEntry = { name: "w", dtype: "F16", shape: [2], begin: 0, end: 4 };
 * ```
 */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Validated header of a safetensors file.
 *
 * @example
 * ```ts
 * const h: SafetensorsHeader = parseSafetensorsHeader(bytes);
 * const totalBytes = h.fileSize - h.dataStart;
 * ```
 */
export interface SafetensorsHeader {
  /** Entries in header order. */
  entries: SafetensorsEntry[];
  /** `__metadata__` string map, or null when the file has none. */
  metadata: Record<string, string> | null;
  /** Absolute byte offset of the data buffer (8 + header length). */
  dataStart: number;
  /** Total file size in bytes. */
  fileSize: number;
}

/**
 * Options for {@link parseSafetensors} and {@link parseSafetensorsHeader}.
 *
 * @example
 * ```ts
 * const opts: ParseSafetensorsOptions = { name: "model.safetensors", copy: true };
 * ```
 */
export interface ParseSafetensorsOptions {
  /** File name used in error messages (default "safetensors buffer"). */
  name?: string;
  /**
   * Only for {@link parseSafetensorsHeader}: the full file size when `buf` holds just a
   * prefix (at least the 8-byte length and the header). Offsets are checked against it.
   */
  fileSize?: number;
  /**
   * Always copy tensor data into fresh arrays. By default F32/F64/I32 tensors whose bytes
   * are suitably aligned are returned as views into `buf` (zero copy, they alias it).
   */
  copy?: boolean;
}

/**
 * Options for {@link serializeSafetensors}.
 *
 * @example
 * ```ts
 * const opts: SerializeSafetensorsOptions = { float32As: "BF16" };
 * ```
 */
export interface SerializeSafetensorsOptions {
  /** Storage format for float32 tensors (default "F32"); F16/BF16 round to nearest even. */
  float32As?: "F32" | "F16" | "BF16";
  /** Name used in error messages (default "serializeSafetensors"). */
  name?: string;
}

/**
 * Error raised for malformed safetensors data; `file` is the name given in the options.
 *
 * @example
 * ```ts
 * try { parseSafetensors(new Uint8Array(3), { name: "m.safetensors" }); }
 * catch (e) { if (e instanceof SafetensorsError) console.log(e.file); } // "m.safetensors"
 * ```
 */
export class SafetensorsError extends QkvError {
  declare readonly file: string;
  constructor(file: string, problem: string, field?: string) {
    super(`${file}: ${problem}`, { file, field });
    this.name = "SafetensorsError";
  }
}

/**
 * Largest header accepted, in bytes (100 MB, the same cap as the reference implementation).
 *
 * @example
 * ```ts
 * SAFETENSORS_MAX_HEADER_BYTES; // 100_000_000
 * ```
 */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

const ITEM_SIZE: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** Dtypes the format defines that qkv cannot represent; reported as unsupported, not unknown. */
const UNSUPPORTED = new Set(["C64", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "F8_E4M3FNUZ", "F8_E5M2FNUZ"]);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** JSON-quoted, length-capped rendering of a name or value for error messages. */
function show(v: unknown, max = 80): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    // Too deep to stringify (String(v) of a nested array recurses too): describe it instead.
    s = kindOf(v);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/**
 * Deepest nesting of arrays and objects in JSON `text`, found by one scan that skips strings, so
 * it costs no stack however deep the text is. A valid header needs 3 levels; the parser refuses
 * more than {@link MAX_HEADER_DEPTH} before JSON.parse and the checks below ever recurse.
 */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Deepest nesting a header may have: entries are 3 levels deep, so this leaves room and no more. */
const MAX_HEADER_DEPTH = 16;

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Product of dims, or -1 when it exceeds Number.MAX_SAFE_INTEGER (a zero dim wins). */
function numelOf(shape: number[]): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return -1;
  }
  return n;
}

function asBytes(buf: ArrayBuffer | Uint8Array): Uint8Array {
  return buf instanceof Uint8Array ? buf : new Uint8Array(buf);
}

/**
 * Parse and fully validate the header of a safetensors file without decoding tensor data.
 * Checks: size prefix, header cap, UTF-8 and JSON, every entry's dtype/shape/data_offsets,
 * offsets inside the file, byte counts matching shape × item size, and that the entries
 * tile the data buffer exactly (no overlaps, no unindexed bytes, as the format requires).
 *
 * @example
 * ```ts
 * const h = parseSafetensorsHeader(bytes, { name: "model.safetensors" });
 * for (const e of h.entries) console.log(e.name, e.dtype, e.shape);
 * ```
 */
export function parseSafetensorsHeader(
  buf: ArrayBuffer | Uint8Array,
  opts: ParseSafetensorsOptions = {},
): SafetensorsHeader {
  const file = opts.name ?? "safetensors buffer";
  const fail = (problem: string): never => {
    throw new SafetensorsError(file, problem);
  };
  const bytes = asBytes(buf);
  const fileSize = opts.fileSize ?? bytes.byteLength;
  if (!isCount(fileSize) || fileSize < bytes.byteLength) {
    fail(`fileSize ${show(fileSize)} is invalid for a ${bytes.byteLength}-byte buffer`);
  }
  if (fileSize < 8) fail(`file is ${fileSize} bytes, too short for the 8-byte header length prefix`);
  if (bytes.byteLength < 8) fail(`buffer holds ${bytes.byteLength} bytes, fewer than the 8-byte prefix`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (hi !== 0 || headerLen > SAFETENSORS_MAX_HEADER_BYTES) {
    fail(
      `header length ${headerLen} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte cap ` +
        "(corrupt or not a safetensors file)",
    );
  }
  const dataStart = 8 + headerLen;
  if (dataStart > fileSize) {
    fail(`header length ${headerLen} runs past the end of the file (${fileSize} bytes)`);
  }
  if (dataStart > bytes.byteLength) {
    fail(`buffer holds ${bytes.byteLength} bytes but the header ends at byte ${dataStart}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    return fail("header is not valid UTF-8");
  }
  if (jsonDepth(text, MAX_HEADER_DEPTH) > MAX_HEADER_DEPTH) {
    fail(`header nests arrays/objects more than ${MAX_HEADER_DEPTH} deep (a valid header needs 3)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    fail(`header must be a JSON object, got ${kindOf(json)}`);
  }
  const obj = json as Record<string, unknown>;
  const dataLen = fileSize - dataStart;

  let metadata: Record<string, string> | null = null;
  const entries: SafetensorsEntry[] = [];
  for (const name of Object.keys(obj)) {
    const raw = obj[name];
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        fail(`"__metadata__" must be an object of strings, got ${kindOf(raw)}`);
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`"__metadata__" key ${show(k)} has ${kindOf(v)} value, not a string`);
      }
      metadata = Object.fromEntries(Object.entries(raw as Record<string, string>));
      continue;
    }
    const where = `tensor ${show(name)}`;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      fail(`${where}: entry must be an object, got ${kindOf(raw)}`);
    }
    const info = raw as Record<string, unknown>;
    const dtype = info.dtype;
    if (dtype === undefined) fail(`${where}: missing "dtype"`);
    if (typeof dtype !== "string") fail(`${where}: "dtype" must be a string, got ${show(dtype)}`);
    const tag = dtype as string;
    if (!Object.hasOwn(ITEM_SIZE, tag)) {
      if (UNSUPPORTED.has(tag)) fail(`${where}: dtype ${show(tag)} is not supported by qkv`);
      fail(`${where}: unknown dtype ${show(tag)}`);
    }
    const shape = info.shape;
    if (shape === undefined) fail(`${where}: missing "shape"`);
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      fail(`${where}: "shape" must be an array of non-negative integers, got ${show(shape)}`);
    }
    const offs = info.data_offsets;
    if (offs === undefined) fail(`${where}: missing "data_offsets"`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isCount)) {
      fail(`${where}: "data_offsets" must be [begin, end] of non-negative integers, got ${show(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] are reversed (begin > end)`);
    if (end > dataLen) {
      fail(`${where}: data_offsets [${begin}, ${end}] run past the end of the ${dataLen}-byte data buffer`);
    }
    const dims = shape as number[];
    const numel = numelOf(dims);
    const st = tag as SafetensorsDtype;
    if (numel < 0) fail(`${where}: shape ${show(dims)} has too many elements`);
    if (numel * ITEM_SIZE[st] !== end - begin) {
      fail(
        `${where}: shape ${show(dims)} of ${st} needs ${numel * ITEM_SIZE[st]} bytes ` +
          `but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ name, dtype: st, shape: dims.slice(), begin, end });
  }

  // The entries must tile [0, dataLen) exactly. Sorting by (begin, end) puts empty tensors
  // before a neighbour starting at the same offset, so they never count as overlaps.
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: SafetensorsEntry | null = null;
  for (const e of sorted) {
    if (e.begin < pos && prev) {
      fail(
        `tensors ${show(prev.name)} [${prev.begin}, ${prev.end}] and ` +
          `${show(e.name)} [${e.begin}, ${e.end}] overlap`,
      );
    }
    if (e.begin > pos) {
      fail(
        `data bytes [${pos}, ${e.begin}) belong to no tensor (the format requires a fully indexed buffer)`,
      );
    }
    pos = e.end;
    prev = e;
  }
  if (pos !== dataLen) {
    fail(
      `data bytes [${pos}, ${dataLen}) after the last tensor belong to no tensor ` +
        "(the format requires a fully indexed buffer)",
    );
  }
  return { entries, metadata, dataStart, fileSize };
}

/** Decode one validated entry. `abs` is the absolute offset of its bytes in `buffer`. */
function decodeEntry(
  buffer: ArrayBufferLike,
  abs: number,
  e: SafetensorsEntry,
  copy: boolean,
  fail: (problem: string) => never,
): RawTensor {
  const size = ITEM_SIZE[e.dtype];
  const n = (e.end - e.begin) / size;
  const shape = e.shape.slice();
  // Native-layout storage for F32/F64/I32: a zero-copy view when the platform is little-endian
  // and the bytes are aligned; otherwise a fresh (hence aligned) copy, byte-swapped on
  // big-endian hosts. Byte copies keep NaN payloads intact.
  const native = (): [ArrayBufferLike, number, number] => {
    if (LITTLE_ENDIAN && !copy && abs % size === 0) return [buffer, abs, n];
    const out = new Uint8Array(buffer.slice(abs, abs + n * size));
    if (!LITTLE_ENDIAN) swapBytes(out, size);
    return [out.buffer, 0, n];
  };
  const dv = new DataView(buffer, abs, n * size);
  switch (e.dtype) {
    case "F32":
      return { dtype: "float32", shape, data: new Float32Array(...native()) };
    case "F64":
      return { dtype: "float64", shape, data: new Float64Array(...native()) };
    case "I32":
      return { dtype: "int32", shape, data: new Int32Array(...native()) };
    case "F16":
    case "BF16":
    case "F8_E5M2": {
      const data = new Float32Array(n);
      const bits = new Uint32Array(data.buffer); // same platform order as `data`: bit-exact
      if (e.dtype === "F8_E5M2") {
        for (let i = 0; i < n; i++) bits[i] = f8e5m2BitsToF32Bits(dv.getUint8(i));
      } else {
        const widen = e.dtype === "F16" ? f16BitsToF32Bits : bf16BitsToF32Bits;
        for (let i = 0; i < n; i++) bits[i] = widen(dv.getUint16(i * 2, true));
      }
      return { dtype: "float32", shape, data };
    }
    case "F8_E4M3": {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = f8e4m3ToNumber(dv.getUint8(i));
      return { dtype: "float32", shape, data };
    }
    case "I64":
    case "U64": {
      const data = new Int32Array(n);
      const signed = e.dtype === "I64";
      for (let i = 0; i < n; i++) {
        const low = dv.getInt32(i * 8, true);
        const high = dv.getUint32(i * 8 + 4, true);
        const ok = signed ? high === (low < 0 ? 0xffffffff : 0) : high === 0 && low >= 0;
        if (!ok) {
          const v = signed ? dv.getBigInt64(i * 8, true) : dv.getBigUint64(i * 8, true);
          fail(`tensor ${show(e.name)}: ${e.dtype} value ${v} at flat index ${i} does not fit in int32`);
        }
        data[i] = low;
      }
      return { dtype: "int32", shape, data };
    }
    case "U32": {
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getUint32(i * 4, true);
        if (v > 0x7fffffff) {
          fail(`tensor ${show(e.name)}: U32 value ${v} at flat index ${i} does not fit in int32`);
        }
        data[i] = v;
      }
      return { dtype: "int32", shape, data };
    }
    case "I16":
    case "U16": {
      const data = new Int32Array(n);
      if (e.dtype === "I16") for (let i = 0; i < n; i++) data[i] = dv.getInt16(i * 2, true);
      else for (let i = 0; i < n; i++) data[i] = dv.getUint16(i * 2, true);
      return { dtype: "int32", shape, data };
    }
    case "I8":
    case "U8": {
      const data = new Int32Array(n);
      if (e.dtype === "I8") for (let i = 0; i < n; i++) data[i] = dv.getInt8(i);
      else for (let i = 0; i < n; i++) data[i] = dv.getUint8(i);
      return { dtype: "int32", shape, data };
    }
    case "BOOL": {
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getUint8(i);
        if (v > 1) fail(`tensor ${show(e.name)}: BOOL byte ${v} at flat index ${i} is not 0 or 1`);
        data[i] = v;
      }
      return { dtype: "int32", shape, data };
    }
  }
}

/**
 * The RawTensor dtype an entry of `tag` decodes to: F32 and the narrow floats to float32, F64 to
 * float64, every integer type and BOOL to int32.
 *
 * @example
 * ```ts
 * rawDtypeOf("BF16"); // "float32"
 * ```
 */
export function rawDtypeOf(tag: SafetensorsDtype): RawTensor["dtype"] {
  if (tag === "F64") return "float64";
  return tag === "F32" || tag === "F16" || tag === "BF16" || tag === "F8_E4M3" || tag === "F8_E5M2"
    ? "float32"
    : "int32";
}

/**
 * Decode one validated header entry from `data`, which holds exactly that entry's bytes
 * (`entry.end - entry.begin` of them), e.g. read from a file at `dataStart + entry.begin`.
 * F32/F64/I32 data is returned as a view of `data` when it is aligned, unless `opts.copy`.
 *
 * @example
 * ```ts
 * const e = header.entries[0];
 * const t = decodeSafetensorsEntry(bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end), e);
 * ```
 */
export function decodeSafetensorsEntry(
  data: Uint8Array,
  entry: SafetensorsEntry,
  opts: Omit<ParseSafetensorsOptions, "fileSize"> = {},
): RawTensor {
  const file = opts.name ?? "safetensors buffer";
  if (data.byteLength !== entry.end - entry.begin) {
    throw new SafetensorsError(
      file,
      `tensor ${show(entry.name)}: got ${data.byteLength} bytes of data, the header says ${entry.end - entry.begin}`,
      entry.name,
    );
  }
  const fail = (problem: string): never => {
    throw new SafetensorsError(file, problem, entry.name);
  };
  return decodeEntry(data.buffer, data.byteOffset, entry, opts.copy === true, fail);
}

/** Bytes per element of a safetensors dtype. @example safetensorsItemSize("BF16") // 2 */
export function safetensorsItemSize(tag: SafetensorsDtype): number {
  return ITEM_SIZE[tag];
}

/**
 * Parse a safetensors file held in memory. F32/F64/I32 keep their type; F16, BF16 and the
 * F8 formats widen exactly to float32; I64/U64/U32 narrow to int32 (an error names any value
 * that does not fit); I16/I8/U16/U8/BOOL widen to int32. Map order is header order.
 * Aligned F32/F64/I32 data is returned as views into `buf` unless `opts.copy` is set.
 *
 * @example
 * ```ts
 * const { tensors, metadata } = parseSafetensors(bytes, { name: "model.safetensors" });
 * const w = tensors.get("wte.weight"); // { dtype: "float32", shape: [50257, 768], data }
 * ```
 */
export function parseSafetensors(
  buf: ArrayBuffer | Uint8Array,
  opts: Omit<ParseSafetensorsOptions, "fileSize"> = {},
): { tensors: Map<string, RawTensor>; metadata: Record<string, string> | null } {
  const file = opts.name ?? "safetensors buffer";
  const bytes = asBytes(buf);
  const header = parseSafetensorsHeader(bytes, { name: file });
  const fail = (problem: string): never => {
    throw new SafetensorsError(file, problem);
  };
  const tensors = new Map<string, RawTensor>();
  const base = bytes.byteOffset + header.dataStart;
  for (const e of header.entries) {
    tensors.set(e.name, decodeEntry(bytes.buffer, base + e.begin, e, opts.copy === true, fail));
  }
  return { tensors, metadata: header.metadata };
}

interface Planned {
  name: string;
  tensor: RawTensor;
  tag: "F64" | "F32" | "F16" | "BF16" | "I32";
  bytes: number;
  begin: number;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Serialize tensors to safetensors bytes. float32 is stored as F32 (or F16/BF16 via
 * `opts.float32As`), float64 as F64, int32 as I32. Header keys are sorted by name
 * (`__metadata__` first); the header is padded with spaces to a multiple of 8 bytes, and
 * data is laid out contiguously, largest item size first, then by name, so every tensor is
 * aligned to its item size within the file.
 *
 * @example
 * ```ts
 * const bytes = serializeSafetensors(
 *   { w: { dtype: "float32", shape: [2], data: new Float32Array([1, 2]) } },
 *   { format: "pt" },
 * );
 * ```
 */
export function serializeSafetensors(
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  metadata?: Record<string, string>,
  opts: SerializeSafetensorsOptions = {},
): Uint8Array {
  const file = opts.name ?? "serializeSafetensors";
  const fail = (problem: string): never => {
    throw new SafetensorsError(file, problem);
  };
  const floatTag = opts.float32As ?? "F32";
  if (floatTag !== "F32" && floatTag !== "F16" && floatTag !== "BF16") {
    fail(`float32As must be "F32", "F16" or "BF16", got ${show(floatTag)}`);
  }
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const planned: Planned[] = [];
  for (const [name, t] of list) {
    const where = `tensor ${show(name)}`;
    if (typeof name !== "string") fail(`tensor names must be strings, got ${show(name)}`);
    if (name === "__metadata__") fail(`"__metadata__" is reserved and cannot name a tensor`);
    if (t === null || typeof t !== "object") fail(`${where}: expected a RawTensor, got ${kindOf(t)}`);
    if (!Array.isArray(t.shape) || !t.shape.every(isCount)) {
      fail(`${where}: shape must be an array of non-negative integers, got ${show(t.shape)}`);
    }
    let tag: Planned["tag"];
    let size: number;
    if (t.dtype === "float32" && t.data instanceof Float32Array) {
      tag = floatTag;
      size = floatTag === "F32" ? 4 : 2;
    } else if (t.dtype === "float64" && t.data instanceof Float64Array) {
      tag = "F64";
      size = 8;
    } else if (t.dtype === "int32" && t.data instanceof Int32Array) {
      tag = "I32";
      size = 4;
    } else {
      const ctor = (t.data as { constructor?: { name?: string } } | undefined)?.constructor?.name;
      return fail(`${where}: dtype ${show(t.dtype)} with ${ctor ?? "no"} data is not a valid RawTensor`);
    }
    const numel = numelOf(t.shape);
    if (numel !== t.data.length) {
      fail(`${where}: data has ${t.data.length} elements but shape ${show(t.shape)} needs ${numel}`);
    }
    planned.push({ name, tensor: t, tag, bytes: numel * size, begin: 0 });
  }
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
      fail(`metadata must be an object of strings, got ${kindOf(metadata)}`);
    }
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") fail(`metadata key ${show(k)} has ${kindOf(v)} value, not a string`);
    }
  }

  // Data layout: largest item size first keeps every tensor aligned without padding.
  const layout = planned.slice().sort((a, b) => sizeOf(b.tag) - sizeOf(a.tag) || byCodeUnits(a.name, b.name));
  let offset = 0;
  for (const p of layout) {
    p.begin = offset;
    offset += p.bytes;
  }
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(byCodeUnits);
    const body = keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(",");
    parts.push(`"__metadata__":{${body}}`);
  }
  for (const p of planned.slice().sort((a, b) => byCodeUnits(a.name, b.name))) {
    const info = { dtype: p.tag, shape: p.tensor.shape, data_offsets: [p.begin, p.begin + p.bytes] };
    parts.push(`${JSON.stringify(p.name)}:${JSON.stringify(info)}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLen = Math.ceil(json.length / 8) * 8;
  if (headerLen > SAFETENSORS_MAX_HEADER_BYTES) fail(`header would be ${headerLen} bytes, over the cap`);
  const out = new Uint8Array(8 + headerLen + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, headerLen, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  const start = 8 + headerLen;
  for (const p of layout) writeData(out, dv, start + p.begin, p);
  return out;
}

function sizeOf(tag: Planned["tag"]): number {
  return tag === "F64" ? 8 : tag === "F16" || tag === "BF16" ? 2 : 4;
}

function writeData(out: Uint8Array, dv: DataView, at: number, p: Planned): void {
  const data = p.tensor.data;
  const n = data.length;
  if (p.tag === "F16" || p.tag === "BF16") {
    const bits = new Uint32Array(data.buffer, data.byteOffset, n);
    const round = p.tag === "F16" ? f32BitsToF16Bits : f32BitsToBf16Bits;
    for (let i = 0; i < n; i++) dv.setUint16(at + i * 2, round(bits[i]), true);
  } else {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    if (!LITTLE_ENDIAN) swapBytes(out.subarray(at, at + data.byteLength), data.BYTES_PER_ELEMENT);
  }
}

/** Reverse the byte order of each `size`-byte element in place (big-endian hosts only). */
function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}
