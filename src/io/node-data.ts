/**
 * Node-only training-data helpers: read a text corpus from a file or a folder with readable
 * errors, and cache its token ids in a small binary file that is reused while the source and
 * the tokenizer are unchanged. Import directly; the browser-safe io index does not re-export it.
 */

import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, realpath, stat } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { TokenIds } from "../data/dataset.js";
import { writeFileAtomic } from "./node-fs.js";

/** File extensions read from a folder (case-insensitive). */
const TEXT_EXTENSIONS = [".txt", ".md"];

/**
 * The files behind a text source and their combined size and newest modification time.
 *
 * @example
 * ```ts
 * const info = await describeTextSource("data/shakespeare");
 * info.files; // ["/abs/data/shakespeare/a.txt", "/abs/data/shakespeare/b.md"]
 * ```
 */
export interface TextSourceInfo {
  /** Absolute path of the source as given. */
  path: string;
  /** True when the source is a folder. */
  isDirectory: boolean;
  /** Absolute paths of the files read, in reading order. */
  files: string[];
  /** Total size in bytes. */
  size: number;
  /** Newest modification time, in ms since the epoch. */
  mtimeMs: number;
  /** SHA-256 (hex) of every file's relative name, size and mtime: changes when any of them does. */
  digest: string;
}

function codeOf(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

async function statOrThrow(path: string, what: string): Promise<Awaited<ReturnType<typeof stat>>> {
  try {
    return await stat(path);
  } catch (e) {
    if (codeOf(e) === "ENOENT")
      throw Object.assign(new Error(`${what} not found: ${path}`), { code: "ENOENT" });
    throw new Error(`cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Every .txt/.md file under `dir` (recursively, skipping dot-files and dot-folders, following
 * symbolic links once, ignoring broken ones), sorted by relative path.
 */
async function listTextFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visited = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    const real = await realpath(d);
    if (visited.has(real)) return; // a link cycle
    visited.add(real);
    const entries = await readdir(d, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const full = join(d, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(full).catch(() => null);
        isDir = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isDir) await walk(full);
      else if (isFile && TEXT_EXTENSIONS.some((ext) => entry.name.toLowerCase().endsWith(ext)))
        out.push(full);
    }
  };
  await walk(dir);
  // Sort by the path relative to `dir` with "/" separators, by code unit: the same on every OS.
  const key = (f: string): string => relative(dir, f).split(sep).join("/");
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * Finds the files of a text source (a file, or a folder of .txt/.md files) without reading
 * them; errors name the path when it is missing or a folder has no text files.
 *
 * @example
 * ```ts
 * const { files, size, mtimeMs } = await describeTextSource("input.txt");
 * ```
 */
export async function describeTextSource(pathOrDir: string): Promise<TextSourceInfo> {
  const path = resolve(pathOrDir);
  const st = await statOrThrow(path, "text source");
  const isDirectory = st.isDirectory();
  let files: string[];
  if (isDirectory) {
    files = await listTextFiles(path);
    if (files.length === 0) {
      throw new Error(`text source folder ${path} holds no ${TEXT_EXTENSIONS.join(" or ")} files`);
    }
  } else if (st.isFile()) files = [path];
  else throw new Error(`text source ${path} is neither a file nor a folder`);
  let size = 0;
  let mtimeMs = 0;
  const hash = createHash("sha256");
  for (const f of files) {
    const s = f === path ? st : await statOrThrow(f, "text file");
    size += Number(s.size);
    mtimeMs = Math.max(mtimeMs, Number(s.mtimeMs));
    hash.update(`${relative(path, f).split(sep).join("/")}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return { path, isDirectory, files, size, mtimeMs, digest: hash.digest("hex") };
}

/** Decodes one file as UTF-8, refusing binary content; strips a byte-order mark. */
function decodeText(bytes: Uint8Array, file: string): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new Error(`${file} looks binary, not text (NUL byte at offset ${nul})`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${file} is not valid UTF-8 text`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Reads a text corpus: a UTF-8 file, or a folder whose .txt/.md files (recursively, skipping
 * dot-files, sorted by relative path) are joined with "\n". Throws, naming the path, when the
 * source is missing, empty, or binary (NUL bytes or invalid UTF-8).
 *
 * @example
 * ```ts
 * const text = await loadTextSource("data/shakespeare/input.txt");
 * const corpus = await loadTextSource("docs/"); // every .txt/.md file, sorted, joined with "\n"
 * ```
 */
export async function loadTextSource(pathOrDir: string): Promise<string> {
  return (await readTextSource(await describeTextSource(pathOrDir))).text;
}

async function readTextSource(info: TextSourceInfo): Promise<{ text: string }> {
  const parts: string[] = [];
  for (const f of info.files) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(f);
    } catch (e) {
      throw new Error(`cannot read text file ${f}: ${(e as Error).message}`, { cause: e });
    }
    const text = decodeText(bytes, f);
    if (text.length > 0) parts.push(text);
  }
  const text = parts.join("\n");
  if (text.length === 0) {
    throw new Error(
      info.isDirectory
        ? `text source folder ${info.path} holds only empty files`
        : `text source ${info.path} is empty`,
    );
  }
  return { text };
}

const MAGIC = "QKVTOKS\0";
const VERSION = 1;
const DTYPE_UINT16 = 1;
const DTYPE_INT32 = 2;
/** magic 8, version u32, dtype u32, header length u32, fingerprint length u32, count f64, size f64, mtime f64, digest 32. */
const FIXED_HEADER = 8 + 4 * 4 + 8 * 3 + 32;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Options for {@link cachedTokenIds}.
 *
 * @example
 * ```ts
 * const opts: CachedTokenIdsOptions = { cacheDir: "runs/cache" };
 * ```
 */
export interface CachedTokenIdsOptions {
  /** Folder for cache files. Default: `.qkv-cache` next to the source file, or inside the source folder. */
  cacheDir?: string;
}

/**
 * Token ids of a source, and where they came from.
 *
 * @example
 * ```ts
 * const { ids, fromCache, cachePath } = await cachedTokenIds("input.txt", fp, encode);
 * ```
 */
export interface CachedTokenIds {
  /** uint16 when every id is below 65536, else int32. */
  ids: TokenIds;
  /** True when the ids were read from an up-to-date cache file. */
  fromCache: boolean;
  /** The cache file. */
  cachePath: string;
}

interface CacheHeader {
  dtype: number;
  count: number;
  size: number;
  mtimeMs: number;
  digest: string;
  fingerprint: string;
  headerLength: number;
}

function encodeCache(ids: TokenIds, info: TextSourceInfo, fingerprint: string): Uint8Array {
  const fp = new TextEncoder().encode(fingerprint);
  const headerLength = Math.ceil((FIXED_HEADER + fp.length) / 8) * 8;
  const width = ids instanceof Uint16Array ? 2 : 4;
  const out = new Uint8Array(headerLength + ids.length * width);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, width === 2 ? DTYPE_UINT16 : DTYPE_INT32, true);
  view.setUint32(16, headerLength, true);
  view.setUint32(20, fp.length, true);
  view.setFloat64(24, ids.length, true);
  view.setFloat64(32, info.size, true);
  view.setFloat64(40, info.mtimeMs, true);
  out.set(Buffer.from(info.digest, "hex"), 48);
  out.set(fp, FIXED_HEADER);
  if (LITTLE_ENDIAN_HOST) out.set(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength), headerLength);
  else if (width === 2)
    for (let i = 0; i < ids.length; i++) view.setUint16(headerLength + 2 * i, ids[i], true);
  else for (let i = 0; i < ids.length; i++) view.setInt32(headerLength + 4 * i, ids[i], true);
  return out;
}

/** Parses a cache header, or returns null when the bytes are not a complete, valid cache file. */
function decodeCacheHeader(bytes: Uint8Array): CacheHeader | null {
  if (bytes.length < FIXED_HEADER) return null;
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(8, true) !== VERSION) return null;
  const dtype = view.getUint32(12, true);
  if (dtype !== DTYPE_UINT16 && dtype !== DTYPE_INT32) return null;
  const headerLength = view.getUint32(16, true);
  const fpLength = view.getUint32(20, true);
  const count = view.getFloat64(24, true);
  if (FIXED_HEADER + fpLength > headerLength || headerLength > bytes.length || !Number.isInteger(count))
    return null;
  if (bytes.length !== headerLength + count * (dtype === DTYPE_UINT16 ? 2 : 4)) return null;
  let fingerprint: string;
  try {
    fingerprint = new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(FIXED_HEADER, FIXED_HEADER + fpLength),
    );
  } catch {
    return null;
  }
  return {
    dtype,
    count,
    size: view.getFloat64(32, true),
    mtimeMs: view.getFloat64(40, true),
    digest: Buffer.from(bytes.subarray(48, 80)).toString("hex"),
    fingerprint,
    headerLength,
  };
}

function decodeIds(bytes: Uint8Array, h: CacheHeader): TokenIds {
  const ids = h.dtype === DTYPE_UINT16 ? new Uint16Array(h.count) : new Int32Array(h.count);
  const body = bytes.subarray(h.headerLength);
  if (LITTLE_ENDIAN_HOST) new Uint8Array(ids.buffer).set(body);
  else {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    for (let i = 0; i < h.count; i++)
      ids[i] = h.dtype === DTYPE_UINT16 ? view.getUint16(2 * i, true) : view.getInt32(4 * i, true);
  }
  return ids;
}

/**
 * The cache file for a source inside `cacheDir`: `<cacheDir>/<sha256(absolute source path)[:16]>.bin`.
 *
 * @example
 * ```ts
 * tokenCachePath("data/input.txt", "data/.qkv-cache"); // "/abs/data/.qkv-cache/3f2a….bin"
 * ```
 */
export function tokenCachePath(sourcePath: string, cacheDir: string): string {
  const name = createHash("sha256").update(resolve(sourcePath)).digest("hex").slice(0, 16);
  return resolve(cacheDir, `${name}.bin`);
}

/**
 * Token ids of a text source (see {@link loadTextSource}), cached on disk. The cache file
 * (see {@link tokenCachePath}) holds a header (magic `QKVTOKS\0`, version, dtype, count, the
 * source's size, mtime and file-list digest, and `tokenizerFingerprint`) and then the ids in
 * little-endian uint16 or int32. It is reused only when all of those match; otherwise the
 * source is read, `encode`d, and the file rewritten atomically (temp file + rename).
 * `tokenizerFingerprint` must change whenever the tokenizer does, e.g. a hash of its JSON.
 *
 * @example
 * ```ts
 * const fp = sha256(JSON.stringify(tok.toJSON()));
 * const { ids, fromCache } = await cachedTokenIds("data/input.txt", fp, (t) => tok.encode(t));
 * const ds = TokenDataset.fromIds(ids, { vocabSize: tok.vocabSize });
 * ```
 */
export async function cachedTokenIds(
  sourcePath: string,
  tokenizerFingerprint: string,
  encode: (text: string) => ArrayLike<number>,
  opts: CachedTokenIdsOptions = {},
): Promise<CachedTokenIds> {
  const info = await describeTextSource(sourcePath);
  const cacheDir =
    opts.cacheDir ??
    (info.isDirectory ? join(info.path, ".qkv-cache") : join(dirname(info.path), ".qkv-cache"));
  const cachePath = tokenCachePath(info.path, cacheDir);
  let existing: Uint8Array | null = null;
  try {
    existing = await readFile(cachePath);
  } catch (e) {
    if (codeOf(e) !== "ENOENT")
      throw new Error(`cannot read token cache ${cachePath}: ${(e as Error).message}`, { cause: e });
  }
  if (existing) {
    const h = decodeCacheHeader(existing);
    if (
      h &&
      h.fingerprint === tokenizerFingerprint &&
      h.size === info.size &&
      h.mtimeMs === info.mtimeMs &&
      h.digest === info.digest
    ) {
      return { ids: decodeIds(existing, h), fromCache: true, cachePath };
    }
  }
  const { text } = await readTextSource(info);
  const raw = encode(text);
  let max = 0;
  for (let i = 0; i < raw.length; i++) {
    const id = raw[i];
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new Error(
        `cachedTokenIds: encode returned ${id} at position ${i}; ids must be non-negative 32-bit integers`,
      );
    }
    if (id > max) max = id;
  }
  const ids: TokenIds = max <= 0xffff ? Uint16Array.from(raw) : Int32Array.from(raw);
  await mkdir(cacheDir, { recursive: true });
  await writeFileAtomic(cachePath, encodeCache(ids, info, tokenizerFingerprint));
  return { ids, fromCache: false, cachePath };
}
