/**
 * Byte-level BPE: exact round trips on hostile Unicode, agreement with slow reference
 * implementations of training and encoding, save/load, special tokens, and error messages.
 */

import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BYTE_TO_CHAR,
  ByteLevelBPE,
  bytesToUnicode,
  gpt2PreTokenize,
  type HFBPEModel,
  loadTokenizer,
  TokenizerFormatError,
  TokenizerInputError,
} from "../../src/tokenizers/index.js";
import { readFixture } from "./fixture-config.js";
import { HOSTILE_STRINGS, randomString, seededRandom } from "./hostile-strings.js";

const corpus = readFixture("corpus.txt");
const trained = ByteLevelBPE.train(corpus, { vocabSize: 800, specialTokens: ["<|endoftext|>", "<|pad|>"] });

/** GPT-2's original encoding loop: merge every occurrence of the lowest-rank pair, repeat. */
function referenceEncode(tok: ByteLevelBPE, text: string): number[] {
  const model = tok.toJSON().model as HFBPEModel;
  const ranks = new Map((model.merges as [string, string][]).map(([l, r], i) => [`${l} ${r}`, i]));
  const ids: number[] = [];
  for (const chunk of gpt2PreTokenize(text)) {
    let word = [...bytesToUnicode(new TextEncoder().encode(chunk))];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) [best, bestRank] = [i, rank];
      }
      if (best < 0) break;
      const [l, r] = [word[best], word[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === l && word[i + 1] === r) merged.push(word[i++] + r);
        else merged.push(word[i]);
      }
      word = merged;
    }
    for (const piece of word) ids.push(model.vocab[piece]);
  }
  return ids;
}

/** minbpe-style training: recount every pair from scratch at each step. */
function referenceTrain(text: string, vocabSize: number): Array<[string, string]> {
  const words = new Map<string, number>();
  for (const w of gpt2PreTokenize(text)) words.set(w, (words.get(w) ?? 0) + 1);
  const tokens = BYTE_TO_CHAR.slice();
  const ids = new Map(tokens.map((t, i) => [t, i]));
  let split = [...words].map(([w, n]) => ({ ids: [...new TextEncoder().encode(w)], n }));
  const merges: Array<[string, string]> = [];
  while (tokens.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const { ids: word, n } of split) {
      for (let i = 0; i + 1 < word.length; i++) {
        const key = `${word[i]},${word[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + n);
      }
    }
    let best: [number, number, number] | null = null; // count, left, right
    for (const [key, count] of counts) {
      const [l, r] = key.split(",").map(Number);
      if (
        best === null ||
        count > best[0] ||
        (count === best[0] && (l < best[1] || (l === best[1] && r < best[2])))
      ) {
        best = [count, l, r];
      }
    }
    if (best === null) break;
    const [, l, r] = best;
    const merged = tokens[l] + tokens[r];
    let id = ids.get(merged);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(merged);
      ids.set(merged, id);
    }
    merges.push([tokens[l], tokens[r]]);
    split = split.map(({ ids: word, n }) => {
      const out: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === l && word[i + 1] === r) {
          out.push(id);
          i++;
        } else out.push(word[i]);
      }
      return { ids: out, n };
    });
  }
  return merges;
}

describe("ByteLevelBPE round trips", () => {
  it("decodes hand-picked hostile strings back exactly", () => {
    for (const s of HOSTILE_STRINGS) {
      const ids = trained.encode(s);
      expect(trained.decode(ids), JSON.stringify(s)).toBe(s);
      for (const id of ids) expect(id >= 0 && id < trained.vocabSize).toBe(true);
    }
  });

  it("decodes 500 random multi-script strings back exactly", () => {
    const rand = seededRandom(1234);
    for (let i = 0; i < 500; i++) {
      const s = randomString(rand, 60);
      expect(trained.decode(trained.encode(s)), JSON.stringify(s)).toBe(s);
    }
  });

  it("round-trips the training corpus and compresses it", () => {
    const ids = trained.encode(corpus);
    expect(trained.decode(ids)).toBe(corpus);
    expect(ids.length).toBeLessThan(new TextEncoder().encode(corpus).length / 2);
  });

  it("keeps a leading byte order mark (TextDecoder would drop it by default)", () => {
    expect(trained.decode(trained.encode("\ufeffhi"))).toBe("\ufeffhi");
  });

  it("turns a lone surrogate into U+FFFD, as TextEncoder does (documented limitation)", () => {
    expect(trained.decode(trained.encode("a\ud800b"))).toBe("a\ufffdb");
    expect(trained.decode(trained.encode("\udc00"))).toBe("\ufffd");
  });

  it("decodes a split multi-byte character to U+FFFD piecewise but exactly when joined", () => {
    const ids = trained.encode("😀"); // 4 bytes, not in the vocabulary as one token
    expect(ids.length).toBeGreaterThan(1);
    expect(trained.decode(ids.slice(0, 1))).toContain("\ufffd");
    expect(trained.decode(Int32Array.from(ids))).toBe("😀");
  });
});

describe("ByteLevelBPE encoding", () => {
  it("agrees with GPT-2's reference merge loop", () => {
    const rand = seededRandom(99);
    const inputs = [...HOSTILE_STRINGS, ...corpus.split("\n").slice(0, 300)];
    for (let i = 0; i < 200; i++) inputs.push(randomString(rand, 40));
    for (const s of inputs) expect(trained.encode(s), JSON.stringify(s)).toEqual(referenceEncode(trained, s));
  });

  it("applies lower-rank merges first and, within a rank, the leftmost pair first", () => {
    const tok = ByteLevelBPE.fromTokenizerJSON({
      model: { type: "BPE", vocab: { a: 0, b: 1, aa: 2, ab: 3, aab: 4 }, merges: ["a b", "a a", "aa b"] },
      pre_tokenizer: { type: "ByteLevel" },
    });
    expect(tok.encode("aaa")).toEqual([2, 0]); // "aa" + "a", not "a" + "aa"
    expect(tok.encode("aab")).toEqual([0, 3]); // (a, b) outranks (a, a), and "aab" needs "aa" first
    expect(tok.encode("aaaab")).toEqual([2, 0, 3]);
  });

  it("gives ids 0-255 to the bytes, so an untrained tokenizer encodes UTF-8 bytes", () => {
    const bytes = ByteLevelBPE.train("", { vocabSize: 256 });
    expect(bytes.vocabSize).toBe(256);
    expect(bytes.encode("aé😀")).toEqual([...new TextEncoder().encode("aé😀")]);
    expect(bytes.idToToken(32)).toBe("Ġ");
    expect(bytes.tokenToId("Ġ")).toBe(32);
    expect(bytes.tokenToId("not a token")).toBeUndefined();
  });

  it("emits special tokens as single ids, longest match first", () => {
    const tok = ByteLevelBPE.train("aaa bbb", {
      vocabSize: 262,
      specialTokens: ["<|a|>", "<|a|>b", "<|eot|>"],
    });
    const [a, ab, eot] = ["<|a|>", "<|a|>b", "<|eot|>"].map((s) => tok.specialTokens.get(s)!);
    expect([a, ab, eot]).toEqual([259, 260, 261]);
    expect(tok.encode("<|a|>b<|a|><|eot|>")).toEqual([ab, a, eot]);
    const mixed = tok.encode("x<|eot|> y");
    expect(mixed).toContain(eot);
    expect(tok.decode(mixed)).toBe("x<|eot|> y");
    expect(tok.tokenToId("<|eot|>")).toBe(eot);
    expect(tok.idToToken(eot)).toBe("<|eot|>");
  });

  it("handles a very long word quickly", () => {
    const long = "ab".repeat(100_000);
    const start = performance.now();
    const ids = trained.encode(long);
    expect(performance.now() - start).toBeLessThan(5_000);
    expect(trained.decode(ids)).toBe(long);
  });

  it("throws on ids outside the vocabulary", () => {
    expect(() => trained.decode([0, trained.vocabSize])).toThrow(
      /id 800 \(at position 1\) is not in the vocabulary/,
    );
    expect(() => trained.decode([-1])).toThrow(TokenizerInputError);
  });
});

describe("ByteLevelBPE training", () => {
  it("learns the same merges as a from-scratch recount each step", () => {
    const text = `${corpus.slice(0, 6000)}\n${HOSTILE_STRINGS.join("\n")}`;
    const fast = ByteLevelBPE.train(text, { vocabSize: 420 });
    const model = fast.toJSON().model as HFBPEModel;
    expect(model.merges).toEqual(referenceTrain(text, 420));
  });

  it("is deterministic", () => {
    const a = ByteLevelBPE.train(corpus, { vocabSize: 600, specialTokens: ["<s>"] });
    const b = ByteLevelBPE.train(corpus, { vocabSize: 600, specialTokens: ["<s>"] });
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
  });

  it("breaks count ties by the smaller pair of ids", () => {
    // Pre-tokens "cd", " ab", " cd", " ab": (Ġ, a), (a, b) and (c, d) all occur twice.
    // Ids are byte values, and space (32) is the smallest, so (Ġ, a) goes first. Then (c, d)
    // (ids 99, 100) beats (Ġa, b) (ids 256, 98), also seen twice, and (Ġ, c), seen once.
    const tok = ByteLevelBPE.train("cd ab cd ab", { vocabSize: 258 });
    expect((tok.toJSON().model as HFBPEModel).merges).toEqual([
      ["Ġ", "a"],
      ["c", "d"],
    ]);
    const tok2 = ByteLevelBPE.train("cd,ab,cd,ab", { vocabSize: 258 });
    expect((tok2.toJSON().model as HFBPEModel).merges).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
  });

  it("numbers tokens densely: bytes, then one id per merge, then special tokens", () => {
    const model = trained.toJSON().model as HFBPEModel;
    const ids = Object.values(model.vocab).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 800 }, (_, i) => i));
    model.merges.forEach((merge, rank) => {
      const [l, r] = merge as [string, string];
      expect(model.vocab[l + r]).toBe(256 + rank);
      expect(trained.idToToken(256 + rank)).toBe(l + r);
    });
  });

  it("never merges across pre-token boundaries or into special tokens", () => {
    const tok = ByteLevelBPE.train("<|eot|>hi!<|eot|>hi!<|eot|>", {
      vocabSize: 300,
      specialTokens: ["<|eot|>"],
    });
    const model = tok.toJSON().model as HFBPEModel;
    expect(model.merges).toEqual([["h", "i"]]); // "i!" would cross from a letter run into punctuation
    expect(tok.vocabSize).toBe(258); // ran out of pairs: 256 bytes + "hi" + the special token
    expect(tok.specialTokens.get("<|eot|>")).toBe(257);
  });

  it("stops at minFrequency", () => {
    const tok = ByteLevelBPE.train("aa aa aa bc", { vocabSize: 300, minFrequency: 2 });
    const merges = (tok.toJSON().model as HFBPEModel).merges as [string, string][];
    expect(merges.length).toBeGreaterThan(0);
    expect(merges).not.toContainEqual(["b", "c"]);
  });

  it("validates vocabSize", () => {
    expect(() => ByteLevelBPE.train("x", { vocabSize: 255 })).toThrow(/vocabSize/);
    expect(() => ByteLevelBPE.train("x", { vocabSize: 257, specialTokens: ["<a>", "<b>"] })).toThrow(/258/);
    expect(() => ByteLevelBPE.train("x", { vocabSize: 300.5 })).toThrow(RangeError);
    expect(() => ByteLevelBPE.train("x", { vocabSize: 300, specialTokens: ["<a>", "<a>"] })).toThrow(
      /duplicates/,
    );
  });

  it("trains vocab 1000 on about 1 MB of text in a few seconds", () => {
    const big = "/work/shared/data/tinyshakespeare.txt";
    const text = existsSync(big) ? readFileSync(big, "utf8") : corpus.repeat(22);
    expect(text.length).toBeGreaterThan(1_000_000);
    const start = performance.now();
    const tok = ByteLevelBPE.train(text, { vocabSize: 1000 });
    expect(performance.now() - start).toBeLessThan(10_000);
    expect(tok.vocabSize).toBe(1000);
  });
});

describe("ByteLevelBPE save and load", () => {
  it("train → JSON text → load gives identical encodings", () => {
    const saved = JSON.stringify(trained.toJSON());
    const loaded = ByteLevelBPE.fromTokenizerJSON(JSON.parse(saved));
    const viaLoad = loadTokenizer(saved);
    expect(loaded.vocabSize).toBe(trained.vocabSize);
    expect(JSON.stringify(loaded.toJSON())).toBe(saved);
    const rand = seededRandom(7);
    const inputs = [...HOSTILE_STRINGS, corpus, "<|pad|><|endoftext|>"];
    for (let i = 0; i < 100; i++) inputs.push(randomString(rand, 50));
    for (const s of inputs) {
      const ids = trained.encode(s);
      expect(loaded.encode(s)).toEqual(ids);
      expect(viaLoad.encode(s)).toEqual(ids);
    }
  });

  it("writes the Hugging Face layout", () => {
    const json = trained.toJSON();
    expect(json.version).toBe("1.0");
    expect(json.normalizer).toBeNull();
    expect(json.pre_tokenizer).toEqual({
      type: "ByteLevel",
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    });
    expect(json.post_processor?.type).toBe("ByteLevel");
    expect(json.decoder?.type).toBe("ByteLevel");
    const model = json.model as HFBPEModel;
    expect(model).toMatchObject({
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
    });
    expect(Object.keys(model.vocab)).toHaveLength(800);
    expect(model.vocab["<|endoftext|>"]).toBe(798);
    expect(model.merges).toHaveLength(800 - 256 - 2);
    expect(json.added_tokens.map((t) => [t.id, t.content, t.special])).toEqual([
      [798, "<|endoftext|>", true],
      [799, "<|pad|>", true],
    ]);
  });

  it("loads vocab.json + merges.txt and matches the tokenizer.json it came from", () => {
    const model = trained.toJSON().model as HFBPEModel;
    const mergesTxt = `#version: 0.2\n${(model.merges as [string, string][]).map((m) => m.join(" ")).join("\n")}\n`;
    const tok = ByteLevelBPE.fromVocabMerges(model.vocab, mergesTxt, { specialTokens: ["<|endoftext|>"] });
    for (const s of HOSTILE_STRINGS) expect(tok.encode(s)).toEqual(trained.encode(s));
    expect(tok.encode("<|endoftext|>")).toEqual([798]);
    // Without specialTokens the marker is ordinary text, as in GPT-2's own encoder.
    const plain = ByteLevelBPE.fromVocabMerges(model.vocab, mergesTxt);
    expect(plain.encode("<|endoftext|>").length).toBeGreaterThan(1);
    expect(plain.decode(plain.encode("<|endoftext|>"))).toBe("<|endoftext|>");
  });

  it("honours ignore_merges, unk_token and fuse_unk from tokenizer.json", () => {
    const vocab = { a: 0, b: 1, c: 2, ab: 3, abc: 4, "<unk>": 5 };
    const base = {
      model: { type: "BPE", vocab, merges: [["a", "b"]], unk_token: "<unk>", fuse_unk: false },
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: false },
    };
    const plain = ByteLevelBPE.fromTokenizerJSON(base);
    expect(plain.encode("abc")).toEqual([3, 2]);
    expect(plain.encode("axxb")).toEqual([0, 5, 5, 1]); // "x" has no byte token → unk
    const fused = ByteLevelBPE.fromTokenizerJSON({ ...base, model: { ...base.model, fuse_unk: true } });
    expect(fused.encode("axxb")).toEqual([0, 5, 1]);
    const whole = ByteLevelBPE.fromTokenizerJSON({ ...base, model: { ...base.model, ignore_merges: true } });
    expect(whole.encode("abc")).toEqual([4]);
    expect(whole.encode("abca")).toEqual([3, 2, 0]);
    expect(() =>
      ByteLevelBPE.fromTokenizerJSON({ ...base, model: { ...base.model, unk_token: null } }).encode("x"),
    ).toThrow(/byte 0x78 of "x" has no token/);
  });
});

/** A tokenizer.json as plain, freely editable data. */
interface EditableJSON {
  [field: string]: unknown;
  model: { [field: string]: unknown; vocab?: Record<string, unknown>; merges?: unknown[] };
  added_tokens: Array<Record<string, unknown>>;
}

describe("ByteLevelBPE malformed input", () => {
  const good = () => JSON.parse(JSON.stringify(trained.toJSON())) as EditableJSON;
  const load = (json: unknown) => () => ByteLevelBPE.fromTokenizerJSON(json);

  it("names the missing field", () => {
    expect(load({})).toThrow('missing field "model"');
    const noVocab = good();
    delete noVocab.model.vocab;
    expect(load(noVocab)).toThrow('missing field "model.vocab"');
    const noMerges = good();
    delete noMerges.model.merges;
    expect(load(noMerges)).toThrow('missing field "model.merges"');
    const noType = good();
    delete noType.model.type;
    expect(load(noType)).toThrow('missing field "model.type"');
    const addedNoId = good();
    delete addedNoId.added_tokens[1].id;
    expect(load(addedNoId)).toThrow('missing field "added_tokens[1].id"');
    expect(load(null)).toThrow(TokenizerFormatError);
    expect(load([])).toThrow(/tokenizer.json must be an object/);
  });

  it("rejects wrong types and inconsistent contents", () => {
    const json = good();
    json.model.type = "Unigram";
    expect(load(json)).toThrow(/"Unigram".*needs "BPE"/);
    const badId = good();
    badId.model.vocab!.a = "seven";
    expect(load(badId)).toThrow(/model.vocab\["a"\] must be a non-negative integer id/);
    const dupId = good();
    dupId.model.vocab!.zzzz = 5;
    expect(load(dupId)).toThrow(/id 5 is used by both/);
    const badMerge = good();
    badMerge.model.merges![3] = ["a"];
    expect(load(badMerge)).toThrow(/model.merges\[3\] must be/);
    const unknownMerge = good();
    unknownMerge.model.merges![0] = ["Ġ", "notatoken"];
    expect(load(unknownMerge)).toThrow(/merges\[0\].*"notatoken" is not in the vocabulary/);
    const clash = good();
    clash.added_tokens[0].id = 300;
    expect(load(clash)).toThrow(/has id 300, which the vocabulary gives to/);
  });

  it("rejects features it does not implement instead of mis-encoding", () => {
    const cases: Array<[(j: EditableJSON) => void, RegExp]> = [
      [(j) => (j.normalizer = { type: "NFC" }), /normalizer/],
      [(j) => (j.pre_tokenizer = { type: "Whitespace" }), /pre_tokenizer.*ByteLevel/],
      [(j) => (j.pre_tokenizer = null), /pre_tokenizer/],
      [(j) => (j.decoder = { type: "WordPiece" }), /decoder/],
      [(j) => (j.post_processor = { type: "TemplateProcessing" }), /post_processor/],
      [(j) => (j.model.dropout = 0.1), /dropout/],
      [(j) => (j.model.continuing_subword_prefix = "##"), /continuing_subword_prefix/],
      [(j) => (j.model.byte_fallback = true), /byte_fallback/],
      [(j) => (j.truncation = { max_length: 10 }), /truncation/],
      [(j) => (j.added_tokens[0].lstrip = true), /added_tokens\[0\].*lstrip/],
    ];
    for (const [mutate, message] of cases) {
      const json = good();
      mutate(json);
      expect(load(json)).toThrow(message);
    }
  });

  it("reports malformed merges.txt lines and unknown special tokens", () => {
    const vocab = { a: 0, b: 1, ab: 2 };
    expect(ByteLevelBPE.fromVocabMerges(vocab, "#version: 0.2\na b\n").encode("ab")).toEqual([2]);
    expect(() => ByteLevelBPE.fromVocabMerges(vocab, "#version: 0.2\na b c\n")).toThrow(/merges.txt line 2/);
    expect(() => ByteLevelBPE.fromVocabMerges(vocab, "ab\n")).toThrow(/merges.txt line 1/);
    expect(() => ByteLevelBPE.fromVocabMerges(vocab, "a b", { specialTokens: ["<s>"] })).toThrow(
      /"<s>" is not in vocab.json/,
    );
  });
});
