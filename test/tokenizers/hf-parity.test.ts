/**
 * Parity with Hugging Face tokenizers, against fixtures made by
 * scripts/gen_tokenizer_fixtures.py: HF-trained files loaded by qkv must encode id-for-id as HF
 * did, and qkv-trained files must encode in qkv as HF encoded them.
 */

import { describe, expect, it } from "vitest";
import { ByteLevelBPE, CharTokenizer, gpt2PreTokenize, loadTokenizer } from "../../src/tokenizers/index.js";
import { QKV_BPE_OPTIONS, QKV_CHAR_SPECIALS, readFixture, readJSONFixture } from "./fixture-config.js";

interface Encoded {
  ids: number[];
  decoded: string;
}

interface Cases {
  oracle: string;
  strings: string[];
  pretokenize_strings: string[];
  hf_pretokenize: string[][];
  hf_bpe: Encoded[];
  hf_bpe_add_prefix_space: Encoded[];
  hf_on_qkv_bpe: Encoded[];
  hf_on_qkv_bpe_corpus_ids: number[];
  char_strings: string[];
  hf_on_qkv_char: Encoded[];
  hf_on_qkv_char_unknown: Array<{ text: string; hf_error: string | null }>;
}

const cases = readJSONFixture("cases.json") as Cases;
const corpus = readFixture("corpus.txt");

describe(`parity with ${cases.oracle}`, () => {
  it("has fixtures for every string", () => {
    expect(cases.strings.length).toBeGreaterThan(20);
    for (const key of ["hf_bpe", "hf_bpe_add_prefix_space", "hf_on_qkv_bpe"] as const) {
      expect(cases[key]).toHaveLength(cases.strings.length);
    }
  });

  it("pre-tokenizes exactly like HF's ByteLevel regex split", () => {
    expect(cases.hf_pretokenize).toHaveLength(cases.pretokenize_strings.length);
    cases.pretokenize_strings.forEach((s, i) => {
      expect(gpt2PreTokenize(s), JSON.stringify(s)).toEqual(cases.hf_pretokenize[i]);
    });
  });

  it("encodes like HF with an HF-trained tokenizer.json", () => {
    const tok = ByteLevelBPE.fromTokenizerJSON(readJSONFixture("hf-bpe.tokenizer.json"));
    cases.strings.forEach((s, i) => {
      expect(tok.encode(s), JSON.stringify(s)).toEqual(cases.hf_bpe[i].ids);
      expect(tok.decode(cases.hf_bpe[i].ids)).toBe(cases.hf_bpe[i].decoded);
    });
  });

  it("encodes like HF with add_prefix_space: true", () => {
    const json = readJSONFixture("hf-bpe.tokenizer.json") as { pre_tokenizer: Record<string, unknown> };
    json.pre_tokenizer.add_prefix_space = true;
    const tok = ByteLevelBPE.fromTokenizerJSON(json);
    cases.strings.forEach((s, i) => {
      expect(tok.encode(s), JSON.stringify(s)).toEqual(cases.hf_bpe_add_prefix_space[i].ids);
    });
  });

  it("encodes like HF from the GPT-2-style vocab.json + merges.txt of the same model", () => {
    const hf = ByteLevelBPE.fromTokenizerJSON(readJSONFixture("hf-bpe.tokenizer.json"));
    const tok = ByteLevelBPE.fromVocabMerges(
      readJSONFixture("hf-bpe-vocab.json") as Record<string, number>,
      readFixture("hf-bpe-merges.txt"),
      { specialTokens: ["<|endoftext|>", "<|pad|>"] },
    );
    expect(readFixture("hf-bpe-merges.txt").startsWith("#version")).toBe(true);
    expect(tok.vocabSize).toBe(hf.vocabSize);
    cases.strings.forEach((s, i) => {
      expect(tok.encode(s), JSON.stringify(s)).toEqual(cases.hf_bpe[i].ids);
    });
  });

  it("reads the legacy 'left right' string form of merges identically", () => {
    const json = readJSONFixture("hf-bpe.tokenizer.json") as { model: { merges: unknown[] } };
    json.model.merges = (json.model.merges as [string, string][]).map(([l, r]) => `${l} ${r}`);
    const tok = ByteLevelBPE.fromTokenizerJSON(json);
    cases.strings.forEach((s, i) => {
      expect(tok.encode(s)).toEqual(cases.hf_bpe[i].ids);
    });
  });

  it("HF encodes a qkv-trained tokenizer.json exactly as qkv does", () => {
    const tok = loadTokenizer(readJSONFixture("qkv-bpe.tokenizer.json"));
    expect(tok.type).toBe("bpe");
    cases.strings.forEach((s, i) => {
      expect(tok.encode(s), JSON.stringify(s)).toEqual(cases.hf_on_qkv_bpe[i].ids);
      expect(cases.hf_on_qkv_bpe[i].decoded).toBe(s); // HF also round-trips qkv's vocabulary
    });
    expect(tok.encode(corpus)).toEqual(cases.hf_on_qkv_bpe_corpus_ids);
  });

  it("qkv training is reproducible: retraining on the corpus gives the committed tokenizer.json", () => {
    const trained = ByteLevelBPE.train(corpus, QKV_BPE_OPTIONS);
    expect(JSON.parse(JSON.stringify(trained.toJSON()))).toEqual(readJSONFixture("qkv-bpe.tokenizer.json"));
    const char = CharTokenizer.fromText(corpus, { specialTokens: QKV_CHAR_SPECIALS });
    expect(JSON.parse(JSON.stringify(char.toJSON()))).toEqual(readJSONFixture("qkv-char.tokenizer.json"));
  });

  it("HF encodes the qkv char tokenizer.json as qkv does, and both reject unknown characters", () => {
    const tok = loadTokenizer(readJSONFixture("qkv-char.tokenizer.json"));
    expect(tok.type).toBe("char");
    expect(cases.char_strings.length).toBeGreaterThan(5);
    cases.char_strings.forEach((s, i) => {
      expect(tok.encode(s), JSON.stringify(s)).toEqual(cases.hf_on_qkv_char[i].ids);
      expect(tok.decode(tok.encode(s))).toBe(cases.hf_on_qkv_char[i].decoded);
    });
    expect(cases.hf_on_qkv_char_unknown.length).toBeGreaterThan(5);
    for (const { text, hf_error } of cases.hf_on_qkv_char_unknown) {
      expect(hf_error).not.toBeNull();
      expect(() => tok.encode(text), JSON.stringify(text)).toThrow(/unknown character/);
    }
  });
});
