// Bundles the playground (playground/) into dist/playground with esbuild: the page's module and
// its worker, each with the library compiled in from src/ (the page imports only "qkv"), plus the
// HTML and CSS. Run by `npm run build` and `prepare`; `qkv serve` serves the output and needs no
// esbuild at run time. `node scripts/build-playground.mjs [outDir]`.
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Builds the playground into `outDir` (default dist/playground) and returns that folder.
 * Warnings fail the build: the library must bundle for a browser cleanly.
 */
export async function buildPlayground({ outDir = join(ROOT, "dist", "playground"), minify = true } = {}) {
  const { build } = await import("esbuild");
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: "playground/main.ts", worker: "playground/worker.ts" },
    outdir: outDir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome110", "firefox115", "safari16"],
    alias: { qkv: "./src/index.ts" },
    minify,
    sourcemap: true,
    legalComments: "none",
    logLevel: "silent",
    metafile: true,
  });
  if (result.warnings.length > 0) {
    const lines = result.warnings.map((w) => `${w.location?.file ?? ""}:${w.location?.line ?? ""} ${w.text}`);
    throw new Error(`build-playground: esbuild warned:\n${lines.join("\n")}`);
  }
  for (const f of ["index.html", "style.css"]) await copyFile(join(ROOT, "playground", f), join(outDir, f));
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildPlayground({ outDir: process.argv[2] ? resolve(process.argv[2]) : undefined });
  process.stdout.write(`playground built in ${out}\n`);
}
