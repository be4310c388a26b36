/**
 * The playground uses the library only through its public entry: every import in playground/ is
 * "qkv" or a sibling module of the page, never a path into src/ and never a Node built-in.
 * Imports are read with TypeScript's pre-processor, so comments and strings don't count.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const DIR = resolve(import.meta.dirname, "../../playground");

describe("playground imports", () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith(".ts"));

  it("finds the page's modules", () => {
    expect(files).toEqual(expect.arrayContaining(["main.ts", "worker.ts", "qkv-api.ts"]));
  });

  for (const f of files) {
    it(`${f} imports only "qkv" and ./ siblings`, () => {
      const { importedFiles } = ts.preProcessFile(readFileSync(join(DIR, f), "utf8"), true, true);
      for (const { fileName } of importedFiles) {
        expect(fileName === "qkv" || /^\.\/[\w-]+\.js$/.test(fileName), `${f}: import "${fileName}"`).toBe(
          true,
        );
      }
    });
  }

  it("keeps the library calls in worker.ts and qkv-api.ts (the page itself imports no qkv)", () => {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(DIR, "main.ts"), "utf8"), true, true);
    expect(importedFiles.map((i) => i.fileName)).not.toContain("qkv");
  });
});
