/**
 * Hugging Face tokenizers' decoders (the `decoder` section): WordPiece, Metaspace, ByteLevel,
 * ByteFallback, Fuse, Strip, Replace and Sequence. Each maps token strings to token strings; the
 * pipeline joins the result. Without a decoder HF joins tokens with spaces.
 */

import { showValue } from "../util/json.js";
import { CHAR_TO_BYTE } from "./byte-unicode.js";
import { component, readPattern } from "./normalizers.js";
import { expectField, type HFComponent, TokenizerFormatError } from "./tokenizer-json.js";

/** A decoder: token strings in, strings out (concatenated by the caller). */
export type Decoder = (tokens: string[]) => string[];

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** BERT's detokenization cleanup: no space before `.`, `?`, `!`, `,` and some contractions. */
function cleanup(s: string): string {
  return s
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" do not", " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/**
 * WordPiece decoder: a token with `prefix` glues to the previous one, any other is preceded by a
 * space; `cleanup` then tidies each token as HF does.
 *
 * @example
 * ```ts
 * wordPieceDecoder("##", true)(["un", "##aff", "##able", "!"]).join(""); // "unaffable!"
 * ```
 */
export function wordPieceDecoder(prefix: string, doCleanup: boolean): Decoder {
  return (tokens) =>
    tokens.map((t, i) => {
      let s = t;
      if (i !== 0) s = s.startsWith(prefix) ? s.slice(prefix.length) : ` ${s}`;
      return doCleanup ? cleanup(s) : s;
    });
}

/** Byte-level: tokens → bytes through GPT-2's byte table (a token outside it is taken as UTF-8), then lossy UTF-8. */
const byteLevelDecoder: Decoder = (tokens) => {
  const bytes: number[] = [];
  for (const t of tokens) {
    const mapped: number[] = [];
    let ok = true;
    for (const ch of t) {
      const b = CHAR_TO_BYTE.get(ch);
      if (b === undefined) {
        ok = false;
        break;
      }
      mapped.push(b);
    }
    if (ok) bytes.push(...mapped);
    else bytes.push(...utf8.encode(t));
  }
  return [utf8Decoder.decode(Uint8Array.from(bytes))];
};

/** `<0xAB>` runs → their bytes as UTF-8; an invalid run gives one U+FFFD per byte, as HF does. */
const byteFallbackDecoder: Decoder = (tokens) => {
  const out: string[] = [];
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    try {
      out.push(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(pending)));
    } catch {
      for (let i = 0; i < pending.length; i++) out.push("\ufffd");
    }
    pending = [];
  };
  for (const t of tokens) {
    const m = /^<0x([0-9A-F]{2})>$/.exec(t);
    if (m !== null) {
      pending.push(Number.parseInt(m[1], 16));
    } else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out;
};

/**
 * Build a decoder from a tokenizer.json `decoder` section (null → join with spaces).
 *
 * @example
 * ```ts
 * decoderFromJSON({ type: "Metaspace", replacement: "▁", prepend_scheme: "always" }, "decoder")(["▁Hi", "▁you"]).join(""); // "Hi you"
 * ```
 */
export function decoderFromJSON(json: HFComponent | null, path: string): Decoder {
  if (json === null) return (tokens) => [tokens.join(" ")];
  switch (json.type) {
    case "WordPiece":
      return wordPieceDecoder(typeof json.prefix === "string" ? json.prefix : "##", json.cleanup !== false);
    case "Metaspace": {
      const rep = typeof json.replacement === "string" ? json.replacement : "▁";
      const scheme = json.prepend_scheme ?? (json.add_prefix_space === false ? "never" : "always");
      // HF drops every replacement character of the first token (not only a leading one) unless
      // the scheme is "never"; elsewhere it becomes a space.
      return (tokens) => tokens.map((t, i) => t.split(rep).join(i === 0 && scheme !== "never" ? "" : " "));
    }
    case "ByteLevel":
      return byteLevelDecoder;
    case "ByteFallback":
      return byteFallbackDecoder;
    case "Fuse":
      return (tokens) => [tokens.join("")];
    case "Strip": {
      const content = typeof json.content === "string" ? json.content : " ";
      const start = typeof json.start === "number" ? json.start : 0;
      const stop = typeof json.stop === "number" ? json.stop : 0;
      return (tokens) =>
        tokens.map((t) => {
          const cps = Array.from(t);
          let a = 0;
          let b = cps.length;
          while (a < start && a < b && cps[a] === content) a++;
          while (cps.length - b < stop && b > a && cps[b - 1] === content) b--;
          return cps.slice(a, b).join("");
        });
    }
    case "Replace": {
      const re = readPattern(expectField(json, "pattern", path), `${path}.pattern`);
      const content = typeof json.content === "string" ? json.content : "";
      return (tokens) => tokens.map((t) => t.replace(re, () => content));
    }
    case "Sequence": {
      const list = expectField(json, "decoders", path);
      if (!Array.isArray(list)) throw new TokenizerFormatError(`${path}.decoders must be an array`);
      const parts = list.map((d, i) =>
        decoderFromJSON(component(d, `${path}.decoders[${i}]`), `${path}.decoders[${i}]`),
      );
      return (tokens) => parts.reduce((acc, f) => f(acc), tokens);
    }
    default:
      throw new TokenizerFormatError(`${path}.type ${showValue(json.type)} is not a decoder qkv supports`);
  }
}
