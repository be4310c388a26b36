/**
 * CharTokenizer: code-point vocabularies, special tokens, errors naming the unknown character,
 * and save/load through the Hugging Face `tokenizer.json` form.
 */

import { describe, expect, it } from "vitest";
import { CharTokenizer, loadTokenizer, TokenizerFormatError } from "../../src/tokenizers/index.js";
import { HOSTILE_STRINGS, randomString, seededRandom } from "./hostile-strings.js";

describe("CharTokenizer", () => {
  it("builds a sorted vocabulary of code points", () => {
    const tok = CharTokenizer.fromText("hello world");
    expect(tok.type).toBe("char");
    expect(tok.vocabSize).toBe(8);
    expect([...Array(8).keys()].map((i) => tok.idToToken(i)).join("")).toBe(" dehlorw");
    expect(tok.encode("hello")).toEqual([3, 2, 4, 4, 5]);
    expect(tok.decode([7, 5, 6, 4, 1])).toBe("world");
  });

  it("treats astral characters as one token and sorts by code point, not UTF-16 unit", () => {
    // U+1F600 is "\ud83d\ude00"; sorting UTF-16 units would put it before U+FF5E ("～").
    const tok = CharTokenizer.fromText("～😀a");
    expect(tok.vocabSize).toBe(3);
    expect([0, 1, 2].map((i) => tok.idToToken(i))).toEqual(["a", "～", "😀"]);
    expect(tok.encode("😀😀")).toEqual([2, 2]);
    // A ZWJ family is several code points, so several tokens, and it round-trips.
    const family = "👨‍👩‍👧";
    const fam = CharTokenizer.fromText(family);
    expect(fam.encode(family)).toHaveLength([...family].length);
    expect(fam.decode(fam.encode(family))).toBe(family);
  });

  it("round-trips hostile and random strings drawn from its own alphabet", () => {
    const rand = seededRandom(42);
    const texts = [...HOSTILE_STRINGS];
    for (let i = 0; i < 200; i++) texts.push(randomString(rand, 40));
    const tok = CharTokenizer.fromText(texts.join(""));
    for (const s of texts) expect(tok.decode(tok.encode(s)), JSON.stringify(s)).toBe(s);
  });

  it("names an unknown character and its index", () => {
    const tok = CharTokenizer.fromText("abc <|eot|>", { specialTokens: ["<|eot|>"] });
    expect(() => tok.encode("ab<|eot|>cx")).toThrow('unknown character "x" (U+0078) at index 10');
    expect(() => tok.encode("a😀")).toThrow('unknown character "😀" (U+1F600) at index 1');
    expect(() => tok.encode("ab\n")).toThrow('unknown character "\\n" (U+000A) at index 2');
  });

  it("matches special tokens as single ids after the characters", () => {
    const tok = CharTokenizer.fromText("ab<|eot|>", { specialTokens: ["<|eot|>", "<|pad|>"] });
    expect(tok.vocabSize).toBe(4); // "<", "|" ... come only from the special token, so are not characters
    expect(tok.specialTokens.get("<|eot|>")).toBe(2);
    expect(tok.encode("a<|eot|>b<|pad|>")).toEqual([0, 2, 1, 3]);
    expect(tok.decode([3, 0, 2])).toBe("<|pad|>a<|eot|>");
    expect(tok.tokenToId("<|pad|>")).toBe(3);
    expect(tok.tokenToId("z")).toBeUndefined();
    expect(() => tok.encode("<|eot")).toThrow(/unknown character "<"/);
  });

  it("saves as tokenizer.json and loads back with identical behaviour", () => {
    const tok = CharTokenizer.fromText("First Citizen: ünïcödé 😀\n\t", { specialTokens: ["<|eot|>"] });
    const saved = JSON.stringify(tok.toJSON());
    const json = JSON.parse(saved);
    expect(json.model.type).toBe("WordLevel");
    expect(json.pre_tokenizer).toMatchObject({ type: "Split", behavior: "Isolated" });
    expect(json.decoder).toEqual({ type: "Fuse" });
    const loaded = CharTokenizer.fromJSON(json);
    const viaLoad = loadTokenizer(saved);
    expect(loaded.vocabSize).toBe(tok.vocabSize);
    const text = "Citizen 😀<|eot|>\tünï";
    expect(loaded.encode(text)).toEqual(tok.encode(text));
    expect(viaLoad.encode(text)).toEqual(tok.encode(text));
    expect(JSON.stringify(loaded.toJSON())).toBe(saved);
  });

  it("rejects malformed or non-char tokenizer.json", () => {
    const good = () => JSON.parse(JSON.stringify(CharTokenizer.fromText("abc").toJSON()));
    expect(() => CharTokenizer.fromJSON({})).toThrow('missing field "model"');
    const noVocab = good();
    delete noVocab.model.vocab;
    expect(() => CharTokenizer.fromJSON(noVocab)).toThrow('missing field "model.vocab"');
    const noPre = good();
    delete noPre.pre_tokenizer;
    expect(() => CharTokenizer.fromJSON(noPre)).toThrow('missing field "pre_tokenizer"');
    const words = good();
    words.pre_tokenizer = { type: "Whitespace" };
    expect(() => CharTokenizer.fromJSON(words)).toThrow(/split every character/);
    const multi = good();
    multi.model.vocab.ab = 3;
    expect(() => CharTokenizer.fromJSON(multi)).toThrow(/"ab" is not a single code point/);
    const bpe = good();
    bpe.model.type = "BPE";
    expect(() => CharTokenizer.fromJSON(bpe)).toThrow(TokenizerFormatError);
    expect(() => new CharTokenizer(new Map([["a", 0]]), new Map([["<s>", 0]]))).toThrow(
      /id 0 is used by both/,
    );
  });

  it("throws on ids outside the vocabulary", () => {
    const tok = CharTokenizer.fromText("ab");
    expect(() => tok.decode([0, 2])).toThrow(/id 2 \(at position 1\)/);
  });
});
