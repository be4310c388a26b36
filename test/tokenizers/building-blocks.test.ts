/**
 * The pieces under the tokenizers: GPT-2's byte↔unicode table, the pre-tokenization regex,
 * special-token splitting, the heap, and loadTokenizer's dispatch and errors.
 */

import { describe, expect, it } from "vitest";
import { MinHeap } from "../../src/tokenizers/heap.js";
import {
  BYTE_TO_CHAR,
  ByteLevelBPE,
  bytesToUnicode,
  CHAR_TO_BYTE,
  CharTokenizer,
  gpt2PreTokenize,
  loadTokenizer,
  TokenizerFormatError,
  unicodeToBytes,
} from "../../src/tokenizers/index.js";
import { SpecialTokenMatcher } from "../../src/tokenizers/special-tokens.js";
import { HOSTILE_STRINGS, randomString, seededRandom } from "./hostile-strings.js";

describe("byte ↔ unicode table", () => {
  it("is a bijection onto printable, non-space characters", () => {
    expect(BYTE_TO_CHAR).toHaveLength(256);
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    for (let b = 0; b < 256; b++) {
      const ch = BYTE_TO_CHAR[b];
      expect([...ch]).toHaveLength(1);
      expect(/[\p{White_Space}\p{Cc}]/u.test(ch)).toBe(false);
      expect(CHAR_TO_BYTE.get(ch)).toBe(b);
    }
  });

  it("matches GPT-2's well-known assignments", () => {
    expect(BYTE_TO_CHAR[0x20]).toBe("Ġ");
    expect(BYTE_TO_CHAR[0x0a]).toBe("Ċ");
    expect(BYTE_TO_CHAR[0x09]).toBe("ĉ");
    expect(BYTE_TO_CHAR[0x00]).toBe("Ā");
    expect(BYTE_TO_CHAR[0x21]).toBe("!");
    expect(BYTE_TO_CHAR[0xad]).toBe("Ń"); // soft hyphen is remapped (68th non-printable byte → U+0143)
    expect(BYTE_TO_CHAR[0xff]).toBe("ÿ");
    expect(bytesToUnicode(new TextEncoder().encode(" café"))).toBe("ĠcafÃ©");
  });

  it("reads byte-level strings back, or null for foreign characters", () => {
    expect(Array.from(unicodeToBytes("ĠcafÃ©")!)).toEqual([...new TextEncoder().encode(" café")]);
    expect(unicodeToBytes("a😀")).toBeNull();
  });
});

describe("GPT-2 pre-tokenization", () => {
  it("splits like GPT-2", () => {
    expect(gpt2PreTokenize("I'm here  now!")).toEqual(["I", "'m", " here", " ", " now", "!"]);
    expect(gpt2PreTokenize("Hello, world 123abc\n\n  x")).toEqual([
      "Hello",
      ",",
      " world",
      " 123",
      "abc",
      "\n\n ",
      " x",
    ]);
    expect(gpt2PreTokenize("they'll WE'LL")).toEqual(["they", "'ll", " WE", "'", "LL"]);
    expect(gpt2PreTokenize("")).toEqual([]);
  });

  it("uses Unicode White_Space (U+0085 is space, U+FEFF is not), as Hugging Face does", () => {
    expect(gpt2PreTokenize("x\u0085\u0085!")).toEqual(["x", "\u0085", "\u0085", "!"]);
    expect(gpt2PreTokenize("x\ufeff\ufeff!")).toEqual(["x", "\ufeff\ufeff!"]);
  });

  it("covers every character: the pieces concatenate back to the input", () => {
    const rand = seededRandom(5);
    const inputs = [...HOSTILE_STRINGS, "a\ud800b"];
    for (let i = 0; i < 300; i++) inputs.push(randomString(rand, 50));
    for (const s of inputs) {
      const pieces = gpt2PreTokenize(s);
      expect(pieces.join("")).toBe(s);
      for (const p of pieces) expect(p.length).toBeGreaterThan(0);
    }
  });
});

describe("SpecialTokenMatcher", () => {
  it("splits around tokens, preferring the longest at each position", () => {
    const m = new SpecialTokenMatcher(
      new Map([
        ["<a>", 1],
        ["<a><b>", 2],
        ["[x.*]", 3],
      ]),
    );
    expect(m.split("q<a><b>r<a>[x.*]")).toEqual(["q", 2, "r", 1, 3]);
    expect(m.split("[xx]")).toEqual(["[xx]"]); // regex syntax in tokens is literal
    expect(m.split("")).toEqual([]);
    expect(new SpecialTokenMatcher(new Map()).split("abc")).toEqual(["abc"]);
    expect(() => new SpecialTokenMatcher(new Map([["", 0]]))).toThrow(/non-empty/);
  });
});

describe("MinHeap", () => {
  it("pops items in order", () => {
    const rand = seededRandom(3);
    const values = Array.from({ length: 500 }, () => Math.floor(rand() * 100));
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const v of values) heap.push(v);
    expect(heap.size).toBe(500);
    const out: number[] = [];
    for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
    expect(out).toEqual([...values].sort((a, b) => a - b));
  });
});

describe("loadTokenizer", () => {
  it("dispatches on model.type and accepts strings or objects", () => {
    const bpe = ByteLevelBPE.train("hello hello world", { vocabSize: 260 });
    const char = CharTokenizer.fromText("hello world");
    expect(loadTokenizer(bpe.toJSON())).toBeInstanceOf(ByteLevelBPE);
    expect(loadTokenizer(JSON.stringify(char.toJSON()))).toBeInstanceOf(CharTokenizer);
    expect(loadTokenizer(bpe.toJSON()).encode("hello world")).toEqual(bpe.encode("hello world"));
  });

  it("explains what is wrong", () => {
    expect(() => loadTokenizer("{not json")).toThrow(/not valid JSON/);
    expect(() => loadTokenizer({ version: "1.0" })).toThrow('missing field "model"');
    expect(() => loadTokenizer({ model: {} })).toThrow('missing field "model.type"');
    expect(() => loadTokenizer({ model: { type: "Quantum" } })).toThrow(/"Quantum" is not supported/);
    expect(() => loadTokenizer(42)).toThrow(TokenizerFormatError);
  });
});
