/**
 * Seq2seq data: TSV parsing and its line-numbered errors, collation (shapes, BOS/EOS, padding,
 * ignore index, masks), PairDataset batching, and the synthetic reverse/addition tasks.
 */

import { describe, expect, it } from "vitest";
import {
  additionTask,
  collate,
  IGNORE_INDEX,
  PairDataset,
  parseTsv,
  reverseTask,
} from "../../src/data/index.js";
import { CharTokenizer } from "../../src/tokenizers/index.js";
import { Generator } from "../../src/util/rng.js";

describe("parseTsv", () => {
  it("reads pairs, dropping CR, a BOM and blank lines", () => {
    expect(parseTsv("\ufeffabc\tcba\r\n\n  \nhello world\tdlrow olleh\n")).toEqual([
      { source: "abc", target: "cba" },
      { source: "hello world", target: "dlrow olleh" },
    ]);
    expect(parseTsv("")).toEqual([]);
  });

  it("names the 1-based line number (and the file) of a malformed line", () => {
    expect(() => parseTsv("a\tb\n\nno tab here\n")).toThrow(
      /^line 3: expected "source<TAB>target".*found 0 tabs/,
    );
    expect(() => parseTsv("a\tb\nx\ty\tz\n", "pairs.tsv")).toThrow(/^pairs\.tsv line 2: .*found 2 tabs/);
    expect(() => parseTsv("a\tb\n\tb\n")).toThrow(/^line 2: empty source/);
    expect(() => parseTsv("a\t\n")).toThrow(/^line 1: empty target/);
  });
});

describe("collate", () => {
  const ids = { padId: 0, bosId: 1, eosId: 2 };

  it("pads sources, builds BOS-shifted decoder inputs and EOS-terminated labels", () => {
    const b = collate(
      [
        { source: [5, 6, 7], target: [8, 9] },
        { source: [10], target: [11, 12, 13] },
      ],
      ids,
    );
    expect(b.src.shape).toEqual([2, 3]);
    expect(b.tgtIn.shape).toEqual([2, 4]);
    expect(b.tgtOut.shape).toEqual([2, 4]);
    for (const t of [b.src, b.tgtIn, b.tgtOut]) expect(t.dtype).toBe("int32");
    expect(b.srcKeyPaddingMask.dtype).toBe("bool");
    expect(b.tgtKeyPaddingMask.dtype).toBe("bool");
    expect(b.src.tolist()).toEqual([
      [5, 6, 7],
      [10, 0, 0],
    ]);
    expect(b.tgtIn.tolist()).toEqual([
      [1, 8, 9, 0],
      [1, 11, 12, 13],
    ]);
    expect(b.tgtOut.tolist()).toEqual([
      [8, 9, 2, IGNORE_INDEX],
      [11, 12, 13, 2],
    ]);
    expect(b.srcKeyPaddingMask.tolist()).toEqual([
      [false, false, false],
      [false, true, true],
    ]);
    expect(b.tgtKeyPaddingMask.tolist()).toEqual([
      [false, false, false, true],
      [false, false, false, false],
    ]);
    expect(IGNORE_INDEX).toBe(-100);
  });

  it("rejects empty batches and sources", () => {
    expect(() => collate([], ids)).toThrow(/no pairs/);
    expect(() => collate([{ source: [], target: [1] }], ids)).toThrow(/empty source/);
    expect(() => collate([{ source: [3], target: [1] }], { ...ids, padId: 0.5 })).toThrow(/padId/);
  });
});

describe("PairDataset", () => {
  const tsv = "abc\tcba\nab\tba\nabca\tacba\nc\tc\nbb\tbb\n";
  const tok = CharTokenizer.fromText("abc", { specialTokens: ["<pad>", "<s>", "</s>"] });
  const special = { padId: 3, bosId: 4, eosId: 5 };

  it("tokenizes TSV and collates by index", () => {
    const ds = PairDataset.fromTsv(tsv, tok);
    expect(ds.length).toBe(5);
    expect(ds.pairs[0]).toEqual({ source: [0, 1, 2], target: [2, 1, 0] });
    const b = ds.collate([3, 0], special);
    expect(b.src.tolist()).toEqual([
      [2, 3, 3],
      [0, 1, 2],
    ]);
    expect(b.tgtIn.tolist()).toEqual([
      [4, 2, 3, 3],
      [4, 2, 1, 0],
    ]);
    expect(() => ds.collate([9], special)).toThrow(/index 9 out of range/);
    expect(() => PairDataset.fromTsv("abc\tcba\nbad line\n", tok, tok, "x.tsv")).toThrow(/x\.tsv line 2/);
  });

  it("iterates every pair once per pass, shuffled reproducibly", () => {
    const ds = PairDataset.fromTsv(tsv, tok);
    const firstTokens = (seed: number): number[] =>
      [...ds.batches(2, special, { shuffle: true, generator: new Generator(seed) })].flatMap((b) =>
        (b.src.tolist() as number[][]).map((r) => r.filter((v) => v !== 3).length),
      );
    const a = firstTokens(1);
    expect(a).toEqual(firstTokens(1));
    expect([...a].sort()).toEqual([1, 2, 2, 3, 4]);
    expect([...ds.batches(2, special)].map((b) => b.src.shape[0])).toEqual([2, 2, 1]);
    expect([...ds.batches(2, special, { dropLast: true })].map((b) => b.src.shape[0])).toEqual([2, 2]);
    expect(ds.sampleBatch(7, special, new Generator(0)).src.shape[0]).toBe(7);
  });
});

describe("synthetic tasks", () => {
  it("reverseTask: reproducible, reversed targets, lengths and alphabet as asked", () => {
    const pairs = reverseTask({ numSymbols: 4, minLen: 2, maxLen: 12, count: 500, seed: 5 });
    expect(pairs).toEqual(reverseTask({ numSymbols: 4, minLen: 2, maxLen: 12, count: 500, seed: 5 }));
    expect(pairs).not.toEqual(reverseTask({ numSymbols: 4, minLen: 2, maxLen: 12, count: 500, seed: 6 }));
    const lengths = new Set<number>();
    for (const { source, target } of pairs) {
      expect(target).toBe([...source].reverse().join(""));
      expect(source).toMatch(/^[abcd]+$/);
      lengths.add(source.length);
    }
    expect([...lengths].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const g = new Generator(5);
    expect(reverseTask({ numSymbols: 4, minLen: 2, maxLen: 12, count: 500, generator: g })).toEqual(pairs);
    expect(() => reverseTask({ maxLen: 13 })).toThrow(/maxLen must be an integer in \[1, 12\]/);
    expect(() => reverseTask({ minLen: 5, maxLen: 3 })).toThrow(/minLen/);
    expect(() => reverseTask({ numSymbols: 27 })).toThrow(/numSymbols/);
  });

  it("additionTask: correct sums, operands within maxDigits, all digit counts present", () => {
    const pairs = additionTask({ maxDigits: 3, count: 400, seed: 2 });
    expect(pairs).toEqual(additionTask({ maxDigits: 3, count: 400, seed: 2 }));
    const digits = new Set<number>();
    for (const { source, target } of pairs) {
      const m = /^(\d+)\+(\d+)$/.exec(source);
      expect(m).not.toBeNull();
      const [a, b] = [m![1], m![2]];
      expect(Number(target)).toBe(Number(a) + Number(b));
      for (const s of [a, b]) {
        expect(s.length).toBeLessThanOrEqual(3);
        expect(s === "0" || !s.startsWith("0")).toBe(true);
        digits.add(s.length);
      }
    }
    expect([...digits].sort()).toEqual([1, 2, 3]);
    expect(() => additionTask({ maxDigits: 0 })).toThrow(/maxDigits/);
  });

  it("feeds PairDataset end to end through a char tokenizer", () => {
    const pairs = additionTask({ maxDigits: 2, count: 50, seed: 0 });
    const tok = CharTokenizer.fromText("0123456789+", { specialTokens: ["<pad>", "<s>", "</s>"] });
    const ds = PairDataset.fromPairs(pairs, tok);
    const b = ds.collate([0, 1, 2], { padId: 11, bosId: 12, eosId: 13 });
    expect(tok.decode((b.src.tolist() as number[][])[0].filter((v) => v !== 11))).toBe(pairs[0].source);
  });
});
