/**
 * Shared settings for the Hugging Face parity fixtures in test/fixtures/tokenizers: where they
 * live and how the qkv side of them is trained. Used by the tests and by export-fixtures.ts.
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Folder holding the committed fixtures. */
export const FIXTURE_DIR = fileURLToPath(new URL("../fixtures/tokenizers/", import.meta.url));

/** Training options for the qkv byte-level BPE fixture (the HF one uses the same numbers). */
export const QKV_BPE_OPTIONS = { vocabSize: 1000, specialTokens: ["<|endoftext|>", "<|pad|>"] };

/** Special tokens of the qkv char tokenizer fixture. */
export const QKV_CHAR_SPECIALS = ["<|endoftext|>"];

/** Read a fixture file as text. */
export function readFixture(name: string): string {
  return readFileSync(FIXTURE_DIR + name, "utf8");
}

/** Read and parse a JSON fixture. */
export function readJSONFixture(name: string): unknown {
  return JSON.parse(readFixture(name));
}

/** Training options for the qkv WordPiece fixture (HF's WordPieceTrainer gets the same). */
export const QKV_WORDPIECE_OPTIONS = { vocabSize: 2000 };
