/**
 * Public API of qkv's tokenizers: character-level and GPT-2 byte-level BPE, Hugging Face
 * `tokenizer.json` reading/writing, and `loadTokenizer` to open a saved tokenizer of either kind.
 */

import { ByteLevelBPE } from "./bpe.js";
import { CharTokenizer } from "./char.js";
import type { Tokenizer } from "./tokenizer.js";
import { expectField, expectObject, expectString, TokenizerFormatError } from "./tokenizer-json.js";

export { type BPETrainOptions, ByteLevelBPE, type ByteLevelBPESpec } from "./bpe.js";
export { BYTE_TO_CHAR, bytesToUnicode, CHAR_TO_BYTE, unicodeToBytes } from "./byte-unicode.js";
export { CharTokenizer, type CharTokenizerOptions } from "./char.js";
export { GPT2_SPLIT_PATTERN, gpt2PreTokenize } from "./pretokenize.js";
export type { Tokenizer } from "./tokenizer.js";
export {
  type HFAddedToken,
  type HFBPEModel,
  type HFComponent,
  type HFTokenizerJSON,
  type HFWordLevelModel,
  TokenizerFormatError,
} from "./tokenizer-json.js";

/**
 * Open a saved tokenizer (a parsed Hugging Face `tokenizer.json` object), choosing the class by
 * `model.type`: `"BPE"` → {@link ByteLevelBPE}, `"WordLevel"` → {@link CharTokenizer}. Pass a
 * string and it is parsed first.
 *
 * @example
 * ```ts
 * const tok = loadTokenizer(JSON.stringify(ByteLevelBPE.train(text, { vocabSize: 512 }).toJSON()));
 * tok.type; // "bpe"
 * ```
 */
export function loadTokenizer(json: unknown): Tokenizer {
  if (typeof json === "string") {
    try {
      json = JSON.parse(json);
    } catch (e) {
      throw new TokenizerFormatError(`tokenizer.json is not valid JSON: ${(e as Error).message}`);
    }
  }
  const root = expectObject(json, "tokenizer.json");
  const model = expectObject(expectField(root, "model", ""), "model");
  const type = expectString(expectField(model, "type", "model"), "model.type");
  switch (type) {
    case "BPE":
      return ByteLevelBPE.fromTokenizerJSON(root);
    case "WordLevel":
      return CharTokenizer.fromJSON(root);
    default:
      throw new TokenizerFormatError(
        `model.type ${JSON.stringify(type)} is not supported (expected "BPE" or "WordLevel")`,
      );
  }
}
