/**
 * Run folders (`--out-dir`): the lock that keeps a second writer out, the check that a fresh
 * `train` does not replace an earlier run, and the repair every command does before it reads
 * a checkpoint (a swap interrupted by a crash is completed, temp folders of dead writers go).
 */

import { readFileSync, unlinkSync } from "node:fs";
import { link, lstat, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { recoverDir } from "../src/node.js";
import { CliError, EXIT } from "./errors.js";

/** The lock file's name inside a run folder. */
export const LOCK_NAME = ".qkv-lock";

/** What a lock file says about its holder. */
export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
}

function codeOf(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/** True when a process with this pid runs on this machine (EPERM: it runs as another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return codeOf(e) === "EPERM";
  }
}

/** The error for a file-system failure while writing `path`, in words, with the write exit code. */
export function writeError(e: unknown, what: string, path: string): CliError {
  const code = codeOf(e);
  if (code === "EEXIST" || code === "ENOTDIR")
    return new CliError(`${what}: ${path} (or a folder above it) is a file, not a folder`, EXIT.badInput);
  if (code === "EISDIR") return new CliError(`${what}: ${path} is a folder, not a file`, EXIT.badInput);
  if (code === "ENOENT") return new CliError(`${what}: the folder of ${path} does not exist`, EXIT.badInput);
  const words: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    ENOSPC: "no space left on the device",
    EROFS: "the file system is read-only",
    EDQUOT: "disk quota exceeded",
  };
  return new CliError(
    `${what}: cannot write ${path}: ${words[code ?? ""] ?? (e as Error).message}`,
    EXIT.write,
  );
}

/** Creates `dir` (and parents), turning errno failures into named errors. */
export async function ensureFolder(dir: string, flag: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw writeError(e, flag, dir);
  }
  if (!(await stat(dir)).isDirectory())
    throw new CliError(`${flag}: ${dir} is a file, not a folder`, EXIT.badInput);
}

async function readLock(path: string): Promise<LockInfo | null> {
  try {
    const v = JSON.parse(await readFile(path, "utf8")) as Partial<LockInfo>;
    if (typeof v?.pid !== "number" || typeof v.host !== "string") return null;
    return { pid: v.pid, host: v.host, started: String(v.started), command: String(v.command) };
  } catch {
    return null;
  }
}

/** Whether the holder of a lock is gone: same host and no such process. */
function stale(info: LockInfo | null): boolean {
  return info === null || (info.host === hostname() && !pidAlive(info.pid));
}

/** A held run-folder lock; `release` removes it (only if it is still ours). */
export interface RunLock {
  path: string;
  release(): Promise<void>;
}

/**
 * Takes the lock of a run folder: `<dir>/.qkv-lock` holding pid, host, start time and command.
 * The file is written whole under a private name and hard-linked into place, so the lock never
 * exists half-written; link fails when a lock exists. A lock whose holder is dead (kill -9) is
 * taken over: it is first renamed to a private name, so of two processes taking over the same
 * stale lock only one succeeds. A live holder is refused with its pid, host and start time.
 * @example const lock = await takeLock("runs/a", "train"); try { … } finally { await lock.release(); }
 */
export async function takeLock(dir: string, command: string): Promise<RunLock> {
  const path = join(dir, LOCK_NAME);
  const mine: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  const tmp = join(dir, `${LOCK_NAME}.tmp-${process.pid}`);
  try {
    await writeFile(tmp, `${JSON.stringify(mine)}\n`);
  } catch (e) {
    throw writeError(e, "--out-dir", dir);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, path);
        break;
      } catch (e) {
        if (codeOf(e) !== "EEXIST" || attempt >= 5) throw writeError(e, "--out-dir", path);
      }
      const holder = await readLock(path);
      if (!stale(holder)) {
        const h = holder as LockInfo;
        throw new CliError(
          `--out-dir: ${dir} is in use by another qkv process (${h.command}, pid ${h.pid} on ${h.host}, since ${h.started}); wait for it to finish, or use another --out-dir`,
          EXIT.runFolder,
        );
      }
      // Stale: move it to a private name (atomic; one taker wins), check it is the one we judged.
      const grabbed = `${path}.stale-${process.pid}`;
      try {
        await rename(path, grabbed);
      } catch (e) {
        if (codeOf(e) === "ENOENT") continue; // someone else took it over first: try again
        throw writeError(e, "--out-dir", path);
      }
      const got = await readLock(grabbed);
      if (!stale(got)) {
        // We grabbed a fresh lock another process had just made: give it back and stop.
        await link(grabbed, path).catch(() => {});
        await unlink(grabbed).catch(() => {});
        throw new CliError(
          `--out-dir: ${dir} is in use by another qkv process (pid ${got?.pid})`,
          EXIT.runFolder,
        );
      }
      await unlink(grabbed).catch(() => {});
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
  // A process.exit (second Ctrl-C) skips finally blocks: drop the lock on the way out.
  const onExit = () => {
    try {
      const now = JSON.parse(readFileSync(path, "utf8")) as LockInfo;
      if (now.pid === process.pid && now.host === mine.host) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.once("exit", onExit);
  return {
    path,
    release: async () => {
      process.removeListener("exit", onExit);
      const now = await readLock(path);
      if (now && now.pid === process.pid && now.host === mine.host) await unlink(path).catch(() => {});
    },
  };
}

/** The live holder of a folder's lock, or null (no lock, or its holder is dead). */
export async function liveHolder(dir: string): Promise<LockInfo | null> {
  const info = await readLock(join(dir, LOCK_NAME));
  return info && !stale(info) ? info : null;
}

/** Temp names qkv writers use: `.NAME.tmp-PID-THREAD-N` (folders and files), lock temps. */
const TEMP_RE = /^\.(.+)\.tmp-(\d+)(?:-\d+-\d+)?$|^\.qkv-lock\.(?:tmp|stale)-(\d+)$/;

/**
 * Removes the temp folders and files that killed writers left in `dir` (and in its cache/):
 * only entries whose pid is not a live process, so a concurrent writer's are never touched.
 * Returns the names removed.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const d of [dir, join(dir, "cache")]) {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const m = TEMP_RE.exec(n);
      if (!m) continue;
      const pid = Number(m[2] ?? m[3]);
      if (pid === process.pid || pidAlive(pid)) continue;
      await rm(join(d, n), { recursive: true, force: true });
      removed.push(join(d, n));
    }
  }
  return removed;
}

/** The checkpoint folders of a run folder. */
export const CHECKPOINT_KINDS = ["best", "last"] as const;

/**
 * Repairs what a crash can leave in a run folder: completes interrupted swaps of `best/` and
 * `last/` (`last.qkv-old` back to `last`, or a leftover `.qkv-old` removed) and removes stale
 * temp folders. Skipped while a live qkv process holds the folder's lock (it may be mid-swap);
 * `readOnly` folders (no permission) are left as they are.
 */
export async function repairRunFolder(dir: string, opts: { lockHeld?: boolean } = {}): Promise<void> {
  try {
    if (!(await lstat(dir)).isDirectory()) return;
  } catch {
    return;
  }
  if (!opts.lockHeld && (await liveHolder(dir))) return;
  try {
    for (const k of CHECKPOINT_KINDS) await recoverDir(join(dir, k));
    await removeStaleTemps(dir);
  } catch (e) {
    const code = codeOf(e) ?? codeOf((e as { cause?: unknown }).cause);
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") return; // read-only: read as is
    throw e;
  }
}

/**
 * Repairs the run folder around a checkpoint folder (`runs/a/last` → `runs/a`), recovering this
 * checkpoint even when it is not named best/last. Called by every command before reading.
 */
export async function repairCheckpointFolder(checkpoint: string): Promise<void> {
  const abs = resolve(checkpoint);
  const parent = dirname(abs);
  if (await liveHolder(parent)) return;
  await repairRunFolder(parent);
  if (!(CHECKPOINT_KINDS as readonly string[]).includes(basename(abs))) {
    try {
      await recoverDir(abs);
    } catch {
      // Unwritable: the reader then reports what it finds.
    }
  }
}

/** Entries of a run folder that show a run was trained there. */
const RUN_ENTRIES = ["last", "best", "metrics.jsonl", "last.qkv-old", "best.qkv-old"];

/** The run entries present in `dir` (empty for a fresh or missing folder). */
export async function existingRun(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const n of RUN_ENTRIES) {
    try {
      await lstat(join(dir, n));
      found.push(n);
    } catch {
      // absent
    }
  }
  return found;
}

/** Removes an earlier run's checkpoints, metrics and plot (for --overwrite); the token cache stays. */
export async function clearRun(dir: string): Promise<void> {
  for (const n of [...RUN_ENTRIES, "loss.svg"]) {
    try {
      await rm(join(dir, n), { recursive: true, force: true });
    } catch (e) {
      throw writeError(e, "--overwrite", join(dir, n));
    }
  }
}
