// Runs the README's TypeScript examples as written (with "qkv" and "qkv/node" pointing at the sources) and
// checks the values they print against the comments beside them.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { root, runBlock, tsBlocks } from "./markdown-runner.js";

const blocks = tsBlocks(readFileSync(join(root, "README.md"), "utf8"));
const dir = mkdtempSync(join(tmpdir(), "qkv-readme-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the README has a TypeScript tour", () => {
  expect(blocks.length).toBeGreaterThan(0);
});

blocks.forEach((code, i) => {
  test(`README example ${i + 1} runs and prints what its comments say`, async () => {
    await runBlock(code, join(dir, `example-${i}.ts`));
  });
});
