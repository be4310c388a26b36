/**
 * Learning byte-level BPE merges from pre-token counts. Words are counted once, pair counts are
 * kept in a map and patched after each merge (only the words that contain the merged pair are
 * touched), and a heap with lazy deletion yields the most frequent pair.
 */

import { BYTE_TO_CHAR } from "./byte-unicode.js";
import { MinHeap } from "./heap.js";

/**
 * Result of {@link learnByteLevelMerges}.
 *
 * @example
 * ```ts
 * const { tokens, merges } = learnByteLevelMerges(counts, 1000, 2);
 * const [left, right] = merges[0];
 * tokens[left] + tokens[right]; // the first merged token, e.g. "Ġt"
 * ```
 */
export interface LearnedMerges {
  /** Token strings in the byte-level alphabet, by id: the 256 bytes first, then merge results. */
  tokens: string[];
  /** Merged pairs of token ids, in the order learned (= merge rank). */
  merges: Array<[number, number]>;
}

/** Pair ids are packed into one number `left * PAIR_STRIDE + right` to key the maps. */
const PAIR_STRIDE = 2 ** 21;

/**
 * Largest token count {@link learnByteLevelMerges} accepts (2^21).
 *
 * @example
 * ```ts
 * if (vocabSize > MAX_TRAIN_VOCAB) throw new RangeError("vocabulary too large");
 * ```
 */
export const MAX_TRAIN_VOCAB = PAIR_STRIDE;

interface PairEntry {
  count: number;
  left: number;
  right: number;
}

/**
 * Most frequent pair first; ties go to the pair with the smaller left id, then the smaller
 * right id. Byte tokens have ids equal to their byte value and merged tokens get increasing ids,
 * so ties favour pairs built from lower bytes and from earlier merges.
 */
const beats = (a: PairEntry, b: PairEntry): boolean =>
  a.count > b.count || (a.count === b.count && (a.left < b.left || (a.left === b.left && a.right < b.right)));

/**
 * Learn merges until there are `maxTokens` tokens, no pair is left, or the best pair occurs
 * fewer than `minFrequency` times. `wordCounts` maps each pre-token (e.g. `" the"`) to how often
 * it occurs. When a merge yields a byte string that is already a token (`"a"+"bc"` after
 * `"ab"+"c"`), the existing id is reused, as Hugging Face's trainer does, and no new token is
 * added.
 *
 * @example
 * ```ts
 * const { tokens, merges } = learnByteLevelMerges(new Map([["aa", 3], ["ab", 1]]), 257, 1);
 * tokens[256]; // "aa"
 * merges; // [[97, 97]]
 * ```
 */
export function learnByteLevelMerges(
  wordCounts: ReadonlyMap<string, number>,
  maxTokens: number,
  minFrequency: number,
): LearnedMerges {
  if (maxTokens > MAX_TRAIN_VOCAB) throw new Error(`vocabulary of ${maxTokens} is too large to train`);
  const encoder = new TextEncoder();
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [word, count] of wordCounts) {
    words.push(Array.from(encoder.encode(word)));
    freqs.push(count);
  }

  // How often each adjacent pair occurs (weighted by word frequency), and in which words.
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addWordPairs = (w: number, sign: 1 | -1, delta: Map<number, number>) => {
    const word = words[w];
    for (let i = 0; i + 1 < word.length; i++) {
      const key = word[i] * PAIR_STRIDE + word[i + 1];
      delta.set(key, (delta.get(key) ?? 0) + sign * freqs[w]);
      if (sign > 0) {
        let where = pairWords.get(key);
        if (where === undefined) pairWords.set(key, (where = new Set()));
        where.add(w);
      }
    }
  };

  // The heap may hold stale entries; an entry is live only if its count is the pair's count now.
  // Every time a pair's count changes a fresh entry is pushed, so the live entry always exists.
  const heap = new MinHeap<PairEntry>(beats);
  const applyDelta = (delta: Map<number, number>) => {
    for (const [key, change] of delta) {
      if (change === 0) continue;
      const count = (pairCounts.get(key) ?? 0) + change;
      if (count <= 0) {
        pairCounts.delete(key);
        pairWords.delete(key);
      } else {
        pairCounts.set(key, count);
        heap.push({ count, left: Math.floor(key / PAIR_STRIDE), right: key % PAIR_STRIDE });
      }
    }
  };
  const initial = new Map<number, number>();
  for (let w = 0; w < words.length; w++) addWordPairs(w, 1, initial);
  applyDelta(initial);

  const tokens = BYTE_TO_CHAR.slice();
  const tokenIds = new Map(tokens.map((t, id) => [t, id]));
  const merges: Array<[number, number]> = [];

  while (tokens.length < maxTokens) {
    const best = heap.pop();
    if (best === undefined) break;
    const key = best.left * PAIR_STRIDE + best.right;
    if (pairCounts.get(key) !== best.count) continue; // stale entry
    if (best.count < minFrequency) break;

    const merged = tokens[best.left] + tokens[best.right];
    let id = tokenIds.get(merged);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(merged);
      tokenIds.set(merged, id);
    }
    merges.push([best.left, best.right]);

    // Rewrite every word that contains the pair, and patch the pair counts by the difference.
    const delta = new Map<number, number>();
    for (const w of pairWords.get(key) ?? []) {
      const word = words[w];
      const rewritten = mergePair(word, best.left, best.right, id);
      if (rewritten.length === word.length) continue; // the pair left this word earlier
      addWordPairs(w, -1, delta);
      words[w] = rewritten;
      addWordPairs(w, 1, delta);
    }
    applyDelta(delta);
    pairCounts.delete(key);
    pairWords.delete(key);
  }
  return { tokens, merges };
}

/** Replace each non-overlapping `left right` in `word`, scanning left to right, with `id`. */
function mergePair(word: number[], left: number, right: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
      out.push(id);
      i++;
    } else {
      out.push(word[i]);
    }
  }
  return out;
}
