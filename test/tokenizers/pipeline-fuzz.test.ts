/**
 * Seeded fuzzing (fast-check) of every parity tokenizer.json: encoding arbitrary text, lone
 * surrogates and special-token fragments included, never throws anything but a QkvError; decoding
 * what was encoded never throws; and byte-level BPE round-trips every well-formed string, as HF's
 * does (the parity fixtures show HF round-trips all of them except those holding special tokens).
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HFTokenizer, loadTokenizer } from "../../src/tokenizers/index.js";
import { QkvError } from "../../src/util/errors.js";
import { parityCases, parityTokenizerJSON } from "./parity-fixtures.js";

const NAMES = [
  "wordpiece",
  "wordpiece-cased",
  "unigram",
  "unigram-bytefallback",
  "spm-t5",
  "spm-bytefallback",
  "bpe",
  "roberta",
  "llama-style",
  "unigram-nfd",
  "wordpiece-padded",
  "wordpiece-added",
];
const FRAGMENTS = [
  "[CLS]",
  "[MASK]",
  "[SEP",
  "<s>",
  "</s>",
  "<mask>",
  " <mask>",
  "<|endoftext|>",
  "▁",
  "##",
  "<0x41>",
  "\u0000",
  "\ufeff",
  "\u200d",
  "e\u0301",
  "1\ufe0f\u20e3",
];

/** Text mixing any code points (lone surrogates too) with tokenizer-specific fragments. */
const hostile = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
      { weight: 1, arbitrary: fc.constantFrom(...FRAGMENTS) },
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(""));

/** Well-formed text (no lone surrogates) without special-token text. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const wellFormed = fc
  .string({ unit: "binary", maxLength: 40 })
  .filter((s) => !LONE_SURROGATE.test(s) && !/<\/?s>|<mask>|<pad>|<unk>|<\|endoftext\|>/.test(s));

describe("fuzzed tokenizer.json pipelines (seeded)", () => {
  const tokenizers = NAMES.map((name) => [name, HFTokenizer.fromJSON(parityTokenizerJSON(name))] as const);

  it("encode, pair encode and decode never throw anything but a QkvError", () => {
    fc.assert(
      fc.property(hostile, hostile, (a, b) => {
        for (const [, tok] of tokenizers) {
          try {
            const ids = tok.encode(a);
            tok.decode(ids);
            tok.decode(ids, { skipSpecialTokens: false });
            tok.encodeFull(a, { pair: b });
          } catch (e) {
            if (!(e instanceof QkvError)) throw e;
          }
        }
      }),
      { seed: 13, numRuns: 150 },
    );
  });

  it("byte-level BPE (GPT-2 style and RoBERTa) round-trips well-formed text, as HF's does", () => {
    const cases = parityCases();
    // HF round-trips every fixture string that holds no special-token text.
    cases.strings.forEach((s, i) => {
      if (!/<\/?s>|<mask>|<pad>|<unk>|<\|endoftext\|>/.test(s))
        expect(cases.tokenizers.bpe.decoded[i]).toBeNull();
    });
    const bpe = HFTokenizer.fromJSON(parityTokenizerJSON("bpe"));
    const plain = loadTokenizer(parityTokenizerJSON("bpe"));
    const roberta = HFTokenizer.fromJSON(parityTokenizerJSON("roberta"));
    fc.assert(
      fc.property(wellFormed, (s) => {
        expect(bpe.decode(bpe.encode(s))).toBe(s);
        expect(plain.decode(plain.encode(s))).toBe(s);
        expect(roberta.decode(roberta.encode(s))).toBe(s);
      }),
      { seed: 13, numRuns: 300 },
    );
  });
});
