/**
 * Bundles bench/tfjs-entry.ts with esbuild, for Node (CommonJS: the Emscripten glue of
 * tfjs-backend-wasm calls `require("fs")`) or for a page (ESM), into a temporary folder, and
 * says where tfjs's .wasm files are (node_modules; nothing is downloaded). Returns null with a
 * reason when the optional tfjs packages are not installed.
 */
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as TF from "@tensorflow/tfjs-core";
import type { buildTfGpt } from "./tfjs-gpt.js";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The bundled module's exports (bench/tfjs-entry.ts). */
export interface TfjsModule {
  tf: typeof TF;
  buildTfGpt: typeof buildTfGpt;
  setWasmPaths(prefix: string): void;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/** Folder holding tfjs-backend-wasm's .wasm binaries (with a trailing slash), or null if absent. */
export function tfjsWasmDir(): string | null {
  try {
    const dir = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist/");
    return existsSync(join(dir, "tfjs-backend-wasm-simd.wasm")) ? dir : null;
  } catch {
    return null;
  }
}

/** Why tfjs cannot run here, or null when both packages resolve. */
export function tfjsMissing(): string | null {
  for (const p of ["@tensorflow/tfjs-core/package.json", "@tensorflow/tfjs-backend-wasm/package.json"]) {
    try {
      require.resolve(p);
    } catch {
      return `${p.replace("/package.json", "")} is not installed`;
    }
  }
  return tfjsWasmDir() ? null : "tfjs-backend-wasm's .wasm files are missing";
}

/** Bundles the entry for `platform` and returns the output file's path. */
export async function bundleTfjs(platform: "node" | "browser"): Promise<string> {
  const { build } = await import("esbuild");
  const outDir = join(tmpdir(), "qkv-bench");
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, platform === "node" ? "tfjs-node.cjs" : "tfjs-browser.js");
  await build({
    entryPoints: [join(here, "tfjs-entry.ts")],
    outfile,
    bundle: true,
    platform,
    format: platform === "node" ? "cjs" : "esm",
    // tfjs-core's per-file ESM build is the one that registers gradients.
    mainFields: ["module", "main"],
    // Node-only paths inside tfjs that the benchmark never takes (platform_node's fetch; the
    // Emscripten glue's Node branch in a page).
    external:
      platform === "node"
        ? ["node-fetch"]
        : ["node-fetch", "fs", "path", "worker_threads", "perf_hooks", "os", "crypto", "util"],
    logLevel: "error",
  });
  return outfile;
}

/** Loads the Node bundle, pointed at node_modules' .wasm files. */
export async function loadTfjsNode(threads = 1): Promise<TfjsModule> {
  const file = await bundleTfjs("node");
  const mod = require(file) as TfjsModule;
  mod.setWasmPaths(tfjsWasmDir()!);
  mod.setThreadsCount(threads);
  await mod.tf.setBackend("wasm");
  await mod.tf.ready();
  return mod;
}
