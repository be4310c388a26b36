// The model files read in one sitting, as nanoGPT's model.py does: each stays under 400 lines.
// When one grows past it, split it by idea (configs, key maps, layers), not by arbitrary cuts.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, it } from "vitest";

const LIMIT = 400;
const FILES = [
  "src/models/gpt.ts",
  "src/models/bert.ts",
  "src/models/seq2seq.ts",
  "src/nn/transformer.ts",
  "src/nn/transformer-layers.ts",
  "src/nn/attention.ts",
];

it.each(FILES)("%s is under 400 lines", (file) => {
  const text = readFileSync(resolve(import.meta.dirname, "../..", file), "utf8");
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  expect(lines, `${file} has ${lines} lines`).toBeLessThan(LIMIT);
});
