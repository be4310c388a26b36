/** `qkv tokenizer train --type wordpiece`, run as a user would, then encode and decode with it. */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { qkv } from "../cli/run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-wp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("qkv tokenizer train --type wordpiece writes a BERT tokenizer.json that encodes with [CLS] … [SEP]", () => {
  const data = join(dir, "text.txt");
  const file = join(dir, "tokenizer.json");
  writeFileSync(data, "First Citizen:\nBefore we proceed any further, hear me speak.\n".repeat(50));
  const t = qkv([
    "tokenizer",
    "train",
    "--type",
    "wordpiece",
    "--data",
    data,
    "--out",
    file,
    "--vocab-size",
    "300",
  ]);
  expect(t.code).toBe(0);
  expect(t.stdout).toMatch(/trained a wordpiece tokenizer/);
  const json = JSON.parse(readFileSync(file, "utf8"));
  expect(json.model.type).toBe("WordPiece");
  expect(json.normalizer.type).toBe("BertNormalizer");
  const e = qkv(["tokenizer", "encode", "--tokenizer", file, "Before we proceed"]);
  expect(e.code).toBe(0);
  const ids = e.stdout.trim().split(" ");
  expect(ids[0]).toBe(String(json.model.vocab["[CLS]"]));
  expect(ids.at(-1)).toBe(String(json.model.vocab["[SEP]"]));
  const d = qkv(["tokenizer", "decode", "--tokenizer", file, ...ids]);
  expect(d.stdout).toBe("before we proceed\n"); // uncased; HF's decode skips [CLS] and [SEP]
});
