/**
 * The main entry (`qkv`, src/index.ts) bundles for a browser: esbuild, told the platform is a
 * browser, must resolve every import reachable from it with no Node built-in among them. The
 * import-rule test checks the layer table file by file; this checks the result a web page gets.
 */
import { resolve } from "node:path";
import { type BuildOptions, build } from "esbuild";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

const BROWSER: BuildOptions = {
  bundle: true,
  platform: "browser",
  format: "esm",
  write: false,
  logLevel: "silent",
  absWorkingDir: ROOT,
};

/** Import or require of a `node:` module left in bundled code (a string merely mentioning one does not count). */
const NODE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["']node:/;

describe("browser bundle", () => {
  it("src/index.ts bundles for the browser with no errors, no warnings and no node: import", async () => {
    const r = await build({ ...BROWSER, entryPoints: ["src/index.ts"] });
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.text)).toEqual([]);
    expect(r.outputFiles).toHaveLength(1);
    const code = r.outputFiles![0].text;
    // Guards the check itself: an empty bundle would pass the last line.
    const exported =
      /export\s*\{([^}]*)\}\s*;?\s*$/
        .exec(code)?.[1]
        .split(",")
        .map((s) => s.trim()) ?? [];
    expect(exported).toEqual(
      expect.arrayContaining([
        "GPT",
        "parseHFCheckpoint",
        "serializeHFCheckpoint",
        "loadPretrained",
        "pretrainedFiles",
        "ready",
      ]),
    );
    expect(code).not.toMatch(NODE_IMPORT);
  }, 60_000);

  it("fails, naming the module, when Node-only code is reachable from the entry", async () => {
    // A planted entry that also re-exports qkv/node, as src/index.ts would if it exported folder I/O.
    const planted = build({
      ...BROWSER,
      stdin: {
        contents: 'export * from "./src/index.ts";\nexport { fromPretrained } from "./src/node.ts";\n',
        resolveDir: ROOT,
        sourcefile: "planted-entry.ts",
        loader: "ts",
      },
    });
    await expect(planted).rejects.toThrow(/Could not resolve "node:/);
  }, 60_000);

  it("the pattern sees a node: import in bundled output", () => {
    expect('import { readFile } from "node:fs/promises";').toMatch(NODE_IMPORT);
    expect('const m = await import("node:path");').toMatch(NODE_IMPORT);
    expect('import "node:process";').toMatch(NODE_IMPORT);
    expect('const e = "node:fs is not available";').not.toMatch(NODE_IMPORT);
  });
});
