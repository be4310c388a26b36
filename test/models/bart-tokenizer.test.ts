/**
 * The tiny BART folder's tokenizer.json (byte-level BPE + RobertaProcessing, built by
 * scripts/gen_bart_fixtures.py with HF tokenizers) against the ids HF tokenizers produced. Until
 * qkv reads RobertaProcessing (branch `tokenizers`), loadTokenizer refuses the file by naming
 * it, and the BPE part is checked with the post-processor removed: HF's ids are then
 * `<s>` (0) + qkv's ids + `</s>` (2), and HF's pair encoding is `<s> a </s></s> b </s>`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokenizer, type Tokenizer } from "../../src/index.js";

const DIR = join(__dirname, "..", "fixtures", "bart");
const json = JSON.parse(readFileSync(join(DIR, "tiny", "tokenizer.json"), "utf8"));
const expected = JSON.parse(readFileSync(join(DIR, "expected.json"), "utf8")).tokenizer as {
  texts: string[];
  ids: number[][];
  pair: [string, string];
  pair_ids: number[];
  decoded: string[];
};

function tryLoad(j: unknown): Tokenizer | Error {
  try {
    return loadTokenizer(j);
  } catch (e) {
    return e as Error;
  }
}

describe("BART tokenizer.json", () => {
  const full = tryLoad(json);

  it("loads with RobertaProcessing and gives HF's ids, or refuses it by name", () => {
    if (full instanceof Error) {
      expect(full.message).toMatch(/RobertaProcessing/);
      return;
    }
    expect(expected.texts.map((t) => full.encode(t))).toEqual(expected.ids);
  });

  it("byte-level BPE part: HF's ids are <s> + qkv's + </s>; decode round-trips", () => {
    const bare = loadTokenizer({ ...json, post_processor: null });
    expected.texts.forEach((t, i) => {
      const ids = bare.encode(t);
      expect([0, ...ids, 2]).toEqual(expected.ids[i]);
      expect(bare.decode(ids)).toBe(expected.decoded[i]);
    });
    const [a, b] = expected.pair;
    expect([0, ...bare.encode(a), 2, 2, ...bare.encode(b), 2]).toEqual(expected.pair_ids);
  });
});
