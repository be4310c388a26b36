/**
 * Node-only random access to a safetensors file: the header is read and validated first, then
 * each tensor is read on demand from its own offsets through positional reads on one file handle.
 * No array ever spans the whole file, so files over 4 GiB load, and a caller that needs a few
 * tensors (or only the header, to check names and shapes) pays only for those.
 */

import { readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import {
  decodeSafetensorsEntry,
  parseSafetensorsHeader,
  type RawTensor,
  rawDtypeOf,
  SAFETENSORS_MAX_HEADER_BYTES,
  type SafetensorsEntry,
  SafetensorsError,
  type SafetensorsHeader,
} from "./safetensors.js";

/** Largest single positional read (the OS and Node cap one read near 2 GiB). */
const CHUNK = 1 << 30;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

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
export async function openSafetensorsFile(path: string): Promise<SafetensorsFile> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    if (codeOf(e) === "ENOENT") throw new SafetensorsError(path, "file not found");
    throw new SafetensorsError(path, `cannot open: ${(e as Error).message}`);
  }
  try {
    const header = await readHeader(fh, path);
    return makeFile(fh, path, header);
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

function makeFile(fh: FileHandle, path: string, header: SafetensorsHeader): SafetensorsFile {
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
      return {
        dtype: rawDtypeOf(e.dtype),
        shape: e.shape.slice(),
        get data() {
          return file.readSync(name).data;
        },
      };
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
