/** Shared CLI plumbing: backend selection, the bundled data path, output helpers. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AUTO_BACKEND_ORDER,
  backendInfo,
  getBackendName,
  nativeInfo,
  setBackend,
  setNumThreads,
  setWasmThreads,
  wasmInfo,
} from "../src/index.js";
import { CliError } from "./errors.js";

/** The package root (holds package.json and data/), found from this file's location. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "data"))) return dir;
    dir = dirname(dir);
  }
  throw new CliError("cannot find the qkv package folder (with data/)");
}

/** Path of the bundled Tiny Shakespeare. */
export function bundledShakespeare(): string {
  return join(packageRoot(), "data", "tinyshakespeare.txt");
}

/** What `--backend` accepts: the automatic choice and the built-in backends, fastest first. */
export const BACKEND_FLAG_VALUES: readonly string[] = ["auto", ...AUTO_BACKEND_ORDER];

/**
 * Selects the compute backend: the flag, else QKV_BACKEND, else auto (the library's order, native →
 * wasm → cpu). An automatic choice other than native is said once, with the reasons the faster
 * backends did not load; a backend asked for by name that cannot load is an error.
 */
export function chooseBackend(
  opts: { backend?: string; threads?: number },
  say: (s: string) => void,
): string {
  const fromFlag = opts.backend !== undefined;
  const wanted = opts.backend ?? (process.env.QKV_BACKEND || "auto");
  if (!BACKEND_FLAG_VALUES.includes(wanted)) {
    const what = fromFlag ? "--backend" : "QKV_BACKEND";
    throw new CliError(`${what} must be ${BACKEND_FLAG_VALUES.join(", ")}; got "${wanted}"`, 2);
  }
  try {
    setBackend(wanted);
  } catch (e) {
    throw new CliError(`${fromFlag ? "--backend" : "QKV_BACKEND"}: ${(e as Error).message}`);
  }
  const info = backendInfo();
  if (wanted === "auto" && info.name !== AUTO_BACKEND_ORDER[0]) {
    const why = info.skipped.map((s) => `${s.name}: ${s.reason}`).join("; ");
    const slow = info.name === "cpu" ? ", the plain-JavaScript reference, which is much slower" : "";
    say(`note: using the ${info.name} backend${slow} (${why})`);
  }
  const threads =
    opts.threads ?? (process.env.QKV_NUM_THREADS ? Number(process.env.QKV_NUM_THREADS) : undefined);
  if (threads !== undefined && info.name === "native") setNumThreads(threads);
  if (threads !== undefined && info.name === "wasm") setWasmThreads(threads);
  return describeBackend();
}

/**
 * The current backend in words, with its instruction set and threads where it has them, e.g.
 * "native (avx2, 2 threads)".
 */
export function describeBackend(): string {
  const name = getBackendName();
  if (name === "native") {
    const info = nativeInfo();
    if (info) return `native (${info.isa}, ${info.threads} thread${info.threads === 1 ? "" : "s"})`;
  }
  if (name === "wasm") {
    const info = wasmInfo();
    if (info) return `wasm (${info.isa}, ${info.threads} thread${info.threads === 1 ? "" : "s"})`;
  }
  return name;
}

/** Formats seconds as h:mm:ss or m:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}
