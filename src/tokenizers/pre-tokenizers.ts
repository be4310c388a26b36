/**
 * Hugging Face tokenizers' pre-tokenizers (the `pre_tokenizer` section of tokenizer.json):
 * BertPreTokenizer, WhitespaceSplit, Metaspace, ByteLevel and Sequence. Each maps a list of
 * pieces to a finer list; the model then encodes every piece on its own.
 */

import { showValue } from "../util/json.js";
import { component } from "./normalizers.js";
import { gpt2PreTokenize } from "./pretokenize.js";
import { expectField, type HFComponent, TokenizerFormatError } from "./tokenizer-json.js";
import { BERT_CLASSES } from "./unicode.js";

/**
 * A stretch of normalized text. `first` is true when it starts at offset 0 of the original input,
 * which Metaspace's `prepend_scheme: "first"` asks about.
 */
export interface Piece {
  text: string;
  first: boolean;
}

/** A pre-tokenizer: pieces in, finer pieces out (never empty strings). */
export type PreTokenizer = (pieces: Piece[]) => Piece[];

/** Split on whitespace (dropped) and, when `punctuation`, isolate each punctuation character. */
function splitWords(pieces: Piece[], punctuation: boolean): Piece[] {
  const out: Piece[] = [];
  for (const piece of pieces) {
    let word = "";
    let wordStart = 0;
    let pos = 0;
    const flush = () => {
      if (word !== "") out.push({ text: word, first: piece.first && wordStart === 0 });
      word = "";
    };
    for (const ch of piece.text) {
      const cp = ch.codePointAt(0)!;
      if (BERT_CLASSES.whitespace.has(cp)) {
        flush();
      } else if (punctuation && BERT_CLASSES.punctuation.has(cp)) {
        flush();
        out.push({ text: ch, first: piece.first && pos === 0 });
      } else {
        if (word === "") wordStart = pos;
        word += ch;
      }
      pos += ch.length;
    }
    flush();
  }
  return out;
}

/**
 * Metaspace: spaces become `replacement` (▁), which is prepended per `prependScheme`, and with
 * `split` each piece is cut before every replacement character.
 *
 * @example
 * ```ts
 * metaspace("▁", "always", true)([{ text: "hi you", first: true }]); // ▁hi, ▁you
 * ```
 */
export function metaspace(
  replacement: string,
  prependScheme: "always" | "first" | "never",
  split: boolean,
): PreTokenizer {
  return (pieces) => {
    const out: Piece[] = [];
    for (const piece of pieces) {
      if (piece.text === "") continue; // HF's prepend is a no-op on empty text
      let s = piece.text.split(" ").join(replacement);
      const prepend = prependScheme === "always" || (prependScheme === "first" && piece.first);
      if (prepend && !s.startsWith(replacement)) s = replacement + s;
      if (!split) {
        out.push({ text: s, first: piece.first });
        continue;
      }
      // MergedWithNext: each replacement character starts a new piece.
      let start = 0;
      for (let i = s.indexOf(replacement, 1); i >= 0; i = s.indexOf(replacement, i + replacement.length)) {
        if (i > start) out.push({ text: s.slice(start, i), first: piece.first && start === 0 });
        start = i;
      }
      if (start < s.length) out.push({ text: s.slice(start), first: piece.first && start === 0 });
    }
    return out;
  };
}

/**
 * ByteLevel: an optional leading space per piece, then (with `useRegex`) the GPT-2 split. The
 * pieces stay in ordinary text; the byte-level BPE model turns them into bytes.
 *
 * @example
 * ```ts
 * byteLevel(true, true)([{ text: "Hi there", first: true }]); // " Hi", " there"
 * ```
 */
export function byteLevel(addPrefixSpace: boolean, useRegex: boolean): PreTokenizer {
  return (pieces) => {
    const out: Piece[] = [];
    for (const piece of pieces) {
      const s = addPrefixSpace && !piece.text.startsWith(" ") ? ` ${piece.text}` : piece.text;
      if (!useRegex) {
        out.push({ text: s, first: piece.first });
        continue;
      }
      gpt2PreTokenize(s).forEach((text, i) => {
        out.push({ text, first: piece.first && i === 0 });
      });
    }
    return out;
  };
}

/**
 * Build a pre-tokenizer from a tokenizer.json `pre_tokenizer` section; throws
 * {@link TokenizerFormatError} for a type qkv does not implement.
 *
 * @example
 * ```ts
 * const pre = preTokenizerFromJSON({ type: "BertPreTokenizer" }, "pre_tokenizer");
 * pre([{ text: "Hi, you!", first: true }]).map((p) => p.text); // ["Hi", ",", "you", "!"]
 * ```
 */
export function preTokenizerFromJSON(json: HFComponent, path: string): PreTokenizer {
  switch (json.type) {
    case "BertPreTokenizer":
      return (pieces) => splitWords(pieces, true);
    case "WhitespaceSplit":
      return (pieces) => splitWords(pieces, false);
    case "Metaspace": {
      const replacement = typeof json.replacement === "string" ? json.replacement : "▁";
      if (Array.from(replacement).length !== 1) {
        throw new TokenizerFormatError(
          `${path}.replacement must be one character, got ${JSON.stringify(replacement)}`,
        );
      }
      let scheme: "always" | "first" | "never";
      if (json.prepend_scheme === undefined) scheme = json.add_prefix_space === false ? "never" : "always";
      else if (
        json.prepend_scheme === "always" ||
        json.prepend_scheme === "first" ||
        json.prepend_scheme === "never"
      )
        scheme = json.prepend_scheme;
      else throw new TokenizerFormatError(`${path}.prepend_scheme must be "always", "first" or "never"`);
      return metaspace(replacement, scheme, json.split !== false);
    }
    case "ByteLevel":
      return byteLevel(json.add_prefix_space === true, json.use_regex !== false);
    case "Sequence": {
      const list = expectField(json, "pretokenizers", path);
      if (!Array.isArray(list)) throw new TokenizerFormatError(`${path}.pretokenizers must be an array`);
      const parts = list.map((p, i) =>
        preTokenizerFromJSON(component(p, `${path}.pretokenizers[${i}]`), `${path}.pretokenizers[${i}]`),
      );
      return (pieces) => parts.reduce((acc, f) => f(acc), pieces);
    }
    default:
      throw new TokenizerFormatError(
        `${path}.type ${showValue(json.type)} is not a pre-tokenizer qkv supports`,
      );
  }
}
