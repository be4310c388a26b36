/**
 * Small building blocks shared by the SVG charts: XML escaping, deterministic number
 * formatting, "nice" axis ticks (linear and log), a categorical palette and a viridis scale.
 */

/** True for code units XML 1.0 forbids: C0 controls other than tab, LF and CR, and U+FFFE/U+FFFF. */
function forbidden(c: number): boolean {
  return (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffe || c === 0xffff;
}

/** Replaces forbidden characters and lone surrogates with U+FFFD. */
function sanitize(text: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let bad = forbidden(c);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else bad = true;
    } else if (c >= 0xdc00 && c <= 0xdfff) bad = true;
    if (bad) {
      out += `${text.slice(from, i)}\ufffd`;
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * Escapes text for use in SVG/XML content and attribute values.
 *
 * @example
 * ```ts
 * escapeXml('a < b & "c"'); // "a &lt; b &amp; &quot;c&quot;"
 * ```
 */
export function escapeXml(text: string): string {
  return sanitize(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * A coordinate with at most 2 decimals, never "-0".
 *
 * @example
 * ```ts
 * coord(12.3456); // "12.35"
 * ```
 */
export function coord(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? "0" : String(r);
}

/**
 * A short human-readable number: up to `digits` significant digits, trailing zeros trimmed,
 * exponent form for very large or small magnitudes.
 *
 * @example
 * ```ts
 * formatNumber(0.000123); // "1.23e-4"
 * formatNumber(2.5); // "2.5"
 * ```
 */
export function formatNumber(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) {
    const [m, e] = v.toExponential(digits - 1).split("e");
    return `${trimZeros(m)}e${Number(e)}`;
  }
  const p = v.toPrecision(digits);
  // toPrecision switches to exponent form once the integer part needs more than `digits` digits.
  return p.includes("e") ? String(Math.round(v)) : trimZeros(p);
}

function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

/**
 * An axis: its domain (extended to tick bounds) and labelled tick positions.
 *
 * @example
 * ```ts
 * const axis: Axis = niceTicks(0.3, 9.2); // domain [0, 10], ticks 0, 2, 4, 6, 8, 10
 * ```
 */
export interface Axis {
  min: number;
  max: number;
  ticks: { value: number; label: string }[];
}

function niceNum(x: number, round: boolean): number {
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  let nf: number;
  if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * 10 ** exp;
}

/**
 * Heckbert's nice ticks for [lo, hi]: steps of 1, 2 or 5 × 10^k and a domain widened to whole
 * steps. A degenerate range is widened around its value.
 *
 * @example
 * ```ts
 * niceTicks(0, 1).ticks.map((t) => t.label); // ["0", "0.2", "0.4", "0.6", "0.8", "1"]
 * ```
 */
export function niceTicks(lo: number, hi: number, count = 5): Axis {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceNum(niceNum(hi - lo, false) / Math.max(1, count - 1), true);
  const first = Math.floor(lo / step);
  const last = Math.ceil(hi / step);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: Axis["ticks"] = [];
  for (let i = first; i <= last; i++) {
    const value = i * step;
    const abs = Math.abs(value);
    let label: string;
    if (i === 0) label = "0";
    else if (abs >= 1e6 || abs < 1e-3) label = formatNumber(value, 3);
    else label = value.toFixed(decimals);
    ticks.push({ value: i === 0 ? 0 : value, label });
  }
  return { min: first * step, max: last * step, ticks };
}

/**
 * Ticks for a log10 axis over positive [lo, hi]: the domain is widened to whole decades; labels
 * sit on powers of ten (every few decades when there are many), with 2 and 5 added when the
 * range spans a single decade. `min`/`max` are in log10 units.
 *
 * @example
 * ```ts
 * logTicks(0.02, 3).ticks.map((t) => t.label); // ["0.01", "0.1", "1", "10"]
 * ```
 */
export function logTicks(lo: number, hi: number): Axis {
  if (!(lo > 0) || !(hi > 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 1;
    hi = 10;
  }
  let a = Math.floor(Math.log10(Math.min(lo, hi)) + 1e-12);
  let b = Math.ceil(Math.log10(Math.max(lo, hi)) - 1e-12);
  if (b <= a) {
    b = a + 1;
  }
  const span = b - a;
  const every = Math.ceil(span / 8);
  a = Math.floor(a / every) * every;
  b = Math.ceil(b / every) * every;
  const plain = a >= -3 && b <= 5; // all ticks as plain decimals, or all in exponent form
  const ticks: Axis["ticks"] = [];
  for (let k = a; k <= b; k += every) {
    ticks.push({ value: k, label: powLabel(k, 1, plain) });
    if (span === 1 && k < b) {
      for (const m of [2, 5]) ticks.push({ value: k + Math.log10(m), label: powLabel(k, m, plain) });
    }
  }
  return { min: a, max: b, ticks };
}

function powLabel(k: number, mantissa: number, plain: boolean): string {
  if (plain) return formatNumber(mantissa * 10 ** k, 3);
  return mantissa === 1 ? `1e${k}` : `${mantissa}e${k}`;
}

/**
 * Ten distinguishable colours (Tableau 10), cycled for more series.
 *
 * @example
 * ```ts
 * const color = PALETTE[i % PALETTE.length];
 * ```
 */
export const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

const VIRIDIS = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 74, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [181, 222, 43],
  [253, 231, 37],
];

/**
 * The viridis colour at t ∈ [0, 1] (clamped), as `#rrggbb`.
 *
 * @example
 * ```ts
 * viridis(0); // "#440154"
 * viridis(1); // "#fde725"
 * ```
 */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const hex = (k: number): string =>
    Math.round(VIRIDIS[i][k] + (VIRIDIS[i + 1][k] - VIRIDIS[i][k]) * f)
      .toString(16)
      .padStart(2, "0");
  return `#${hex(0)}${hex(1)}${hex(2)}`;
}
