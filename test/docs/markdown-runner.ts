// Runs the TypeScript blocks of a Markdown page as written, with "qkv" and "qkv/node" pointing at the
// sources, and returns what each `console.log(...); // expected` line printed beside what it says.
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { expect, vi } from "vitest";

export const root = resolve(import.meta.dirname, "../..");

/** The ```ts blocks of a Markdown text, in order. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/**
 * Writes `code` to `file` with the package imports pointed at src/, imports it, and checks that every
 * `console.log(...); // expected` line printed exactly the expected values (whitespace ignored). With `cwd`,
 * the block runs in that folder, so files it writes by relative path land there.
 */
export async function runBlock(code: string, file: string, cwd?: string): Promise<void> {
  const entry = (f: string) => `from ${JSON.stringify(pathToFileURL(join(root, f)).href)}`;
  const src = code
    .replace(/from "qkv\/node"/g, entry("src/node.ts"))
    .replace(/from "qkv"/g, entry("src/index.ts"));
  writeFileSync(file, src);
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    lines.push(args.map((a) => JSON.stringify(a)).join(" "));
  });
  const before = process.cwd();
  if (cwd !== undefined) process.chdir(cwd);
  try {
    await import(pathToFileURL(file).href);
  } finally {
    process.chdir(before);
    spy.mockRestore();
  }
  const expected = [...code.matchAll(/console\.log\(.*\);\s*\/\/ (.*)$/gm)].map((m) => m[1]);
  expect(lines.length, "number of console.log lines printed").toBe(expected.length);
  expected.forEach((e, k) => {
    expect(lines[k].replace(/\s/g, ""), `console.log line ${k + 1}`).toBe(e.replace(/\s/g, ""));
  });
}
