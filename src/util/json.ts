/**
 * Helpers for describing and pre-scanning untrusted JSON without recursion: error messages quote
 * a bad value through {@link showValue} (never `JSON.stringify` or a template literal, which
 * overflow on deep values or throw on objects whose `toString` is not a function), and text is
 * scanned for nesting depth before `JSON.parse` by {@link jsonTooDeepAt}.
 */

/**
 * A short, bounded description of any value for an error message: numbers and booleans as
 * written, strings quoted and clipped to 40 characters, arrays and objects by kind only.
 * @example showValue([[1]]) // "an array of 1"
 */
export function showValue(v: unknown): string {
  if (v === undefined) return "nothing (missing)";
  if (v === null) return "null";
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : String(v);
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") return "an object";
  return typeof v;
}

/**
 * The index of the first `[` or `{` in JSON `text` that opens level `maxDepth + 1`, or -1 when
 * the text nests no deeper than `maxDepth`. A linear scan that skips string contents.
 * @example jsonTooDeepAt("[[1]]", 1) // 1
 */
export function jsonTooDeepAt(text: string, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}
