/**
 * Loader for the pipeline parity fixtures made by scripts/gen_tokenizer_parity.py
 * (test/fixtures/tokenizers/parity/): the seeded hostile strings and what HF tokenizers 0.23
 * produced for each tokenizer.json.
 */

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { FIXTURE_DIR } from "./fixture-config.js";

/** What HF produced for one tokenizer. Ids are packed as space-separated strings. */
export interface TokenizerCases {
  ids: string[];
  /** HF's decode(ids); null where it equals the input string. */
  decoded: Array<string | null>;
  /** decode(ids, skip_special_tokens=False), by string index, where it differs from `decoded`. */
  decoded_with_special: Record<string, string>;
  /** encode(s, add_special_tokens=False).ids, by string index, where they differ from `ids`. */
  plain_ids: Record<string, string>;
  pair_ids: string[];
  pair_type_ids: string[];
  batches?: Array<{
    config: {
      padding: { direction: "left" | "right"; pad_to_multiple_of?: number; length?: number } | null;
      truncation: {
        max_length: number;
        strategy: "longest_first" | "only_first" | "only_second";
        direction?: "left" | "right";
      } | null;
    };
    pad_id: number;
    inputs: Array<string | [string, string]>;
    ids?: number[][];
    type_ids?: number[][];
    attention_mask?: number[][];
    error: string | null;
  }>;
}

/** The whole cases file. */
export interface ParityCases {
  oracle: string;
  strings: string[];
  pairs: Array<[string, string]>;
  tokenizers: Record<string, TokenizerCases>;
  split_probes: Array<{ cp: number; pieces: string[] }>;
}

/** Parse packed ids ("1 2 3"; "" for none). */
export function unpack(s: string): number[] {
  return s === "" ? [] : s.split(" ").map(Number);
}

let cached: ParityCases | undefined;

/** Read (once) and parse cases.json.gz. */
export function parityCases(): ParityCases {
  cached ??= JSON.parse(
    gunzipSync(readFileSync(`${FIXTURE_DIR}parity/cases.json.gz`)).toString("utf8"),
  ) as ParityCases;
  return cached;
}

/** Read a tokenizer.json of the parity set as text. */
export function parityTokenizerJSON(name: string): string {
  return readFileSync(`${FIXTURE_DIR}parity/${name}.tokenizer.json`, "utf8");
}
