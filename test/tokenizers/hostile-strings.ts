/**
 * Test inputs that tend to break tokenizers: hand-picked hostile strings and a seeded generator
 * of random well-formed strings drawn from many Unicode blocks.
 */

/** Hand-picked strings: emoji sequences, combining marks, CJK, RTL, odd whitespace, controls. */
export const HOSTILE_STRINGS: string[] = [
  "",
  " ",
  "\n",
  "hello world",
  "Hello, World! How's it going? I'm fine; they'll see.",
  "👨‍👩‍👧‍👦 👩‍❤️‍💋‍👨 🏳️‍🌈 🇺🇳🇯🇵 👍🏽 1️⃣ ☺️",
  "e\u0301\u0301\u0301 Z\u0351\u0359\u0332\u0325\u0353a\u0308\u0323 \u1e9b\u0323",
  "漢字かなカナ한글 𠜎𠜱𠝹𠱓 𝕳𝖊𝖑𝖑𝖔 𝟘𝟙𝟚",
  "العربية עברית ไทย देवनागरी ᚠᚢᚦᚨᚱᚲ",
  "\t\t\ttabs\t \t",
  "many     spaces          here    ",
  "\n\n\n\r\n\r\r\n",
  "\u00a0\u1680\u2000\u2001\u2002\u2003\u2009\u200a\u2028\u2029\u202f\u205f\u3000\u0085",
  "\u200b\u200c\u200d\u2060\ufeff zero width",
  "\ufeffleading BOM",
  "\u0000\u0001\u0002\u001b[31mred\u001b[0m\u007f",
  "\ue000\uf8ff\u{f0000}\u{10fffd} private use",
  "\ufffe\uffff\u{1fffe}\u{10ffff} noncharacters",
  "\ufffd replacement char",
  "'s't're've'm'll'd 'S 'T",
  "123456789 0.5 1e10 -7 ¹²³ ½ Ⅻ ٣",
  "a".repeat(1000),
  " ".repeat(257),
  "🙂".repeat(100),
  "x\ufeff\ufeff! x\u0085\u0085! x\u00a0\u00a0!",
];

/** Code point ranges the generator draws from (inclusive). Surrogates are excluded. */
const RANGES: Array<[number, number]> = [
  [0x20, 0x7e], // ASCII printable
  [0x20, 0x7e],
  [0x09, 0x0d], // tab, newline, ...
  [0x80, 0xff], // Latin-1
  [0x300, 0x36f], // combining diacritics
  [0x400, 0x4ff], // Cyrillic
  [0x590, 0x6ff], // Hebrew, Arabic
  [0x900, 0x97f], // Devanagari
  [0x2000, 0x206f], // general punctuation, odd spaces, ZWJ
  [0x3000, 0x30ff], // CJK punctuation, kana
  [0x4e00, 0x9fff], // CJK ideographs
  [0xac00, 0xd7a3], // Hangul
  [0xe000, 0xf8ff], // private use
  [0xfe00, 0xfe0f], // variation selectors
  [0xfff0, 0xffff], // specials
  [0x1f300, 0x1faff], // emoji
  [0x1f1e6, 0x1f1ff], // regional indicators
  [0x20000, 0x2a6df], // CJK extension B
  [0x10fff0, 0x10ffff], // last plane
];

/**
 * Deterministic pseudo-random generator (mulberry32) returning floats in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random well-formed string of up to `maxLength` code points. */
export function randomString(rand: () => number, maxLength: number): string {
  const n = Math.floor(rand() * (maxLength + 1));
  let s = "";
  for (let i = 0; i < n; i++) {
    const [lo, hi] = RANGES[Math.floor(rand() * RANGES.length)];
    s += String.fromCodePoint(lo + Math.floor(rand() * (hi - lo + 1)));
  }
  return s;
}
