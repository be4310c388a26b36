/**
 * GPT-2's reversible map between the 256 byte values and 256 printable unicode characters.
 * Byte-level BPE vocabularies (GPT-2, RoBERTa, Hugging Face `ByteLevel`) store tokens in this
 * alphabet, so that every token is a readable string with no spaces or control characters.
 */

/**
 * `BYTE_TO_CHAR[b]` is the character standing for byte `b`. Bytes that are already printable
 * and not whitespace (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for themselves; the remaining 68
 * bytes, in increasing order, take the code points 256, 257, ... (so space, 0x20, becomes
 * `Ġ` U+0120 and newline, 0x0A, becomes `Ċ` U+010A).
 *
 * @example
 * ```ts
 * BYTE_TO_CHAR[0x20]; // "Ġ"
 * BYTE_TO_CHAR[0x41]; // "A"
 * ```
 */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/**
 * Inverse of {@link BYTE_TO_CHAR}: character → byte value.
 *
 * @example
 * ```ts
 * CHAR_TO_BYTE.get("Ġ"); // 32
 * ```
 */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

function buildByteToChar(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) {
    table.push(String.fromCodePoint(printable(b) ? b : next++));
  }
  return table;
}

/**
 * Write bytes in the byte-level alphabet.
 *
 * @example
 * ```ts
 * bytesToUnicode(new TextEncoder().encode(" hi")); // "Ġhi"
 * ```
 */
export function bytesToUnicode(bytes: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/**
 * Read a byte-level string back into bytes, or return `null` if it holds a character outside
 * the 256-character alphabet (such a token is not byte-level; callers fall back to its UTF-8).
 *
 * @example
 * ```ts
 * unicodeToBytes("Ġhi"); // Uint8Array [32, 104, 105]
 * unicodeToBytes("<|é😀|>"); // null (😀 is not in the alphabet)
 * ```
 */
export function unicodeToBytes(s: string): Uint8Array | null {
  const out: number[] = [];
  for (const ch of s) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return Uint8Array.from(out);
}
