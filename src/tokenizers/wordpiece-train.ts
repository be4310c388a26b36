/**
 * WordPiece training as Hugging Face's WordPieceTrainer does it: byte-pair merges learned over
 * characters, where every character but a word's first carries the `##` prefix, and the merged
 * strings become the WordPiece vocabulary. Words come from the BERT pipeline (BertNormalizer,
 * BertPreTokenizer).
 *
 * Differences from HF: HF walks its word counts in hash-map order, so the ids of the `##x`
 * tokens (and ties between equally frequent pairs) vary between runs; qkv takes words in order
 * of first appearance, which makes training deterministic.
 */

import { MinHeap } from "./heap.js";
import { bertNormalizer } from "./normalizers.js";
import { HFTokenizer } from "./pipeline.js";
import { preTokenizerFromJSON } from "./pre-tokenizers.js";
import { addedTokenJSON } from "./tokenizer-json.js";

/**
 * Options of {@link trainWordPiece}; the defaults are HF's WordPieceTrainer's and BERT's.
 *
 * @example
 * ```ts
 * const opts: WordPieceTrainOptions = { vocabSize: 8000, minFrequency: 2, lowercase: true };
 * ```
 */
export interface WordPieceTrainOptions {
  /** Target vocabulary size, special tokens included. */
  vocabSize: number;
  /** Special tokens, given the first ids in this order. Default `[PAD] [UNK] [CLS] [SEP] [MASK]`. */
  specialTokens?: string[];
  /** The unknown token (must be one of the special tokens). Default `[UNK]`. */
  unkToken?: string;
  /** A pair occurring fewer times than this is not merged. Default 0. */
  minFrequency?: number;
  /** Keep at most this many distinct characters (the most frequent). Default: all. */
  limitAlphabet?: number;
  /** BertNormalizer's lowercase (and, following it, strip_accents). Default true. */
  lowercase?: boolean;
  /** Continuation prefix. Default `##`. */
  prefix?: string;
}

/**
 * Train a BERT-style WordPiece tokenizer on `text` and return it as a tokenizer.json pipeline
 * (BertNormalizer, BertPreTokenizer, WordPiece, `[CLS] $A [SEP]` / `[CLS] $A [SEP] $B [SEP]`
 * template when those tokens exist, WordPiece decoder).
 *
 * @example
 * ```ts
 * const tok = trainWordPiece("the cat sat on the mat", { vocabSize: 40 });
 * tok.encode("the cat"); // [2, ...ids..., 3]: [CLS] the cat [SEP]
 * ```
 */
export function trainWordPiece(text: string, options: WordPieceTrainOptions): HFTokenizer {
  const specials = options.specialTokens ?? ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
  const unk = options.unkToken ?? "[UNK]";
  const prefix = options.prefix ?? "##";
  const lowercase = options.lowercase ?? true;
  const minFrequency = options.minFrequency ?? 0;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < specials.length) {
    throw new RangeError(
      `vocabSize must be an integer ≥ ${specials.length} (the special tokens), got ${options.vocabSize}`,
    );
  }
  if (!specials.includes(unk))
    throw new Error(`unkToken ${JSON.stringify(unk)} must be one of the special tokens`);
  if (new Set(specials).size !== specials.length) throw new Error("specialTokens contains duplicates");

  // 1. Words, in order of first appearance, with counts.
  const normalize = bertNormalizer({
    cleanText: true,
    handleChineseChars: true,
    stripAccents: null,
    lowercase,
  });
  const pre = preTokenizerFromJSON({ type: "BertPreTokenizer" }, "pre_tokenizer");
  const wordCounts = new Map<string, number>();
  for (const line of text.split("\n")) {
    for (const piece of pre([{ text: normalize(line), first: true }])) {
      wordCounts.set(piece.text, (wordCounts.get(piece.text) ?? 0) + 1);
    }
  }

  // 2. Vocabulary: special tokens, then the alphabet in code point order.
  const vocab: string[] = [...specials];
  const ids = new Map<string, number>(specials.map((s, i) => [s, i]));
  const charCounts = new Map<string, number>();
  for (const [w, c] of wordCounts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + c);
  let alphabet = [...charCounts.keys()];
  if (options.limitAlphabet !== undefined && alphabet.length > options.limitAlphabet) {
    alphabet.sort((a, b) => charCounts.get(b)! - charCounts.get(a)! || a.codePointAt(0)! - b.codePointAt(0)!);
    alphabet = alphabet.slice(0, options.limitAlphabet);
  }
  alphabet.sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const add = (s: string): number => {
    let id = ids.get(s);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(s);
      ids.set(s, id);
    }
    return id;
  };
  for (const ch of alphabet) add(ch);

  // 3. Words as symbol ids: first character plain, the rest with the prefix.
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of wordCounts) {
    const symbols: number[] = [];
    let first = true;
    for (const ch of w) {
      if (!ids.has(ch)) {
        first = false;
        continue; // outside the kept alphabet
      }
      symbols.push(add(first ? ch : prefix + ch));
      first = false;
    }
    words.push(symbols);
    counts.push(c);
  }

  // 4. Merge the most frequent adjacent pair (ties: smaller left id, then smaller right id),
  // with a lazy max-heap: an entry whose count went stale is re-pushed with the current count.
  const SHIFT = 2 ** 24;
  const key = (a: number, b: number) => a * SHIFT + b;
  const pairCounts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const touched = new Set<number>();
  const countWord = (wi: number, sign: 1 | -1) => {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const k = key(w[i], w[i + 1]);
      pairCounts.set(k, (pairCounts.get(k) ?? 0) + sign * counts[wi]);
      if (sign > 0) {
        let set = where.get(k);
        if (set === undefined) where.set(k, (set = new Set()));
        set.add(wi);
        touched.add(k);
      }
    }
  };
  interface Entry {
    count: number;
    k: number;
  }
  const heap = new MinHeap<Entry>((x, y) => x.count > y.count || (x.count === y.count && x.k < y.k));
  for (let wi = 0; wi < words.length; wi++) countWord(wi, 1);
  for (const [k, count] of pairCounts) heap.push({ count, k });
  touched.clear();
  while (vocab.length < options.vocabSize) {
    const top = heap.pop();
    if (top === undefined) break;
    const current = pairCounts.get(top.k) ?? 0;
    if (current !== top.count) {
      if (current > 0) heap.push({ count: current, k: top.k });
      continue;
    }
    if (current <= 0 || current < minFrequency) break;
    const bestA = Math.floor(top.k / SHIFT);
    const bestB = top.k % SHIFT;
    const right = vocab[bestB];
    const merged = vocab[bestA] + (right.startsWith(prefix) ? right.slice(prefix.length) : right);
    const newId = add(merged);
    for (const wi of where.get(top.k) ?? []) {
      const w = words[wi];
      countWord(wi, -1);
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === bestA && w[i + 1] === bestB) {
          out.push(newId);
          i++;
        } else {
          out.push(w[i]);
        }
      }
      words[wi] = out;
      countWord(wi, 1);
    }
    pairCounts.delete(top.k);
    where.delete(top.k);
    for (const k of touched) {
      const c = pairCounts.get(k) ?? 0;
      if (c > 0 && (Math.floor(k / SHIFT) === newId || k % SHIFT === newId)) heap.push({ count: c, k });
    }
    touched.clear();
  }

  const vocabJSON = Object.fromEntries(vocab.map((t, i) => [t, i]));
  const cls = ids.get("[CLS]");
  const sep = ids.get("[SEP]");
  const template =
    cls !== undefined && sep !== undefined
      ? {
          type: "TemplateProcessing",
          single: [
            { SpecialToken: { id: "[CLS]", type_id: 0 } },
            { Sequence: { id: "A", type_id: 0 } },
            { SpecialToken: { id: "[SEP]", type_id: 0 } },
          ],
          pair: [
            { SpecialToken: { id: "[CLS]", type_id: 0 } },
            { Sequence: { id: "A", type_id: 0 } },
            { SpecialToken: { id: "[SEP]", type_id: 0 } },
            { Sequence: { id: "B", type_id: 1 } },
            { SpecialToken: { id: "[SEP]", type_id: 1 } },
          ],
          special_tokens: {
            "[CLS]": { id: "[CLS]", ids: [cls], tokens: ["[CLS]"] },
            "[SEP]": { id: "[SEP]", ids: [sep], tokens: ["[SEP]"] },
          },
        }
      : null;
  return HFTokenizer.fromJSON({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials.map((s, i) => addedTokenJSON(s, i)),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: template,
    decoder: { type: "WordPiece", prefix, cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: unk,
      continuing_subword_prefix: prefix,
      max_input_chars_per_word: 100,
      vocab: vocabJSON,
    },
  });
}
