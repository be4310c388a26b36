// Runs the README's TypeScript examples as written (with "qkv" and "qkv/node" pointing at the sources) and
// checks the values they print against the comments beside them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, expect, test, vi } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
const dir = mkdtempSync(join(tmpdir(), "qkv-readme-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the README has a TypeScript tour", () => {
  expect(blocks.length).toBeGreaterThan(0);
});

blocks.forEach((code, i) => {
  test(`README example ${i + 1} runs and prints what its comments say`, async () => {
    const entry = (f: string) => `from ${JSON.stringify(pathToFileURL(join(root, f)).href)}`;
    const src = code
      .replace(/from "qkv\/node"/g, entry("src/node.ts"))
      .replace(/from "qkv"/g, entry("src/index.ts"));
    const file = join(dir, `example-${i}.ts`);
    writeFileSync(file, src);
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => JSON.stringify(a)).join(" "));
    });
    try {
      await import(pathToFileURL(file).href);
    } finally {
      spy.mockRestore();
    }
    // Every `console.log(...); // expected` line must print exactly the expected values.
    const expected = [...code.matchAll(/console\.log\(.*\);\s*\/\/ (.*)$/gm)].map((m) => m[1]);
    expect(lines.length).toBe(expected.length);
    expected.forEach((e, k) => {
      expect(lines[k].replace(/\s/g, "")).toBe(e.replace(/\s/g, ""));
    });
  });
});
