/**
 * Node-only random access to a safetensors file: the header is read and validated first, then
 * each tensor is read on demand from its own offsets through positional reads on one file handle,
 * or many at once (`readTogether`, for model loaders): as views of a private, copy-on-write
 * mapping of the file where the native addon can map it, else into shared buffers of at most
 * 1 GiB each.
 * No array ever spans the whole file, so files over 4 GiB load, and a caller that needs a few
 * tensors (or only the header, to check names and shapes) pays only for those.
 */

import { readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { loadAddon } from "../backends/native/binding.js";
import { transpose2d } from "../util/transpose.js";
import {
  decodeSafetensorsEntry,
  parseSafetensorsHeader,
  type RawTensor,
  type RawTensorSource,
  rawDtypeOf,
  SAFETENSORS_MAX_HEADER_BYTES,
  type SafetensorsEntry,
  SafetensorsError,
  type SafetensorsHeader,
  safetensorsItemSize,
  type Transpose2d,
} from "./safetensors.js";

/** Largest single positional read (the OS and Node cap one read near 2 GiB). */
const CHUNK = 1 << 30;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Dtypes whose file bytes are the tensor's storage as is (on a little-endian host). */
const NATIVE_LAYOUT = new Set(["F32", "F64", "I32"]);
/** Tensors start on 64-byte boundaries of the shared buffer (a cache line; enough for any dtype). */
const ALIGN = 64;
/** Most bytes in one shared buffer (a bigger single tensor gets a buffer of its own). */
const SEGMENT = 2 ** 30;
/** Unread bytes between two tensors that are read anyway, to keep them in one read. */
const MAX_GAP = 1 << 16;
/** Mappings start on multiples of this (a multiple of every common page size: 4, 16, 64 KiB). */
const MAP_ALIGN = 1 << 16;

/**
 * Options of {@link openSafetensorsFile}.
 */
export interface OpenSafetensorsOptions {
  /**
   * Whether {@link RawTensorSource.readTogether} may map the file (through the native addon, when
   * it is built and the platform has mmap) instead of reading it: then tensors of a native-layout
   * dtype at aligned offsets are views of a private, copy-on-write mapping, and their pages are
   * read from the page cache only when first touched. Default true, unless the environment sets
   * QKV_MMAP=0. Without the addon the file is read either way.
   */
  map?: boolean;
}

type MapFile = (fd: number, offset: number, length: number) => ArrayBuffer | null;

/** The addon's mapFile where mapping is allowed and available, else null. */
function mapperFor(opts: OpenSafetensorsOptions): MapFile | null {
  if (opts.map === false || (opts.map === undefined && process.env.QKV_MMAP === "0")) return null;
  const addon = loadAddon();
  return typeof addon?.mapFile === "function" ? addon.mapFile.bind(addon) : null;
}

/**
 * An open safetensors file: its validated header, and reads of single tensors.
 * @example
 * const f = await openSafetensorsFile("model.safetensors");
 * try { const w = await f.read("wte.weight"); } finally { await f.close(); }
 */
export interface SafetensorsFile {
  readonly path: string;
  readonly header: SafetensorsHeader;
  /** Header entries by tensor name (a Map: a tensor may be called `constructor`). */
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  /** Reads and decodes one tensor (only its own bytes). */
  read(name: string): Promise<RawTensor>;
  /** The same, synchronously (for lazy tensors whose `data` is read when first asked for). */
  readSync(name: string): RawTensor;
  /**
   * A RawTensor with the entry's dtype and shape whose `data` is read from the file each time it
   * is accessed (not cached), so a loader can check names and shapes before reading any data.
   * Valid until {@link close}.
   */
  lazy(name: string): RawTensor;
  /** Closes the file handle; later reads throw. */
  close(): Promise<void>;
}

/** `t` as read, or (2-D) as its transpose in a fresh array; marked `owned` either way. */
function orient(t: RawTensor, transposed: boolean, flip: Transpose2d): RawTensor {
  if (!transposed) return { ...t, owned: true };
  const [rows, cols] = t.shape;
  const data = new (t.data.constructor as new (n: number) => RawTensor["data"])(t.data.length);
  flip(t.data, rows, cols, data);
  return { dtype: t.dtype, shape: [cols, rows], data, owned: true };
}

function codeOf(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/**
 * Opens `path` and reads and validates only its header (at most
 * SAFETENSORS_MAX_HEADER_BYTES): errors name the file; a missing file says so.
 * @example
 * const f = await openSafetensorsFile("model.safetensors");
 * console.log([...f.entries.keys()]);
 * await f.close();
 */
export async function openSafetensorsFile(
  path: string,
  opts: OpenSafetensorsOptions = {},
): Promise<SafetensorsFile> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    if (codeOf(e) === "ENOENT") throw new SafetensorsError(path, "file not found");
    throw new SafetensorsError(path, `cannot open: ${(e as Error).message}`);
  }
  try {
    const header = await readHeader(fh, path);
    return makeFile(fh, path, header, mapperFor(opts));
  } catch (e) {
    await fh.close().catch(() => {});
    throw e;
  }
}

async function readHeader(fh: FileHandle, path: string): Promise<SafetensorsHeader> {
  const { size } = await fh.stat();
  const prefix = new Uint8Array(8);
  const got = (await fh.read(prefix, 0, 8, 0)).bytesRead;
  const view = new DataView(prefix.buffer);
  const headerLen = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  // Read the header only when its size is sane; otherwise let the parser report the problem.
  const sane = got === 8 && headerLen <= SAFETENSORS_MAX_HEADER_BYTES && 8 + headerLen <= size;
  const head = new Uint8Array(sane ? 8 + headerLen : got);
  head.set(prefix.subarray(0, got));
  if (sane) {
    const n = (await fh.read(head, 8, headerLen, 8)).bytesRead;
    if (n !== headerLen) throw new SafetensorsError(path, `file shrank while its header was read`);
  }
  return parseSafetensorsHeader(head, { name: path, fileSize: size });
}

function makeFile(
  fh: FileHandle,
  path: string,
  header: SafetensorsHeader,
  mapFile: MapFile | null,
): SafetensorsFile {
  const entries = new Map<string, SafetensorsEntry>();
  for (const e of header.entries) entries.set(e.name, e);
  let closed = false;
  const entryOf = (name: string): SafetensorsEntry => {
    if (closed) throw new SafetensorsError(path, `read of tensor ${JSON.stringify(name)} after close()`);
    const e = entries.get(name);
    if (!e) throw new SafetensorsError(path, `no tensor named ${JSON.stringify(name)}`, name);
    return e;
  };
  // The destination is sized by the validated header, which bounds it by the file's size. For
  // the native-layout dtypes the bytes land straight in the tensor's own storage (no copy).
  const target = (e: SafetensorsEntry): Uint8Array => new Uint8Array(new ArrayBuffer(e.end - e.begin));
  const decode = (e: SafetensorsEntry, bytes: Uint8Array): RawTensor =>
    decodeSafetensorsEntry(bytes, e, { name: path, copy: !LITTLE_ENDIAN });
  const short = (e: SafetensorsEntry, at: number): never => {
    throw new SafetensorsError(
      path,
      `file ended ${at} bytes into tensor ${JSON.stringify(e.name)} (${e.end - e.begin} bytes): it shrank after its header was read`,
      e.name,
    );
  };
  const lazyNames = new WeakMap<RawTensor, string>();
  const source: RawTensorSource = {
    readTogether: (tensors, transposed, opts) =>
      readTogether(
        tensors,
        transposed,
        opts?.transpose ?? transpose2d,
        opts?.maxBufferBytes ?? SEGMENT,
        opts?.transposedAsStored ?? false,
      ),
  };
  let mapFailed = false;
  // Views of the file's own pages for the tensors at `idx` (native layout, aligned), in windows of
  // at most `maxBytes` mapped from MAP_ALIGN boundaries (a bigger tensor gets one of its own), or
  // null when the file cannot be mapped here (the caller reads those tensors instead). The
  // mappings live as long as a tensor views them, whatever happens to the file handle or the
  // file's name: qkv replaces checkpoint files by rename (a new inode), never in place.
  const mapped = (
    idx: number[],
    entry: SafetensorsEntry[],
    maxBytes: number,
  ): Map<number, RawTensor> | null => {
    if (!mapFile || mapFailed || idx.length === 0) return null;
    const windows: { start: number; end: number; members: number[] }[] = [];
    for (const i of idx) {
      const a = header.dataStart + entry[i].begin;
      const b = header.dataStart + entry[i].end;
      const w = windows[windows.length - 1];
      if (w && b - w.start <= maxBytes) {
        w.end = Math.max(w.end, b);
        w.members.push(i);
      } else windows.push({ start: Math.floor(a / MAP_ALIGN) * MAP_ALIGN, end: b, members: [i] });
    }
    const out = new Map<number, RawTensor>();
    try {
      for (const w of windows) {
        const ab = mapFile(fh.fd, w.start, w.end - w.start);
        if (!ab) throw new Error("not mapped");
        for (const i of w.members) {
          const e = entry[i];
          const bytes = new Uint8Array(ab, header.dataStart + e.begin - w.start, e.end - e.begin);
          out.set(i, { ...decodeSafetensorsEntry(bytes, e, { name: path }), owned: true });
        }
      }
    } catch {
      mapFailed = true; // read this file from now on; views already made are simply dropped
      return null;
    }
    return out;
  };
  const readRange = (bytes: Uint8Array, at: number, e: SafetensorsEntry): void => {
    for (let pos = 0; pos < bytes.length; ) {
      const n = Math.min(bytes.length - pos, CHUNK);
      const bytesRead = readSync(fh.fd, bytes, pos, n, at + pos);
      if (bytesRead === 0) short(e, pos);
      pos += bytesRead;
    }
  };
  // One buffer for every tensor whose bytes need no conversion, laid out in file order, so
  // neighbouring tensors come in one read and each tensor is a view: no allocation, zeroing or
  // copy per tensor. Transposed ones go through a scratch buffer the size of the largest of them.
  const readTogether = (
    tensors: readonly RawTensor[],
    asked: readonly boolean[],
    flip: Transpose2d,
    maxBytes: number,
    asStored: boolean,
  ): RawTensor[] => {
    // Tensors wanted as stored are checked as 2-D like the others, then read untransposed.
    const transposed = asStored ? asked.map(() => false) : asked;
    const entry = tensors.map((t) => {
      const name = lazyNames.get(t);
      if (name === undefined)
        throw new SafetensorsError(
          path,
          "readTogether: a tensor that is not one of this file's lazy tensors",
        );
      return entryOf(name);
    });
    const out: RawTensor[] = new Array(tensors.length);
    let inBuffer: number[] = [];
    for (let i = 0; i < entry.length; i++) {
      const e = entry[i];
      if (asked[i] && e.shape.length !== 2)
        throw new SafetensorsError(
          path,
          `tensor ${JSON.stringify(e.name)} is not 2-D and cannot be read transposed`,
          e.name,
        );
      if (LITTLE_ENDIAN && NATIVE_LAYOUT.has(e.dtype)) inBuffer.push(i);
      else out[i] = orient(file.readSync(e.name), transposed[i], flip);
    }
    inBuffer.sort((a, b) => entry[a].begin - entry[b].begin);
    // Mapped where the file can be: every native-layout tensor whose bytes are aligned for its
    // dtype and that needs no transpose (or is wanted as stored) becomes a view of the mapping.
    const views = mapped(
      inBuffer.filter(
        (i) =>
          !transposed[i] && (header.dataStart + entry[i].begin) % safetensorsItemSize(entry[i].dtype) === 0,
      ),
      entry,
      maxBytes,
    );
    if (views) {
      for (const [i, t] of views) out[i] = t;
      inBuffer = inBuffer.filter((i) => !views.has(i));
    }
    // Place each tensor: right after the previous one when the file has them close together and
    // the gap keeps it aligned (one read covers both), else at the next aligned offset; a new
    // buffer starts past `maxBytes`, so no single array need span a file of many GiB.
    const at = new Map<number, [segment: number, offset: number]>();
    const runs: { segment: number; start: number; begin: number; end: number; e: SafetensorsEntry }[] = [];
    const segments: number[] = [];
    let size = 0;
    let scratchBytes = 0;
    for (const i of inBuffer) {
      const e = entry[i];
      const last = runs[runs.length - 1];
      const run = last?.segment === segments.length - 1 ? last : undefined;
      const gap = run ? e.begin - run.end : -1;
      // Within a run the buffer mirrors the file, so a tensor is aligned there when its offset
      // from the run's first tensor is a multiple of its item size.
      const fits =
        run !== undefined &&
        !transposed[i] &&
        !transposed[inBuffer[at.size - 1]] &&
        gap >= 0 &&
        gap <= MAX_GAP &&
        (e.begin - run.begin) % safetensorsItemSize(e.dtype) === 0 &&
        run.start + (e.end - run.begin) <= maxBytes;
      if (fits) {
        size = run.start + (e.begin - run.begin);
        run.end = e.end;
      } else {
        size = Math.ceil(size / ALIGN) * ALIGN;
        if (segments.length === 0 || (size > 0 && size + (e.end - e.begin) > maxBytes)) {
          if (segments.length > 0) segments[segments.length - 1] = size;
          segments.push(0);
          size = 0;
        }
        if (!transposed[i])
          runs.push({ segment: segments.length - 1, start: size, begin: e.begin, end: e.end, e });
        else scratchBytes = Math.max(scratchBytes, e.end - e.begin);
      }
      at.set(i, [segments.length - 1, size]);
      size += e.end - e.begin;
    }
    if (segments.length > 0) segments[segments.length - 1] = size;
    const buffers = segments.map((n) => new ArrayBuffer(n));
    for (const r of runs)
      readRange(
        new Uint8Array(buffers[r.segment], r.start, r.end - r.begin),
        header.dataStart + r.begin,
        r.e,
      );
    const scratch = new ArrayBuffer(scratchBytes);
    for (const i of inBuffer) {
      const e = entry[i];
      const [segment, offset] = at.get(i) as [number, number];
      const bytes = new Uint8Array(buffers[segment], offset, e.end - e.begin);
      if (transposed[i]) {
        const tmp = new Uint8Array(scratch, 0, bytes.length);
        readRange(tmp, header.dataStart + e.begin, e);
        const from = decodeSafetensorsEntry(tmp, e, { name: path });
        const to = decodeSafetensorsEntry(bytes, e, { name: path });
        flip(from.data, e.shape[0], e.shape[1], to.data);
        out[i] = { dtype: to.dtype, shape: [e.shape[1], e.shape[0]], data: to.data, owned: true };
      } else {
        const t = decodeSafetensorsEntry(bytes, e, { name: path });
        out[i] = { ...t, owned: true };
      }
    }
    return out;
  };
  const file: SafetensorsFile = {
    path,
    header,
    entries,
    async read(name) {
      const e = entryOf(name);
      const bytes = target(e);
      for (let pos = 0; pos < bytes.length; ) {
        const n = Math.min(bytes.length - pos, CHUNK);
        const { bytesRead } = await fh.read(bytes, pos, n, header.dataStart + e.begin + pos);
        if (bytesRead === 0) short(e, pos);
        pos += bytesRead;
      }
      return decode(e, bytes);
    },
    readSync(name) {
      const e = entryOf(name);
      const bytes = target(e);
      for (let pos = 0; pos < bytes.length; ) {
        const n = Math.min(bytes.length - pos, CHUNK);
        const bytesRead = readSync(fh.fd, bytes, pos, n, header.dataStart + e.begin + pos);
        if (bytesRead === 0) short(e, pos);
        pos += bytesRead;
      }
      return decode(e, bytes);
    },
    lazy(name) {
      const e = entryOf(name);
      const t: RawTensor = {
        dtype: rawDtypeOf(e.dtype),
        shape: e.shape.slice(),
        get data() {
          return file.readSync(name).data;
        },
        source,
      };
      lazyNames.set(t, name);
      return t;
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
  return file;
}

/**
 * Reads every tensor of a safetensors file (or those `only` accepts), each by its own positional
 * read: memory is the tensors themselves, never a copy of the whole file.
 * @example
 * const { tensors } = await readSafetensorsTensors("model.safetensors", { only: (n) => n.startsWith("h.0.") });
 */
export async function readSafetensorsTensors(
  path: string,
  opts: { only?: (name: string) => boolean } = {},
): Promise<{ tensors: Map<string, RawTensor>; metadata: Record<string, string> | null }> {
  const f = await openSafetensorsFile(path);
  try {
    const tensors = new Map<string, RawTensor>();
    for (const e of f.header.entries) {
      if (opts.only && !opts.only(e.name)) continue;
      tensors.set(e.name, await f.read(e.name));
    }
    return { tensors, metadata: f.header.metadata };
  } finally {
    await f.close();
  }
}
