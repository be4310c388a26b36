import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { inflateRaw } from "../../src/util/inflate.js";
import { Generator } from "../../src/util/rng.js";

/** Bytes with structure (repeats at many distances) and noise, so every code path is exercised. */
function sample(n: number, seed: number): Uint8Array {
  const g = new Generator(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = g.random();
    out[i] = r < 0.6 && i > 300 ? out[i - 1 - Math.floor(g.random() * 300)] : Math.floor(g.random() * 256);
  }
  return out;
}

describe("inflateRaw", () => {
  it.each([
    ["empty", new Uint8Array(0), 9],
    ["stored blocks (level 0)", sample(70_000, 1), 0],
    ["fixed Huffman (short text)", new TextEncoder().encode("abcabcabcabc hello hello"), 9],
    ["dynamic Huffman", sample(200_000, 2), 9],
    ["long runs (overlapping copies)", new Uint8Array(100_000).fill(7), 6],
  ])("decodes what zlib encodes: %s", (_name, bytes, level) => {
    const packed = deflateRawSync(bytes, { level });
    expect(Buffer.from(inflateRaw(packed))).toEqual(Buffer.from(bytes));
  });

  it("refuses malformed and truncated streams with an error, not garbage", () => {
    const packed = deflateRawSync(sample(5_000, 3), { level: 9 });
    expect(() => inflateRaw(packed.subarray(0, packed.length >> 1))).toThrow(/inflate: /);
    expect(() => inflateRaw(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(/inflate: /);
    // A stored block whose length check fails.
    expect(() => inflateRaw(new Uint8Array([0x01, 0x05, 0x00, 0x00, 0x00]))).toThrow(/length check/);
  });
});
