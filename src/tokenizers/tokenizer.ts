/**
 * The contract every qkv tokenizer meets: text in, integer ids out, and back again, plus
 * serialization to a Hugging Face `tokenizer.json` object.
 */

import type { HFTokenizerJSON } from "./tokenizer-json.js";

/**
 * A reversible map between text and integer token ids.
 *
 * Token strings (`tokenToId`, `idToToken`) are written the way the vocabulary in `toJSON()`
 * writes them: for byte-level BPE that is GPT-2's printable byte alphabet (a leading space
 * shows as `Ġ`), for the char tokenizer it is the character itself.
 *
 * @example
 * ```ts
 * const tok: Tokenizer = CharTokenizer.fromText("hello");
 * const ids = tok.encode("hole");
 * tok.decode(ids); // "hole"
 * ```
 */
export interface Tokenizer {
  /** Short name of the algorithm: `"char"`, `"bpe"`, `"wordpiece"` or `"unigram"`. */
  readonly type: string;
  /** One more than the largest id; every id in `[0, vocabSize)` may be produced. */
  readonly vocabSize: number;
  /** Special tokens (matched verbatim in input text and emitted as a single id), content → id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /**
   * Text → token ids. qkv's own char and byte-level BPE files add no special tokens; a
   * tokenizer.json pipeline ({@link HFTokenizer}) adds its post-processor's, as HF's `encode` does.
   */
  encode(text: string): number[];
  /**
   * Token ids → text. Throws on an id that is not in the vocabulary. {@link HFTokenizer} skips
   * special tokens (HF's default); the char and byte-level BPE classes keep them.
   */
  decode(ids: ArrayLike<number>): string;
  /** Id of a vocabulary string, or `undefined` when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined;
  /** Vocabulary string of an id, or `undefined` when the id is unused. */
  idToToken(id: number): string | undefined;
  /** A plain object in Hugging Face `tokenizer.json` form; `JSON.stringify` it to save. */
  toJSON(): HFTokenizerJSON;
}
