/**
 * Id-for-id parity of qkv's tokenizer.json pipeline with Hugging Face tokenizers on thousands
 * of seeded hostile strings (scripts/gen_tokenizer_parity.py): WordPiece (uncased + cased
 * with BertProcessing), Unigram (trained by HF, with and without byte fallback), two files
 * converted from real SentencePiece models (Precompiled charsmap), GPT-2-style byte-level BPE
 * and RoBERTa post-processing, a LLaMA-style Prepend/Replace normalizer, NFKD/StripAccents/
 * Lowercase/NFC/Strip with Metaspace that neither prepends nor splits, padding and truncation
 * given in the file; and HF on qkv's own trained WordPiece file. Every count of
 * mismatches must be 0.
 */

import { describe, expect, it } from "vitest";
import { HFTokenizer, loadTokenizer } from "../../src/tokenizers/index.js";
import { type ParityCases, parityCases, parityTokenizerJSON, unpack } from "./parity-fixtures.js";

const NAMES = [
  "wordpiece",
  "wordpiece-cased",
  "qkv-wordpiece",
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

interface Tally {
  checked: number;
  mismatches: string[];
}

function compare(tally: Tally, what: string, got: unknown, want: unknown): void {
  tally.checked++;
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    tally.mismatches.push(
      `${what}: got ${JSON.stringify(got)?.slice(0, 200)}, HF ${JSON.stringify(want)?.slice(0, 200)}`,
    );
  }
}

function safe<T>(f: () => T): T | string {
  try {
    return f();
  } catch (e) {
    return `threw ${(e as Error).message}`;
  }
}

function checkTokenizer(cases: ParityCases, name: string, tok: HFTokenizer): Tally {
  const c = cases.tokenizers[name];
  const tally: Tally = { checked: 0, mismatches: [] };
  cases.strings.forEach((s, i) => {
    const want = unpack(c.ids[i]);
    const label = `${name} #${i} ${JSON.stringify(s).slice(0, 60)}`;
    compare(
      tally,
      `${label} ids`,
      safe(() => tok.encode(s)),
      want,
    );
    compare(
      tally,
      `${label} plain ids`,
      safe(() => tok.encode(s, { addSpecialTokens: false })),
      unpack(c.plain_ids[i] ?? c.ids[i]),
    );
    const decoded = c.decoded[i] ?? s;
    compare(
      tally,
      `${label} decode`,
      safe(() => tok.decode(want)),
      decoded,
    );
    compare(
      tally,
      `${label} decode keeping special`,
      safe(() => tok.decode(want, { skipSpecialTokens: false })),
      c.decoded_with_special[i] ?? decoded,
    );
  });
  cases.pairs.forEach(([a, b], i) => {
    const e = safe(() => tok.encodeFull(a, { pair: b }));
    const label = `${name} pair #${i}`;
    compare(tally, `${label} ids`, typeof e === "string" ? e : e.ids, unpack(c.pair_ids[i]));
    compare(tally, `${label} type ids`, typeof e === "string" ? e : e.typeIds, unpack(c.pair_type_ids[i]));
  });
  for (const [bi, batch] of (c.batches ?? []).entries()) {
    const t = HFTokenizer.fromJSON(parityTokenizerJSON(name));
    const { padding, truncation } = batch.config;
    t.padding =
      padding === null
        ? null
        : {
            direction: padding.direction,
            padId: batch.pad_id,
            padTypeId: 0,
            padToken: "[PAD]",
            length: padding.length ?? null,
            padToMultipleOf: padding.pad_to_multiple_of ?? null,
          };
    t.truncation =
      truncation === null
        ? null
        : {
            maxLength: truncation.max_length,
            strategy: truncation.strategy,
            direction: truncation.direction ?? "right",
          };
    const got = safe(() => t.encodeBatch(batch.inputs));
    const label = `${name} batch #${bi}`;
    if (batch.error !== null) {
      compare(tally, `${label} error`, typeof got === "string", true);
      continue;
    }
    if (typeof got === "string") {
      compare(tally, label, got, batch.ids);
      continue;
    }
    compare(
      tally,
      `${label} ids`,
      got.map((e) => e.ids),
      batch.ids,
    );
    compare(
      tally,
      `${label} type ids`,
      got.map((e) => e.typeIds),
      batch.type_ids,
    );
    compare(
      tally,
      `${label} attention mask`,
      got.map((e) => e.attentionMask),
      batch.attention_mask,
    );
  }
  return tally;
}

describe("tokenizer.json pipeline parity with Hugging Face tokenizers", () => {
  const cases = parityCases();

  it("has thousands of strings and every tokenizer's results", () => {
    expect(cases.strings.length).toBeGreaterThan(2000);
    expect(Object.keys(cases.tokenizers).sort()).toEqual([...NAMES].sort());
    for (const name of NAMES) expect(cases.tokenizers[name].ids).toHaveLength(cases.strings.length);
  });

  for (const name of NAMES) {
    it(`${name}: ids, decodings, pairs and batches match HF`, () => {
      const tok = HFTokenizer.fromJSON(parityTokenizerJSON(name));
      const tally = checkTokenizer(cases, name, tok);
      console.log(`parity ${name}: ${tally.checked} comparisons, ${tally.mismatches.length} mismatches`);
      expect(tally.mismatches.slice(0, 10)).toEqual([]);
      expect(tally.mismatches.length).toBe(0);
    });
  }

  it("loadTokenizer picks the pipeline for non-plain files and keeps ByteLevelBPE for plain ones", () => {
    expect(loadTokenizer(parityTokenizerJSON("wordpiece")).type).toBe("wordpiece");
    expect(loadTokenizer(parityTokenizerJSON("spm-t5")).type).toBe("unigram");
    expect(loadTokenizer(parityTokenizerJSON("roberta"))).toBeInstanceOf(HFTokenizer);
    const plain = loadTokenizer(parityTokenizerJSON("bpe"));
    expect(plain).not.toBeInstanceOf(HFTokenizer);
    // The plain byte-level class gives the same ids (it adds no special tokens either).
    const c = cases.tokenizers.bpe;
    let mismatches = 0;
    cases.strings.forEach((s, i) => {
      if (JSON.stringify(plain.encode(s)) !== JSON.stringify(unpack(c.ids[i]))) mismatches++;
    });
    expect(mismatches).toBe(0);
  });
});
