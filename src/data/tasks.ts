/**
 * Built-in synthetic sequence-to-sequence tasks that need no download: reversing a string of
 * symbols and adding two integers. Both are seeded, so a dataset is reproducible from its seed.
 */

import { Generator } from "../util/rng.js";
import type { TextPair } from "./pairs.js";

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/**
 * Options for {@link reverseTask}.
 *
 * @example
 * ```ts
 * const opts: ReverseTaskOptions = { numSymbols: 8, minLen: 3, maxLen: 10, count: 5000, seed: 1 };
 * ```
 */
export interface ReverseTaskOptions {
  /** Alphabet size: symbols are the first `numSymbols` lowercase letters (1–26). Default 10. */
  numSymbols?: number;
  /** Shortest source length. Default 1. */
  minLen?: number;
  /** Longest source length, at most 12. Default 8. */
  maxLen?: number;
  /** Number of pairs. Default 1000. */
  count?: number;
  /** Generator to draw from (advanced in place). Default `new Generator(seed)`. */
  generator?: Generator;
  /** Seed when no generator is given. Default 0. */
  seed?: number;
}

/**
 * Options for {@link additionTask}.
 *
 * @example
 * ```ts
 * const opts: AdditionTaskOptions = { maxDigits: 2, count: 2000, seed: 3 };
 * ```
 */
export interface AdditionTaskOptions {
  /** Most digits per operand (1–7). Default 3. */
  maxDigits?: number;
  /** Number of pairs. Default 1000. */
  count?: number;
  /** Generator to draw from (advanced in place). Default `new Generator(seed)`. */
  generator?: Generator;
  /** Seed when no generator is given. Default 0. */
  seed?: number;
}

function intIn(what: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi)
    throw new Error(`${what} must be an integer in [${lo}, ${hi}], got ${v}`);
  return v;
}

/**
 * Pairs `source → reversed source` over a small letter alphabet; lengths uniform in
 * [minLen, maxLen], symbols uniform.
 *
 * @example
 * ```ts
 * const pairs = reverseTask({ numSymbols: 5, minLen: 2, maxLen: 6, count: 3, seed: 0 });
 * // e.g. [{ source: "dbe", target: "ebd" }, …]
 * ```
 */
export function reverseTask(opts: ReverseTaskOptions = {}): TextPair[] {
  const numSymbols = intIn("reverseTask: numSymbols", opts.numSymbols ?? 10, 1, LETTERS.length);
  const maxLen = intIn("reverseTask: maxLen", opts.maxLen ?? 8, 1, 12);
  const minLen = intIn("reverseTask: minLen", opts.minLen ?? 1, 1, maxLen);
  const count = intIn("reverseTask: count", opts.count ?? 1000, 0, 2 ** 31 - 1);
  const g = opts.generator ?? new Generator(opts.seed ?? 0);
  const pairs: TextPair[] = [];
  for (let n = 0; n < count; n++) {
    const len = g.randint(minLen, maxLen + 1);
    let source = "";
    for (let i = 0; i < len; i++) source += LETTERS[g.randint(0, numSymbols)];
    pairs.push({ source, target: [...source].reverse().join("") });
  }
  return pairs;
}

/**
 * Pairs `"a+b" → "sum"` in decimal. Each operand's digit count is uniform in [1, maxDigits] and
 * its value uniform among numbers with that many digits (0–9 for one digit), so short and long
 * operands are equally common.
 *
 * @example
 * ```ts
 * const pairs = additionTask({ maxDigits: 2, count: 2, seed: 0 });
 * // e.g. [{ source: "47+5", target: "52" }, …]
 * ```
 */
export function additionTask(opts: AdditionTaskOptions = {}): TextPair[] {
  const maxDigits = intIn("additionTask: maxDigits", opts.maxDigits ?? 3, 1, 7);
  const count = intIn("additionTask: count", opts.count ?? 1000, 0, 2 ** 31 - 1);
  const g = opts.generator ?? new Generator(opts.seed ?? 0);
  const operand = (): number => {
    const digits = g.randint(1, maxDigits + 1);
    return digits === 1 ? g.randint(0, 10) : g.randint(10 ** (digits - 1), 10 ** digits);
  };
  const pairs: TextPair[] = [];
  for (let n = 0; n < count; n++) {
    const a = operand();
    const b = operand();
    pairs.push({ source: `${a}+${b}`, target: String(a + b) });
  }
  return pairs;
}
