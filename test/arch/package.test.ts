/**
 * The package as a user gets it: `npm pack` lists the published files, and a tiny web app that
 * installs exactly those files imports `qkv` by name and bundles with Vite and with esbuild, with
 * no warnings, no Node polyfill and no `node:` import reachable, then runs in chromium. Needs
 * dist/ (`npm run build`, which `npm install` runs).
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { build as esbuild } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, openPage, type Served } from "../browser/harness.js";

const ROOT = resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  exports: Record<string, { types: string; import: string }>;
};

/** Import or require of a `node:` module left in bundled code (see browser-bundle.test.ts). */
const NODE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["']node:/;

/** The bit of the DOM the Vite page writes its result to (the tests compile without DOM types). */
interface PageDocument {
  document: { body: { dataset: Record<string, string | undefined> } };
}

/** The latest modification time (ms) of a .ts file under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(".ts"))
      newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** What `npm pack` would publish (paths relative to the package root). */
function packedFiles(): string[] {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
}

// A user's page: the main entry by package name, some of everything a page would use.
const APP = `import { GPT, Generator, getBackendName, loadPretrained, pretrainedFiles, ready, tensor } from "qkv";
const model = new GPT({ vocabSize: 8, blockSize: 4, nLayer: 1, nHead: 1, nEmbd: 8, dropout: 0, bias: true }, { generator: new Generator(0) });
const before = getBackendName();
globalThis.pageReady = (async () => {
  const after = await ready();
  const { model: again } = await loadPretrained(GPT, pretrainedFiles(model));
  const x = tensor([[1, 2, 3]], { dtype: "int32" });
  const d = again.forward(x).logits.sub(model.forward(x).logits).abs().max().item();
  document.body.dataset.result = JSON.stringify({ before, after, d });
})();
`;
const HTML = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><script type="module" src="./main.js"></script></body></html>`;

/**
 * Why dist/ cannot stand for the package (missing, or older than src/), or null. In CI (a fresh
 * `npm ci` builds it) that is a failure; elsewhere the tests skip, saying so, rather than fail after
 * every edit until the next `npm run build`.
 */
function distProblem(): string | null {
  const index = join(ROOT, "dist/src/index.js");
  if (!existsSync(index)) return "dist/ is missing: run `npm run build`";
  if (newestSource(join(ROOT, "src")) > statSync(index).mtimeMs)
    return "dist/ is older than src/: run `npm run build`";
  return null;
}
const problem = distProblem();
if (problem && process.env.CI) throw new Error(problem);
if (problem) console.warn(`test/arch/package.test.ts skipped: ${problem}`);

/**
 * `vite build` of the app in `root`, as a user's shell runs it, returning what Vite logged as a
 * warning or error (and the message of a failed build). NODE_ENV is production for the build, as
 * from a shell: under vitest it is "test", and Vite then keeps quiet about modules it externalizes.
 */
async function viteBuild(root: string, outDir: string): Promise<string[]> {
  const { build } = await import("vite");
  const said: string[] = [];
  const logger = {
    info: () => {},
    warn: (m: string) => said.push(m),
    warnOnce: (m: string) => said.push(m),
    error: (m: string) => said.push(m),
    clearScreen: () => {},
    hasErrorLogged: () => false,
    hasWarned: false,
  };
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({
      root,
      configFile: false,
      mode: "production",
      logLevel: "warn",
      customLogger: logger,
      build: {
        outDir,
        emptyOutDir: true,
        target: "es2022",
        reportCompressedSize: false,
      },
    });
  } catch (e) {
    said.push(`build failed: ${(e as Error).message}`);
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  return said;
}

describe.skipIf(problem !== null)("the published package", () => {
  let files: string[] = [];
  let app = "";

  beforeAll(() => {
    files = packedFiles();
    // An app folder with qkv installed from exactly the packed files.
    app = mkdtempSync(join(tmpdir(), "qkv-app-"));
    const installed = join(app, "node_modules", pkg.name);
    for (const f of files) {
      mkdirSync(dirname(join(installed, f)), { recursive: true });
      cpSync(join(ROOT, f), join(installed, f));
    }
    writeFileSync(join(app, "package.json"), '{ "name": "app", "private": true, "type": "module" }\n');
    writeFileSync(join(app, "main.js"), APP);
    writeFileSync(join(app, "index.html"), HTML);
  }, 60_000);
  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it("publishes every export target and its types, and no tests or sources beyond the op table", () => {
    for (const [entry, target] of Object.entries(pkg.exports)) {
      expect(files, `export ${entry}`).toContain(target.import.replace(/^\.\//, ""));
      expect(files, `export ${entry}`).toContain(target.types.replace(/^\.\//, ""));
    }
    expect(files).toContain("package.json");
    expect(files).toContain("README.md");
    expect(files.filter((f) => f.startsWith("test/") || f.startsWith("dist/test/"))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([
      "src/backend/op-table.ts",
    ]);
  });

  it("Vite builds a page importing qkv with no warnings and no node: import, and the page runs", async () => {
    const out = join(app, "dist");
    // Vite's defaults, chunk-size advisory included: the embedded wasm modules are packed (about
    // 260 kB of base64 for both) so the page's one chunk stays under 500 kB.
    expect(await viteBuild(app, out)).toEqual([]);
    const served: Record<string, Served> = {};
    let js = "";
    const html = readFileSync(join(out, "index.html"), "utf8");
    for (const src of [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+)"/g)].map((m) => m[1])) {
      const body = readFileSync(join(out, src), "utf8");
      if (src.endsWith(".js")) js += body;
      served[`/${src}`] = { body };
    }
    expect(js.length).toBeGreaterThan(10_000);
    expect(js).not.toMatch(NODE_IMPORT);
    if (chromiumMissing()) {
      console.warn(`package.test.ts: ${chromiumMissing()}; the Vite page was built but not run`);
      return;
    }
    // Vite's index.html loads its bundle as a module script; the harness serves it as /index.html.
    const page = await openPage({ script: "", html, files: served });
    try {
      const result = JSON.parse(
        (await page.page.evaluate(
          () => (globalThis as unknown as PageDocument).document.body.dataset.result,
        )) ?? "null",
      );
      // Before ready() a page computes on cpu; after it, on the wasm backend.
      expect(result).toEqual({ before: "cpu", after: "wasm", d: 0 });
      expect(page.errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 120_000);

  it("the same Vite build reports Node-only code when a page imports qkv/node (the check can fail)", async () => {
    const planted = join(app, "planted");
    mkdirSync(planted, { recursive: true });
    writeFileSync(
      join(planted, "main.js"),
      'import { fromPretrained } from "qkv/node";\nconsole.log(fromPretrained);\n',
    );
    writeFileSync(join(planted, "index.html"), HTML);
    const said = await viteBuild(planted, join(planted, "dist"));
    expect(said.join("\n")).toMatch(
      /Module "node:fs\/promises" has been externalized for browser compatibility/,
    );
  }, 120_000);

  it("esbuild bundles the same page for the browser with no warnings and no node: import", async () => {
    const r = await esbuild({
      entryPoints: [join(app, "main.js")],
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
      absWorkingDir: app,
    });
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.text)).toEqual([]);
    expect(r.outputFiles[0].text).not.toMatch(NODE_IMPORT);
    expect(r.outputFiles[0].text).toContain("loadPretrained");
  }, 60_000);
});
