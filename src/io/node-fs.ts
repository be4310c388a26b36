/**
 * Node-only file helpers: crash-safe (atomic) file and folder replacement, JSON and
 * safetensors files on disk. Import this module directly (e.g. "./io/node-fs.js"); the
 * browser-safe io index does not re-export it.
 */

import { writeFileSync } from "node:fs";
import { lstat, mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { threadId } from "node:worker_threads";
import { openSafetensorsFile, readSafetensorsTensors } from "./node-safetensors.js";
import {
  type RawTensor,
  type SafetensorsHeader,
  type SerializeSafetensorsOptions,
  serializeSafetensors,
} from "./safetensors.js";
import { errnoWords, FileError, parseJsonText } from "./schema.js";

let counter = 0;

const phaseCounts = new Map<string, number>();

/**
 * Crash-test hook (scripts/kill-matrix.mjs): the phases of a checkpoint write call it. When the
 * environment has QKV_PAUSE_AT=PHASE or PHASE:N, the N-th arrival (default 1st) at PHASE writes
 * "PHASE:N" to the file QKV_PAUSE_FILE and then waits forever, for the test to kill -9 it. Without
 * the variable it returns at once.
 */
export async function checkpointPhase(phase: string): Promise<void> {
  const want = process.env.QKV_PAUSE_AT;
  if (!want) return;
  const [name, nth] = want.split(":");
  if (name !== phase) return;
  const n = (phaseCounts.get(phase) ?? 0) + 1;
  phaseCounts.set(phase, n);
  if (n !== Number(nth ?? 1)) return;
  if (process.env.QKV_PAUSE_FILE) writeFileSync(process.env.QKV_PAUSE_FILE, `${phase}:${n}\n`);
  await new Promise(() => {
    setInterval(() => {}, 1 << 30);
  });
}

/** A name unique to this process, thread and call: `pid-threadId-counter`. */
function uniqueSuffix(): string {
  counter += 1;
  return `${process.pid}-${threadId}-${counter}`;
}

function codeOf(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Wrap a system error with context, keeping its `code` (e.g. "ENOENT") and the cause. */
function wrap(e: unknown, context: string): Error {
  return Object.assign(new Error(`${context}: ${messageOf(e)}`, { cause: e }), { code: codeOf(e) });
}

/** fsync a directory so a rename inside it is durable. Best effort: some platforms refuse. */
async function fsyncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // Windows and some file systems cannot fsync directories; durability is then up to the OS.
  } finally {
    await fh?.close().catch(() => {});
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (codeOf(e) === "ENOENT") return false;
    throw wrap(e, `cannot inspect ${path}`);
  }
}

/**
 * Replace `path` with `data` so that readers (and a crash at any moment) see either the old
 * complete file or the new complete file, never a mix: write a temp file in the same folder
 * (exclusive create, unique pid/thread/counter name), fsync it, rename it over `path`, then
 * fsync the folder (best effort). A crash can leave a `.NAME.tmp-*` file behind, never a torn
 * target. The new file gets `opts.mode` (default 0o666 minus umask), not the old file's mode.
 *
 * @example
 * ```ts
 * await writeFileAtomic("runs/a/log.txt", "step 10\n");
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: { mode?: number } = {},
): Promise<void> {
  const dir = dirname(resolve(path));
  let tmp = "";
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    // Exclusive create never clobbers another writer's temp file; a stale one from a crashed
    // process that happened to have the same pid just moves us on to the next name.
    for (let attempt = 0; fh === undefined; attempt++) {
      tmp = join(dir, `.${basename(path)}.tmp-${uniqueSuffix()}`);
      try {
        fh = await open(tmp, "wx", opts.mode ?? 0o666);
      } catch (e) {
        if (codeOf(e) !== "EEXIST" || attempt >= 100) {
          tmp = "";
          throw e;
        }
      }
    }
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await checkpointPhase("file-written");
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => {});
    if (tmp !== "") await rm(tmp, { force: true }).catch(() => {});
    throw wrap(e, `cannot write ${path}`);
  }
  await fsyncDir(dir);
}

/**
 * Atomically write `value` as JSON (2-space indent by default, trailing newline).
 *
 * @example
 * ```ts
 * await writeJsonAtomic("ckpt/config.json", { nLayer: 12 });
 * ```
 */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
  opts: { indent?: number } = {},
): Promise<void> {
  const text = JSON.stringify(value, null, opts.indent ?? 2);
  if (text === undefined) throw new Error(`cannot write ${path}: value is not JSON-serializable`);
  await writeFileAtomic(path, `${text}\n`);
}

/**
 * Read and parse a JSON file. `what` describes the file for errors, which name it and say
 * whether it is missing or malformed.
 *
 * @example
 * ```ts
 * const cfg = await readJson<{ nLayer: number }>("ckpt/config.json", "model config");
 * // missing file -> Error: model config not found: ckpt/config.json
 * ```
 */
export async function readJson<T = unknown>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if (codeOf(e) === "ENOENT")
      throw new FileError(`${what} not found: ${path}`, { file: path, code: "ENOENT" });
    throw new FileError(`cannot read ${what} ${path}: ${errnoWords(e)}`, { file: path, code: codeOf(e) });
  }
  // The depth pre-scan runs first: a deeply nested file is refused by name, not by a stack overflow.
  return parseJsonText(text, path, { what }) as T;
}

/**
 * Read and parse a safetensors file (see `parseSafetensors` for dtype handling). The header is
 * validated first, then each tensor is read from its own offsets (see `openSafetensorsFile`), so
 * files over 4 GiB load and no buffer spans the whole file. Every tensor gets its own storage
 * (`copy` is accepted for compatibility: nothing aliases a shared buffer). Errors name the path;
 * a missing file says so.
 *
 * @example
 * ```ts
 * const { tensors, metadata } = await readSafetensorsFile("model.safetensors");
 * ```
 */
export async function readSafetensorsFile(
  path: string,
  _opts: { copy?: boolean } = {},
): Promise<{ tensors: Map<string, RawTensor>; metadata: Record<string, string> | null }> {
  return readSafetensorsTensors(path);
}

/**
 * Read and validate only the header of a safetensors file (names, dtypes, shapes, offsets),
 * without reading tensor data: cheap even for multi-gigabyte checkpoints.
 *
 * @example
 * ```ts
 * const { entries } = await readSafetensorsHeaderFile("model.safetensors");
 * ```
 */
export async function readSafetensorsHeaderFile(path: string): Promise<SafetensorsHeader> {
  const f = await openSafetensorsFile(path);
  await f.close();
  return f.header;
}

/**
 * Serialize tensors to safetensors and write them atomically (see `writeFileAtomic`).
 *
 * @example
 * ```ts
 * await writeSafetensorsFile("w.safetensors", { w: { dtype: "float32", shape: [1], data: new Float32Array([1]) } });
 * ```
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  metadata?: Record<string, string>,
  opts: Omit<SerializeSafetensorsOptions, "name"> = {},
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata, { ...opts, name: path }));
}

/**
 * Path where {@link replaceDirAtomic} parks the previous folder during a swap.
 *
 * @example
 * ```ts
 * oldDirPath("runs/ckpt"); // "runs/ckpt.qkv-old"
 * ```
 */
export function oldDirPath(finalDir: string): string {
  return `${finalDir.replace(/[\\/]+$/, "")}.qkv-old`;
}

/**
 * Create a fresh, empty temp folder next to `finalDir` (same parent, hence same file system,
 * so {@link replaceDirAtomic} can rename it into place). Creates the parent if needed.
 *
 * @example
 * ```ts
 * const tmp = await makeTempDirFor("runs/ckpt"); // "runs/.ckpt.tmp-4242-0-1"
 * ```
 */
export async function makeTempDirFor(finalDir: string): Promise<string> {
  const parent = dirname(resolve(finalDir));
  await mkdir(parent, { recursive: true });
  for (;;) {
    const dir = join(parent, `.${basename(resolve(finalDir))}.tmp-${uniqueSuffix()}`);
    try {
      await mkdir(dir);
      return dir;
    } catch (e) {
      if (codeOf(e) !== "EEXIST") throw wrap(e, `cannot create temp folder for ${finalDir}`);
    }
  }
}

/** fsync every file and folder under `dir` so the tree is durable before it is renamed in. */
async function syncTree(dir: string): Promise<void> {
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) await syncTree(p);
    else if (ent.isFile()) {
      const fh = await open(p, "r");
      try {
        await fh.sync();
      } catch {
        // Best effort, as for folders.
      } finally {
        await fh.close();
      }
    }
  }
  await fsyncDir(dir);
}

/**
 * Swap a fully written folder `tmpDir` into place as `finalDir` so that at every moment a
 * complete folder (old or new) exists at a path {@link recoverDir} knows:
 *
 * 1. fsync everything under `tmpDir`; run `recoverDir(finalDir)` to repair an earlier crash;
 * 2. rename `finalDir` → `finalDir.qkv-old` (if it exists);
 * 3. rename `tmpDir` → `finalDir` (on failure the old folder is moved back);
 * 4. remove `finalDir.qkv-old`.
 *
 * A crash between 2 and 3 leaves only `finalDir.qkv-old`; after 3 `finalDir` is the new
 * folder and any leftover `.qkv-old` is garbage. Readers should call `recoverDir` before
 * loading. `tmpDir` must be on the same file system (use {@link makeTempDirFor}); one writer
 * per `finalDir` at a time.
 *
 * @example
 * ```ts
 * const tmp = await makeTempDirFor("runs/ckpt");
 * await writeJsonAtomic(`${tmp}/config.json`, cfg);
 * await replaceDirAtomic(tmp, "runs/ckpt");
 * ```
 */
export async function replaceDirAtomic(tmpDir: string, finalDir: string): Promise<void> {
  const finalAbs = resolve(finalDir);
  if (resolve(tmpDir) === finalAbs)
    throw new Error(`replaceDirAtomic: ${tmpDir} is the target folder itself`);
  try {
    if (!(await lstat(tmpDir)).isDirectory()) throw new Error("not a folder");
  } catch (e) {
    throw wrap(e, `replaceDirAtomic: new folder ${tmpDir} is unusable`);
  }
  await syncTree(tmpDir);
  await checkpointPhase("synced");
  await recoverDir(finalDir);
  const old = oldDirPath(finalAbs);
  const parent = dirname(finalAbs);
  const hadFinal = await exists(finalAbs);
  if (hadFinal) {
    try {
      await rename(finalAbs, old);
    } catch (e) {
      throw wrap(e, `replaceDirAtomic: cannot move ${finalDir} aside`);
    }
    await fsyncDir(parent);
    await checkpointPhase("old-parked");
  }
  try {
    await rename(tmpDir, finalAbs);
  } catch (e) {
    if (hadFinal) await rename(old, finalAbs).catch(() => {});
    const hint = codeOf(e) === "EXDEV" ? " (the temp folder must be on the same file system)" : "";
    throw wrap(e, `replaceDirAtomic: cannot move ${tmpDir} to ${finalDir}${hint}`);
  }
  await fsyncDir(parent);
  await checkpointPhase("new-in-place");
  if (hadFinal) await rm(old, { recursive: true, force: true });
  await checkpointPhase("swapped");
}

/**
 * Repair the state a crash inside {@link replaceDirAtomic} can leave. Returns "present" when
 * `finalDir` exists (a leftover `.qkv-old` is deleted), "recovered" when only the parked old
 * folder existed and was renamed back, "absent" when neither exists.
 *
 * @example
 * ```ts
 * if ((await recoverDir("runs/ckpt")) !== "absent") await loadCheckpoint("runs/ckpt");
 * ```
 */
export async function recoverDir(finalDir: string): Promise<"present" | "recovered" | "absent"> {
  const finalAbs = resolve(finalDir);
  const old = oldDirPath(finalAbs);
  if (await exists(finalAbs)) {
    if (await exists(old)) await rm(old, { recursive: true, force: true });
    return "present";
  }
  if (!(await exists(old))) return "absent";
  try {
    await rename(old, finalAbs);
  } catch (e) {
    throw wrap(e, `recoverDir: cannot restore ${old} to ${finalDir}`);
  }
  await fsyncDir(dirname(finalAbs));
  return "recovered";
}
