/**
 * SentencePiece's precompiled normalization charsmap (the `Precompiled` normalizer of T5, ALBERT,
 * XLM-R tokenizer.json files): a darts-clone double-array trie over UTF-8 byte strings whose
 * values index a blob of NUL-terminated replacement strings. Applied as Hugging Face tokenizers
 * (spm_precompiled) applies it: grapheme by grapheme, using the *shortest* key that prefixes the
 * grapheme, and falling back to code points for graphemes of 6 or more bytes.
 */

import { TokenizerFormatError } from "./tokenizer-json.js";

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

function base64ToBytes(b64: string): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const clean = b64.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = alphabet.indexOf(clean[i]);
    if (v < 0) throw new TokenizerFormatError(`precompiled_charsmap is not base64 (character ${i})`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

let segmenter: Intl.Segmenter | undefined;

/**
 * A parsed charsmap.
 *
 * @example
 * ```ts
 * const p = Precompiled.fromBase64(json.normalizer.precompiled_charsmap);
 * p.normalize("ｆｕｌｌ"); // "full" with an nmt_nfkc charsmap
 * ```
 */
export class Precompiled {
  private readonly trie: Uint32Array;
  private readonly normalized: Uint8Array;
  private readonly cache = new Map<number, string>();

  constructor(bytes: Uint8Array) {
    if (bytes.length < 4)
      throw new TokenizerFormatError("precompiled_charsmap is shorter than its 4-byte header");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize % 4 !== 0 || 4 + trieSize > bytes.length) {
      throw new TokenizerFormatError(
        `precompiled_charsmap: trie size ${trieSize} does not fit its ${bytes.length} bytes`,
      );
    }
    this.trie = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.trie.length; i++) this.trie[i] = view.getUint32(4 + 4 * i, true);
    this.normalized = bytes.subarray(4 + trieSize);
  }

  /** Parse the base64 form stored in tokenizer.json. */
  static fromBase64(b64: string): Precompiled {
    return new Precompiled(base64ToBytes(b64));
  }

  /**
   * Values of every trie key that is a prefix of `key`, shortest first (darts-clone's
   * commonPrefixSearch: a unit holds offset, label and a has-leaf bit).
   */
  private commonPrefixSearch(key: Uint8Array): number[] {
    const a = this.trie;
    const results: number[] = [];
    const offset = (unit: number) => (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
    let pos = 0;
    let unit = a[pos];
    pos ^= offset(unit);
    for (const c of key) {
      if (c === 0) break;
      pos ^= c;
      unit = a[pos];
      if (unit === undefined || (unit & 0x800000ff) >>> 0 !== c) return results;
      pos ^= offset(unit);
      if ((unit >>> 8) & 1) results.push(a[pos] & 0x7fffffff);
    }
    return results;
  }

  /** The replacement for a chunk, or `undefined` when no key prefixes it. */
  private transform(chunk: string): string | undefined {
    const results = this.commonPrefixSearch(utf8.encode(chunk));
    if (results.length === 0) return undefined;
    const index = results[0];
    let s = this.cache.get(index);
    if (s === undefined) {
      let end = index;
      while (end < this.normalized.length && this.normalized[end] !== 0) end++;
      s = utf8Decoder.decode(this.normalized.subarray(index, end));
      this.cache.set(index, s);
    }
    return s;
  }

  /** Normalize text (see the file header for the grapheme rule). */
  normalize(text: string): string {
    segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
    let out = "";
    for (const { segment } of segmenter.segment(text)) {
      if (utf8.encode(segment).length < 6) {
        const whole = this.transform(segment);
        if (whole !== undefined) {
          out += whole;
          continue;
        }
      }
      for (const ch of segment) out += this.transform(ch) ?? ch;
    }
    return out;
  }
}
