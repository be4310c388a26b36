/** Shared CLI plumbing: backend selection, the bundled data path, output helpers. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  loadNativeBackend,
  loadWasmBackend,
  nativeInfo,
  nativeLoadError,
  setBackend,
  setNumThreads,
  setWasmThreads,
  wasmInfo,
  wasmLoadError,
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

/**
 * Selects the compute backend: the flag, else QKV_BACKEND, else native when it loads. Falling
 * back to the reference backend is said once, on stderr.
 */
export function chooseBackend(
  opts: { backend?: string; threads?: number },
  say: (s: string) => void,
): string {
  const wanted = opts.backend ?? process.env.QKV_BACKEND ?? "auto";
  if (!["auto", "native", "wasm", "cpu"].includes(wanted)) {
    throw new CliError(`--backend must be native, wasm or cpu, got "${wanted}"`, 2);
  }
  if (wanted === "cpu") {
    setBackend("cpu");
    return "cpu";
  }
  const threads =
    opts.threads ?? (process.env.QKV_NUM_THREADS ? Number(process.env.QKV_NUM_THREADS) : undefined);
  if (wanted === "wasm") {
    const wasm = loadWasmBackend();
    if (!wasm)
      throw new CliError(`the wasm backend is not available: ${wasmLoadError() ?? "unknown reason"}`);
    setBackend(wasm);
    if (threads !== undefined) setWasmThreads(threads);
    const info = wasmInfo();
    return info ? `wasm (${info.isa}, ${info.threads} thread${info.threads === 1 ? "" : "s"})` : "wasm";
  }
  const native = loadNativeBackend();
  if (!native) {
    if (wanted === "native")
      throw new CliError(`the native backend is not available: ${nativeLoadError() ?? "unknown reason"}`);
    say(
      `note: native backend unavailable (${nativeLoadError() ?? "unknown reason"}); using the reference cpu backend, which is much slower`,
    );
    setBackend("cpu");
    return "cpu";
  }
  setBackend(native);
  if (threads !== undefined) setNumThreads(threads);
  const info = nativeInfo();
  return info ? `native (${info.isa}, ${info.threads} thread${info.threads === 1 ? "" : "s"})` : "native";
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
