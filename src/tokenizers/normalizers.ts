/**
 * Hugging Face tokenizers' normalizers (the `normalizer` section of tokenizer.json) as plain
 * string → string functions: BertNormalizer, Lowercase, NFC/NFD/NFKC/NFKD, StripAccents, Strip,
 * Replace, Prepend, Precompiled (SentencePiece's charsmap) and Sequence. Offsets are not tracked:
 * qkv needs only the ids.
 */

import { showValue } from "../util/json.js";
import { Precompiled } from "./precompiled.js";
import {
  expectField,
  expectObject,
  expectString,
  type HFComponent,
  TokenizerFormatError,
} from "./tokenizer-json.js";
import { BERT_CLASSES, hfLowercase, hfNormalize } from "./unicode.js";

/** A normalizer: text in, normalized text out. */
export type Normalizer = (text: string) => string;

/**
 * Options of Hugging Face's `BertNormalizer`; `stripAccents: null` means "follow `lowercase`",
 * HF's default.
 *
 * @example
 * ```ts
 * const n = bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true });
 * n("Héllo\u0000 世界"); // "hello  世  界 "
 * ```
 */
export interface BertNormalizerOptions {
  cleanText: boolean;
  handleChineseChars: boolean;
  stripAccents: boolean | null;
  lowercase: boolean;
}

/**
 * BertNormalizer, in HF's order: clean text (drop NUL, U+FFFD and control characters, turn
 * whitespace into spaces), pad CJK ideographs with spaces, strip accents (NFD, then drop
 * nonspacing marks), lowercase.
 *
 * @example
 * ```ts
 * bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true })("Ça"); // "ca"
 * ```
 */
export function bertNormalizer(opts: BertNormalizerOptions): Normalizer {
  const strip = opts.stripAccents ?? opts.lowercase;
  return (text) => {
    let s = text;
    if (opts.cleanText) {
      let out = "";
      for (const ch of s) {
        const cp = ch.codePointAt(0)!;
        if (cp === 0 || cp === 0xfffd || BERT_CLASSES.control.has(cp)) continue;
        out += BERT_CLASSES.space.has(cp) ? " " : ch;
      }
      s = out;
    }
    if (opts.handleChineseChars) {
      let out = "";
      for (const ch of s) out += BERT_CLASSES.chinese.has(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
      s = out;
    }
    if (strip) {
      // BertNormalizer drops only nonspacing marks (Mn), unlike StripAccents (all marks).
      let out = "";
      for (const ch of hfNormalize(s, "NFD"))
        if (!BERT_CLASSES.nonspacingMark.has(ch.codePointAt(0)!)) out += ch;
      s = out;
    }
    if (opts.lowercase) s = hfLowercase(s);
    return s;
  };
}

/**
 * Drop combining marks, nonspacing, spacing and enclosing (HF's StripAccents; it does not
 * decompose first, so pair it with NFD).
 *
 * @example
 * ```ts
 * stripAccents("e\u0301"); // "e"
 * ```
 */
export function stripAccents(text: string): string {
  let out = "";
  for (const ch of text) if (!BERT_CLASSES.combiningMark.has(ch.codePointAt(0)!)) out += ch;
  return out;
}

/** Trim Rust-`char::is_whitespace` characters from either end. */
function stripWhitespace(text: string, left: boolean, right: boolean): string {
  const cps = Array.from(text);
  let a = 0;
  let b = cps.length;
  if (left) while (a < b && BERT_CLASSES.whitespace.has(cps[a].codePointAt(0)!)) a++;
  if (right) while (b > a && BERT_CLASSES.whitespace.has(cps[b - 1].codePointAt(0)!)) b--;
  return a === 0 && b === cps.length ? text : cps.slice(a, b).join("");
}

/**
 * Read a `{ String: "..." }` or `{ Regex: "..." }` pattern, as Replace and Split use. Regexes run
 * on the engine's RegExp (`u` flag), which agrees with Oniguruma on the simple patterns such
 * files carry.
 *
 * @example
 * ```ts
 * "a  b".replace(readPattern({ Regex: " {2,}" }, "normalizer.pattern"), " "); // "a b"
 * ```
 */
export function readPattern(value: unknown, path: string): RegExp {
  const obj = expectObject(value, path);
  if (typeof obj.String === "string") {
    if (obj.String === "") throw new TokenizerFormatError(`${path}.String must not be empty`);
    return new RegExp(obj.String.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&"), "gu");
  }
  if (typeof obj.Regex === "string") {
    try {
      return new RegExp(obj.Regex, "gu");
    } catch (e) {
      throw new TokenizerFormatError(`${path}.Regex is not a pattern qkv can run: ${(e as Error).message}`);
    }
  }
  throw new TokenizerFormatError(`${path} must be {"String": ...} or {"Regex": ...}`);
}

/**
 * Build a normalizer from a tokenizer.json `normalizer` section; throws
 * {@link TokenizerFormatError} naming an unsupported type.
 *
 * @example
 * ```ts
 * const n = normalizerFromJSON({ type: "Sequence", normalizers: [{ type: "NFD" }, { type: "Lowercase" }] }, "normalizer");
 * n("É"); // "e\u0301"
 * ```
 */
export function normalizerFromJSON(json: HFComponent, path: string): Normalizer {
  switch (json.type) {
    case "BertNormalizer":
      return bertNormalizer({
        cleanText: json.clean_text !== false,
        handleChineseChars: json.handle_chinese_chars !== false,
        stripAccents: json.strip_accents == null ? null : json.strip_accents === true,
        lowercase: json.lowercase !== false,
      });
    case "Lowercase":
      return hfLowercase;
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = json.type;
      return (s) => hfNormalize(s, form);
    }
    case "StripAccents":
      return stripAccents;
    case "Strip": {
      const left = json.strip_left !== false;
      const right = json.strip_right !== false;
      return (s) => stripWhitespace(s, left, right);
    }
    case "Replace": {
      const re = readPattern(expectField(json, "pattern", path), `${path}.pattern`);
      const content = expectString(expectField(json, "content", path), `${path}.content`);
      return (s) => s.replace(re, () => content);
    }
    case "Prepend": {
      const prepend = expectString(expectField(json, "prepend", path), `${path}.prepend`);
      return (s) => (s === "" ? s : prepend + s);
    }
    case "Precompiled": {
      const map = expectField(json, "precompiled_charsmap", path);
      if (map === null) return (s) => s;
      const pre = Precompiled.fromBase64(expectString(map, `${path}.precompiled_charsmap`));
      return (s) => pre.normalize(s);
    }
    case "Sequence": {
      const list = expectField(json, "normalizers", path);
      if (!Array.isArray(list)) throw new TokenizerFormatError(`${path}.normalizers must be an array`);
      const parts = list.map((n, i) =>
        normalizerFromJSON(component(n, `${path}.normalizers[${i}]`), `${path}.normalizers[${i}]`),
      );
      return (s) => parts.reduce((acc, f) => f(acc), s);
    }
    default:
      throw new TokenizerFormatError(`${path}.type ${showValue(json.type)} is not a normalizer qkv supports`);
  }
}

/**
 * Check that a pipeline component is an object with a string `type`.
 *
 * @example
 * ```ts
 * component({ type: "NFC" }, "normalizer").type; // "NFC"
 * ```
 */
export function component(value: unknown, path: string): HFComponent {
  const obj = expectObject(value, path);
  expectString(expectField(obj, "type", path), `${path}.type`);
  return obj as HFComponent;
}
