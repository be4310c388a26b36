/**
 * Public API of qkv's tokenizers: character-level and GPT-2 byte-level BPE, the Hugging Face
 * tokenizer.json pipeline (WordPiece, Unigram, byte-level BPE with their normalizers,
 * pre-tokenizers, post-processors and decoders), and `loadTokenizer` to open a saved tokenizer.
 */

import { jsonTooDeepAt } from "../util/json.js";
import { ByteLevelBPE } from "./bpe.js";
import { CharTokenizer } from "./char.js";
import { HFTokenizer } from "./pipeline.js";
import type { Tokenizer } from "./tokenizer.js";
import { expectField, expectObject, expectString, TokenizerFormatError } from "./tokenizer-json.js";

export { type BPETrainOptions, ByteLevelBPE, type ByteLevelBPESpec } from "./bpe.js";
export { BYTE_TO_CHAR, bytesToUnicode, CHAR_TO_BYTE, unicodeToBytes } from "./byte-unicode.js";
export { CharTokenizer, type CharTokenizerOptions } from "./char.js";
export { type Decoder, decoderFromJSON } from "./decoders.js";
export { type PipelineModel, Unigram, WordPiece } from "./models.js";
export {
  type BertNormalizerOptions,
  bertNormalizer,
  type Normalizer,
  normalizerFromJSON,
} from "./normalizers.js";
export {
  type EncodeOptions,
  type Encoding,
  HFTokenizer,
  type PaddingOptions,
  TruncationError,
  type TruncationOptions,
} from "./pipeline.js";
export { type PostProcessor, postProcessorFromJSON } from "./post-processors.js";
export { type Piece, type PreTokenizer, preTokenizerFromJSON } from "./pre-tokenizers.js";
export { Precompiled } from "./precompiled.js";
export { GPT2_SPLIT_PATTERN, gpt2PreTokenize } from "./pretokenize.js";
export type { Tokenizer } from "./tokenizer.js";
export {
  type HFAddedToken,
  type HFBPEModel,
  type HFComponent,
  type HFTokenizerJSON,
  type HFWordLevelModel,
  TokenizerFormatError,
  TokenizerInputError,
} from "./tokenizer-json.js";
export { CodePointSet, GPT2_CLASSES, hfLowercase, hfNormalize } from "./unicode.js";
export { UNICODE_TABLES_SOURCE } from "./unicode-tables.js";
export { trainWordPiece, type WordPieceTrainOptions } from "./wordpiece-train.js";

/**
 * Whether a tokenizer.json is the plain byte-level BPE shape {@link ByteLevelBPE} reads (qkv's
 * own files and GPT-2-style ones): no normalizer, a ByteLevel pre-tokenizer, no special tokens
 * added by the post-processor, no padding or truncation, verbatim added tokens.
 */
function isPlainByteLevel(root: Record<string, unknown>, model: Record<string, unknown>): boolean {
  const part = (v: unknown) => v as { type?: unknown } | null | undefined;
  const plain = (v: unknown) => v == null || part(v)?.type === "ByteLevel";
  const added = Array.isArray(root.added_tokens) ? root.added_tokens : [];
  return (
    root.normalizer == null &&
    part(root.pre_tokenizer)?.type === "ByteLevel" &&
    plain(root.post_processor) &&
    plain(root.decoder) &&
    root.padding == null &&
    root.truncation == null &&
    model.byte_fallback !== true &&
    (model.continuing_subword_prefix == null || model.continuing_subword_prefix === "") &&
    added.every((t) => {
      // A malformed entry (null, a number) goes to the full loader, which names it.
      if (t === null || typeof t !== "object") return false;
      const e = t as Record<string, unknown>;
      return e.lstrip !== true && e.rstrip !== true && e.single_word !== true;
    })
  );
}

/** The deepest nesting loadTokenizer parses (real tokenizer.json files nest about 5 levels). */
const MAX_TOKENIZER_JSON_DEPTH = 64;

/**
 * Open a saved tokenizer (a parsed Hugging Face `tokenizer.json` object, or its text):
 * - `"WordLevel"` (qkv's char files) → {@link CharTokenizer};
 * - `"BPE"` in the plain byte-level shape (qkv's own and GPT-2-style files) → {@link ByteLevelBPE},
 *   whose `decode` keeps special tokens, as qkv's training pipelines expect;
 * - anything else (`"WordPiece"`, `"Unigram"`, BPE with RobertaProcessing, TemplateProcessing,
 *   padding...) → {@link HFTokenizer}, with Hugging Face's `encode`/`decode` semantics: special
 *   tokens added by the post-processor, and skipped when decoding.
 *
 * @example
 * ```ts
 * const tok = loadTokenizer(JSON.stringify(ByteLevelBPE.train(text, { vocabSize: 512 }).toJSON()));
 * tok.type; // "bpe"
 * loadTokenizer(bertTokenizerJson).type; // "wordpiece"
 * ```
 */
export function loadTokenizer(json: unknown): Tokenizer {
  if (typeof json === "string") {
    const deep = jsonTooDeepAt(json, MAX_TOKENIZER_JSON_DEPTH);
    if (deep >= 0)
      throw new TokenizerFormatError(
        `tokenizer.json nests arrays/objects deeper than ${MAX_TOKENIZER_JSON_DEPTH} levels (at character ${deep}); refusing to parse it`,
        { file: "tokenizer.json" },
      );
    try {
      json = JSON.parse(json);
    } catch (e) {
      throw new TokenizerFormatError(`tokenizer.json is not valid JSON: ${(e as Error).message}`, {
        file: "tokenizer.json",
      });
    }
  }
  const root = expectObject(json, "tokenizer.json");
  const model = expectObject(expectField(root, "model", ""), "model");
  const type = expectString(expectField(model, "type", "model"), "model.type");
  switch (type) {
    case "BPE":
      return isPlainByteLevel(root, model)
        ? ByteLevelBPE.fromTokenizerJSON(root)
        : HFTokenizer.fromJSON(root);
    case "WordLevel":
      return CharTokenizer.fromJSON(root);
    case "WordPiece":
    case "Unigram":
      return HFTokenizer.fromJSON(root);
    default:
      throw new TokenizerFormatError(
        `model.type ${JSON.stringify(type)} is not supported (expected "BPE", "WordPiece", "Unigram" or "WordLevel")`,
      );
  }
}
