/**
 * Types for the Hugging Face `tokenizer.json` format (the parts qkv reads and writes) and small
 * checkers that turn a malformed object into an error naming the offending field.
 */

import { QkvError } from "../util/errors.js";

/**
 * One entry of `tokenizer.json`'s `added_tokens` list.
 *
 * @example
 * ```ts
 * const eot: HFAddedToken = {
 *   id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false,
 *   rstrip: false, normalized: false, special: true,
 * };
 * ```
 */
export interface HFAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/**
 * A pipeline component (normalizer, pre-tokenizer, post-processor, decoder): a `type` tag
 * plus whatever fields that type has.
 *
 * @example
 * ```ts
 * const pre: HFComponent = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
 * ```
 */
export interface HFComponent {
  type: string;
  [field: string]: unknown;
}

/**
 * The `model` section for byte-pair encoding. `merges` is written as `[left, right]` pairs
 * (tokenizers >= 0.20); older files use `"left right"` strings, which the loaders also read.
 *
 * @example
 * ```ts
 * const model = ByteLevelBPE.train(text, { vocabSize: 300 }).toJSON().model as HFBPEModel;
 * model.merges[0]; // e.g. ["Ġ", "t"]
 * ```
 */
export interface HFBPEModel {
  type: "BPE";
  dropout: number | null;
  unk_token: string | null;
  continuing_subword_prefix: string | null;
  end_of_word_suffix: string | null;
  fuse_unk: boolean;
  byte_fallback: boolean;
  ignore_merges: boolean;
  vocab: Record<string, number>;
  merges: Array<[string, string]> | string[];
}

/**
 * The `model` section for a plain lookup table from whole pre-tokens to ids.
 *
 * @example
 * ```ts
 * const model: HFWordLevelModel = { type: "WordLevel", vocab: { a: 0, b: 1 }, unk_token: "<unk>" };
 * ```
 */
export interface HFWordLevelModel {
  type: "WordLevel";
  vocab: Record<string, number>;
  unk_token: string;
}

/**
 * A whole Hugging Face `tokenizer.json` document, as produced by `Tokenizer.toJSON()`.
 *
 * @example
 * ```ts
 * const json: HFTokenizerJSON = tok.toJSON();
 * const text = JSON.stringify(json); // what `tokenizers.Tokenizer.from_str` reads
 * ```
 */
export interface HFTokenizerJSON {
  version: string;
  truncation: unknown;
  padding: unknown;
  added_tokens: HFAddedToken[];
  normalizer: HFComponent | null;
  pre_tokenizer: HFComponent | null;
  post_processor: HFComponent | null;
  decoder: HFComponent | null;
  model: HFBPEModel | HFWordLevelModel | HFComponent;
}

/**
 * Thrown when a `tokenizer.json`, `vocab.json` or `merges.txt` is malformed or uses a feature
 * qkv does not implement. The message names the field.
 *
 * @example
 * ```ts
 * try { loadTokenizer({}); } catch (e) { e instanceof TokenizerFormatError; } // true
 * ```
 */
export class TokenizerFormatError extends QkvError {
  constructor(message: string, where: { file?: string; field?: string } = {}) {
    super(message, where);
    this.name = "TokenizerFormatError";
  }
}

/**
 * Text or ids a tokenizer cannot handle: a byte or character with no token (and no unk token),
 * an id outside the vocabulary. `field` names the input ("text" or "ids[3]").
 */
export class TokenizerInputError extends QkvError {
  constructor(message: string, where: { file?: string; field?: string } = {}) {
    super(message, where);
    this.name = "TokenizerInputError";
  }
}

/** A plain JSON object, as opposed to an array, null or a primitive. */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Check that `value` is a plain object; `path` names it in the error.
 *
 * @example
 * ```ts
 * const model = expectObject(json.model, "model");
 * ```
 */
export function expectObject(value: unknown, path: string): Record<string, unknown> {
  if (!isObject(value)) throw new TokenizerFormatError(`${path} must be an object, got ${describe(value)}`);
  return value;
}

/**
 * Read a required field of an object, throwing `missing field "path.key"` when it is absent.
 *
 * @example
 * ```ts
 * const vocab = expectField(model, "vocab", "model"); // if absent, throws: missing field "model.vocab"
 * const model = expectField(json, "model", ""); // top-level field: missing field "model"
 * ```
 */
export function expectField(obj: Record<string, unknown>, key: string, path: string): unknown {
  if (!Object.hasOwn(obj, key)) {
    throw new TokenizerFormatError(`tokenizer.json: missing field "${path === "" ? key : `${path}.${key}`}"`);
  }
  return obj[key];
}

/**
 * Check that `value` is a string.
 *
 * @example
 * ```ts
 * const type = expectString(model.type, "model.type");
 * ```
 */
export function expectString(value: unknown, path: string): string {
  if (typeof value !== "string")
    throw new TokenizerFormatError(`${path} must be a string, got ${describe(value)}`);
  return value;
}

/**
 * Check that `value` is a non-negative integer usable as a token id.
 *
 * @example
 * ```ts
 * const id = expectId(entry.id, "added_tokens[0].id");
 * ```
 */
export function expectId(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new TokenizerFormatError(`${path} must be a non-negative integer id, got ${describe(value)}`);
  }
  return value;
}

/**
 * Read a `string → id` vocabulary object into a Map, rejecting non-integer ids and two
 * strings that share one id.
 *
 * @example
 * ```ts
 * const vocab = readVocab({ a: 0, b: 1 }, "model.vocab"); // Map { "a" => 0, "b" => 1 }
 * ```
 */
export function readVocab(value: unknown, path: string): Map<string, number> {
  const obj = expectObject(value, path);
  const vocab = new Map<string, number>();
  const seen = new Map<number, string>();
  for (const [token, rawId] of Object.entries(obj)) {
    const id = expectId(rawId, `${path}[${JSON.stringify(token)}]`);
    const other = seen.get(id);
    if (other !== undefined) {
      throw new TokenizerFormatError(
        `${path}: id ${id} is used by both ${JSON.stringify(other)} and ${JSON.stringify(token)}`,
      );
    }
    seen.set(id, token);
    vocab.set(token, id);
  }
  return vocab;
}

/**
 * Read and check `added_tokens`. Tokens that ask for `lstrip`, `rstrip` or `single_word`
 * matching are rejected unless `allowStrip` (the {@link HFTokenizer} pipeline implements them;
 * {@link ByteLevelBPE} matches added tokens verbatim only).
 *
 * @example
 * ```ts
 * const added = readAddedTokens(json.added_tokens ?? []);
 * ```
 */
export function readAddedTokens(value: unknown, options: { allowStrip?: boolean } = {}): HFAddedToken[] {
  if (!Array.isArray(value))
    throw new TokenizerFormatError(`added_tokens must be an array, got ${describe(value)}`);
  return value.map((raw, i) => {
    const path = `added_tokens[${i}]`;
    const entry = expectObject(raw, path);
    const token: HFAddedToken = {
      id: expectId(expectField(entry, "id", path), `${path}.id`),
      content: expectString(expectField(entry, "content", path), `${path}.content`),
      single_word: entry.single_word === true,
      lstrip: entry.lstrip === true,
      rstrip: entry.rstrip === true,
      normalized: entry.normalized === true,
      special: entry.special === true,
    };
    if (token.content === "") throw new TokenizerFormatError(`${path}.content must not be empty`);
    for (const flag of ["single_word", "lstrip", "rstrip"] as const) {
      if (token[flag] && options.allowStrip !== true) {
        throw new TokenizerFormatError(
          `${path} (${JSON.stringify(token.content)}) sets ${flag}: true, which qkv does not support`,
        );
      }
    }
    return token;
  });
}

/**
 * Build an `added_tokens` entry with Hugging Face's defaults for a special token.
 *
 * @example
 * ```ts
 * addedTokenJSON("<|endoftext|>", 50256); // { id: 50256, content: "<|endoftext|>", special: true, ... }
 * ```
 */
export function addedTokenJSON(content: string, id: number, special = true): HFAddedToken {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: !special, special };
}

/** Short description of a value's kind for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}
