/**
 * safetensors reader/writer: Python-generated fixtures (every dtype, F16/BF16 special values,
 * unaligned data), exact narrow-float conversions, and bit-identical serialize→parse round trips.
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  bf16BitsToF32Bits,
  f8e4m3ToNumber,
  f16BitsToF32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  parseSafetensors,
  parseSafetensorsHeader,
  type RawTensor,
  SafetensorsError,
  serializeSafetensors,
} from "../../src/io/index.js";

const FIXTURES = new URL("../fixtures/io/", import.meta.url);

/** A fresh copy of a fixture file (byteOffset 0, so alignment is predictable). */
function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

interface Expected {
  torch_version: string;
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; values: (number | string)[]; bits?: string[] }>;
}

const expected = JSON.parse(readFileSync(new URL("dtypes.expected.json", FIXTURES), "utf8")) as Expected;

const OUT_DTYPE: Record<string, RawTensor["dtype"]> = {
  F32: "float32",
  F16: "float32",
  BF16: "float32",
  F64: "float64",
  I64: "int32",
  I32: "int32",
  I16: "int32",
  I8: "int32",
  U8: "int32",
  BOOL: "int32",
};

/** Bit patterns of a float array as hex strings, in the fixture's notation. */
function hexBits(data: Float32Array | Float64Array): string[] {
  if (data instanceof Float32Array) {
    return [...new Uint32Array(data.buffer, data.byteOffset, data.length)].map(
      (b) => `0x${b.toString(16).padStart(8, "0")}`,
    );
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from(
    { length: data.length },
    (_, i) =>
      `0x${dv
        .getBigUint64(i * 8, true)
        .toString(16)
        .padStart(16, "0")}`,
  );
}

function checkAgainstExpected(tensors: Map<string, RawTensor>): void {
  expect([...tensors.keys()].sort()).toEqual(Object.keys(expected.tensors).sort());
  for (const [name, exp] of Object.entries(expected.tensors)) {
    const t = tensors.get(name)!;
    expect(t.dtype, name).toBe(OUT_DTYPE[exp.dtype]);
    expect(t.shape, name).toEqual(exp.shape);
    expect(t.data.length, name).toBe(exp.values.length);
    if (exp.bits) {
      expect(hexBits(t.data as Float32Array | Float64Array), name).toEqual(exp.bits);
    } else {
      expect([...t.data], name).toEqual(exp.values);
    }
  }
}

describe("parseSafetensors on Python-written fixtures", () => {
  it("records which torch produced the expected values", () => {
    expect(expected.torch_version).toMatch(/^\d+\.\d+/);
  });

  it("reads every dtype with exact values, including F16/BF16 subnormals, ±0, ±inf and NaN", () => {
    const { tensors, metadata } = parseSafetensors(fixture("dtypes.safetensors"), {
      name: "dtypes.safetensors",
    });
    expect(metadata).toEqual(expected.metadata);
    checkAgainstExpected(tensors);
    // Spot-check a few decoded numbers directly, independent of the bit notation.
    const f16 = tensors.get("f16_special")!.data;
    expect(f16[2]).toBe(2 ** -24);
    expect(f16[3]).toBe(1023 * 2 ** -24);
    expect(Object.is(f16[1], -0)).toBe(true);
    expect(f16[8]).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(f16[10])).toBe(true);
    expect(tensors.get("bf16_special")!.data[2]).toBe(2 ** -133);
    expect([...tensors.get("i64")!.data]).toEqual([0, -1, 2147483647, -2147483648, 123456789]);
  });

  it("reads the same values when every tensor starts at an unaligned offset", () => {
    const bytes = fixture("dtypes-unaligned.safetensors");
    const { tensors } = parseSafetensors(bytes, { name: "dtypes-unaligned.safetensors" });
    checkAgainstExpected(tensors);
    expect(tensors.get("f32_special")!.data.buffer).not.toBe(bytes.buffer);
  });

  it("returns aligned F32 data as a view unless copy is requested", () => {
    const bytes = fixture("dtypes.safetensors");
    expect(parseSafetensors(bytes).tensors.get("f32_special")!.data.buffer).toBe(bytes.buffer);
    const copied = parseSafetensors(bytes, { copy: true }).tensors.get("f32_special")!;
    expect(copied.data.buffer).not.toBe(bytes.buffer);
    checkAgainstExpected(parseSafetensors(bytes, { copy: true }).tensors);
  });

  it("works on an ArrayBuffer and on a Uint8Array with a non-zero byteOffset", () => {
    const bytes = fixture("dtypes.safetensors");
    checkAgainstExpected(parseSafetensors(bytes.buffer as ArrayBuffer).tensors);
    for (const shift of [1, 2, 3, 4]) {
      const big = new Uint8Array(bytes.length + shift);
      big.set(bytes, shift);
      checkAgainstExpected(parseSafetensors(big.subarray(shift)).tensors);
    }
  });

  it("names the file and the value when I64 does not fit in int32", () => {
    expect(() =>
      parseSafetensors(fixture("i64-overflow.safetensors"), { name: "i64-overflow.safetensors" }),
    ).toThrow(
      /^i64-overflow\.safetensors: tensor "big": I64 value 2147483648 at flat index 1 does not fit in int32$/,
    );
  });

  it("exposes the validated header without decoding data", () => {
    const h = parseSafetensorsHeader(fixture("dtypes.safetensors"));
    expect(h.entries.map((e) => e.name)).toEqual(Object.keys(expected.tensors));
    expect(h.entries.find((e) => e.name === "f16_special")).toMatchObject({ dtype: "F16", shape: [3, 4] });
    expect(h.dataStart % 8).toBe(0);
  });
});

/** Build a safetensors file by hand (header JSON padded to 8, then the data bytes). */
function craft(header: Record<string, unknown>, data: number[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + data.length).fill(0x20, 8, 8 + n);
  new DataView(out.buffer).setUint32(0, n, true);
  out.set(json, 8);
  out.set(data, 8 + n);
  return out;
}

function le(values: number[], bytesPer: number, signed = false): number[] {
  const out = new Uint8Array(values.length * bytesPer);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (bytesPer === 8) dv.setBigInt64(i * 8, BigInt(v), true);
    else if (bytesPer === 4) (signed ? dv.setInt32 : dv.setUint32).call(dv, i * 4, v, true);
    else if (bytesPer === 2) dv.setUint16(i * 2, v, true);
    else dv.setUint8(i, v);
  });
  return [...out];
}

describe("less common dtypes", () => {
  it("decodes F8_E4M3 (FN variant) and F8_E5M2 exactly", () => {
    const bytes = craft(
      {
        a: { dtype: "F8_E4M3", shape: [7], data_offsets: [0, 7] },
        b: { dtype: "F8_E5M2", shape: [6], data_offsets: [7, 13] },
      },
      [0x38, 0x7e, 0x01, 0x7f, 0xb8, 0x80, 0x08, 0x3c, 0x7b, 0x7c, 0x7d, 0x01, 0xfc],
    );
    const { tensors } = parseSafetensors(bytes);
    const a = [...tensors.get("a")!.data];
    expect(a.slice(0, 3)).toEqual([1, 448, 2 ** -9]);
    expect(Number.isNaN(a[3])).toBe(true);
    expect(a[4]).toBe(-1);
    expect(Object.is(a[5], -0)).toBe(true);
    expect(a[6]).toBe(2 ** -6); // smallest normal E4M3
    const b = [...tensors.get("b")!.data];
    expect(b[0]).toBe(1);
    expect(b[1]).toBe(57344);
    expect(b[2]).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(b[3])).toBe(true);
    expect(b[4]).toBe(2 ** -16);
    expect(b[5]).toBe(Number.NEGATIVE_INFINITY);
    expect(f8e4m3ToNumber(0xff)).toBeNaN();
  });

  it("widens U16/U32/U64 and rejects values past int32", () => {
    const ok = craft(
      {
        u16: { dtype: "U16", shape: [2], data_offsets: [0, 4] },
        u32: { dtype: "U32", shape: [1], data_offsets: [4, 8] },
        u64: { dtype: "U64", shape: [1], data_offsets: [8, 16] },
      },
      [...le([65535, 1], 2), ...le([2147483647], 4), ...le([7], 8)],
    );
    const { tensors } = parseSafetensors(ok);
    expect([...tensors.get("u16")!.data]).toEqual([65535, 1]);
    expect([...tensors.get("u32")!.data]).toEqual([2147483647]);
    expect([...tensors.get("u64")!.data]).toEqual([7]);
    const u32 = craft({ x: { dtype: "U32", shape: [2], data_offsets: [0, 8] } }, le([0, 2147483648], 4));
    expect(() => parseSafetensors(u32, { name: "u.st" })).toThrow(
      'u.st: tensor "x": U32 value 2147483648 at flat index 1 does not fit in int32',
    );
    const u64 = craft({ x: { dtype: "U64", shape: [1], data_offsets: [0, 8] } }, [0, 0, 0, 0x80, 0, 0, 0, 0]);
    expect(() => parseSafetensors(u64)).toThrow("U64 value 2147483648 at flat index 0");
    const neg = craft({ x: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, le([-2147483649], 8));
    expect(() => parseSafetensors(neg)).toThrow(
      "I64 value -2147483649 at flat index 0 does not fit in int32",
    );
  });

  it("rejects BOOL bytes other than 0 and 1", () => {
    const bad = craft({ m: { dtype: "BOOL", shape: [3], data_offsets: [0, 3] } }, [1, 0, 7]);
    expect(() => parseSafetensors(bad, { name: "mask.st" })).toThrow(
      'mask.st: tensor "m": BOOL byte 7 at flat index 2 is not 0 or 1',
    );
  });
});

/** Independent numeric definition of an IEEE half, for cross-checking the bit twiddling. */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function bitsToF32(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

describe("narrow float conversions", () => {
  it("widens all 65536 F16 patterns exactly and rounds them back unchanged", () => {
    for (let h = 0; h < 0x10000; h++) {
      const bits = f16BitsToF32Bits(h);
      const want = halfValue(h);
      const got = bitsToF32(bits);
      if (Number.isNaN(want)) {
        expect(Number.isNaN(got)).toBe(true);
        expect(Number.isNaN(bitsToF32(f16BitsToF32Bits(f32BitsToF16Bits(bits))))).toBe(true);
        continue;
      }
      if (!Object.is(got, want)) expect({ h, got }).toEqual({ h, got: want });
      if (f32BitsToF16Bits(bits) !== h) expect({ h, back: f32BitsToF16Bits(bits) }).toEqual({ h, back: h });
    }
  });

  it("widens all 65536 BF16 patterns to the top half of a float32 and rounds them back", () => {
    for (let h = 0; h < 0x10000; h++) {
      const bits = bf16BitsToF32Bits(h);
      if (bits !== h * 0x10000) expect({ h, bits }).toEqual({ h, bits: h * 0x10000 });
      const back = f32BitsToBf16Bits(bits);
      if (Number.isNaN(bitsToF32(bits))) expect(Number.isNaN(bitsToF32(bf16BitsToF32Bits(back)))).toBe(true);
      else if (back !== h) expect({ h, back }).toEqual({ h, back: h });
    }
  });

  it("rounds float32 to F16 and BF16 exactly as torch does (round to nearest even)", () => {
    const ref = JSON.parse(readFileSync(new URL("f32-rounding.json", FIXTURES), "utf8")) as {
      f32: string[];
      f16: string[];
      bf16: string[];
    };
    expect(ref.f32.length).toBeGreaterThan(1000);
    const mismatches: string[] = [];
    ref.f32.forEach((hex, i) => {
      const bits = Number(hex);
      const nan = Number.isNaN(bitsToF32(bits));
      const f16 = f32BitsToF16Bits(bits);
      const bf16 = f32BitsToBf16Bits(bits);
      const f16Ok = nan ? Number.isNaN(halfValue(f16)) : f16 === Number(ref.f16[i]);
      const bf16Ok = nan ? Number.isNaN(bitsToF32(bf16 << 16)) : bf16 === Number(ref.bf16[i]);
      if (!f16Ok) mismatches.push(`f16(${hex}) = ${f16.toString(16)}, torch ${ref.f16[i]}`);
      if (!bf16Ok) mismatches.push(`bf16(${hex}) = ${bf16.toString(16)}, torch ${ref.bf16[i]}`);
    });
    expect(mismatches).toEqual([]);
  });
});

function sampleTensors(): Record<string, RawTensor> {
  const f32 = new Float32Array([0, -0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -3e-45, 3.4e38]);
  new Uint32Array(f32.buffer)[3] = 0x7fa12345; // a signalling NaN with a payload must survive
  return {
    "b.weight": { dtype: "float32", shape: [7], data: f32 },
    "a.bias": { dtype: "float64", shape: [2, 2], data: new Float64Array([1 / 3, -0, 5e-324, Number.NaN]) },
    "10": { dtype: "int32", shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) },
    scalar: { dtype: "float32", shape: [], data: new Float32Array([2.5]) },
    empty: { dtype: "float64", shape: [0, 4], data: new Float64Array(0) },
    odd: { dtype: "float32", shape: [1, 3], data: new Float32Array([1, 2, 3]) },
  };
}

function bytesOf(t: RawTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

describe("serializeSafetensors", () => {
  it("round-trips bit-identically, with metadata", () => {
    const src = sampleTensors();
    const bytes = serializeSafetensors(src, { format: "pt", note: "ünïcode ✓" });
    const { tensors, metadata } = parseSafetensors(bytes, { name: "roundtrip" });
    expect(metadata).toEqual({ format: "pt", note: "ünïcode ✓" });
    expect([...tensors.keys()].sort()).toEqual(Object.keys(src).sort());
    for (const [name, t] of Object.entries(src)) {
      const got = tensors.get(name)!;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(bytesOf(got)).toEqual(bytesOf(t));
    }
    // Re-serializing what was read gives the very same bytes.
    expect(serializeSafetensors(tensors, metadata!)).toEqual(bytes);
  });

  it("writes sorted keys, a space-padded 8-byte-aligned header and contiguous aligned offsets", () => {
    const bytes = serializeSafetensors(sampleTensors(), { z: "1", a: "2" });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text).toMatch(/^\{"__metadata__":\{"a":"2","z":"1"\},"10":/);
    expect(text.trimEnd().endsWith("}")).toBe(true);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    const keyOrder = [...text.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
    expect(keyOrder).toEqual(["10", "a.bias", "b.weight", "empty", "odd", "scalar"]);
    const h = parseSafetensorsHeader(bytes);
    for (const e of h.entries) expect((h.dataStart + e.begin) % (e.dtype === "F64" ? 8 : 4)).toBe(0);
    expect(h.entries.map((e) => e.end - e.begin).reduce((a, b) => a + b, 0)).toBe(bytes.length - h.dataStart);
  });

  it("produces the same bytes for a Map, a Record, or any insertion order", () => {
    const src = sampleTensors();
    const reversed = new Map(Object.entries(src).reverse());
    expect(serializeSafetensors(reversed, { b: "1", a: "2" })).toEqual(
      serializeSafetensors(src, { a: "2", b: "1" }),
    );
  });

  it("can store float32 tensors as F16 or BF16 (rounded to nearest even)", () => {
    const data = new Float32Array([1, 1 + 2 ** -11, 65520, 2 ** -25, 3 * 2 ** -25, -0, 0.1, Number.NaN]);
    const t = { w: { dtype: "float32" as const, shape: [2, 4], data }, i: sampleTensors()["10"] };
    const f16 = parseSafetensors(serializeSafetensors(t, undefined, { float32As: "F16" }));
    expect(
      parseSafetensorsHeader(serializeSafetensors(t, undefined, { float32As: "F16" })).entries[1].dtype,
    ).toBe("F16");
    const got = [...f16.tensors.get("w")!.data];
    expect(got.slice(0, 5)).toEqual([1, 1, Number.POSITIVE_INFINITY, 0, 2 ** -23]);
    expect(Object.is(got[5], -0)).toBe(true);
    expect(got[6]).toBe(halfValue(0x2e66));
    expect(Number.isNaN(got[7])).toBe(true);
    expect([...f16.tensors.get("i")!.data]).toEqual([-2147483648, 0, 2147483647]);
    const bf16 = parseSafetensors(serializeSafetensors(t, undefined, { float32As: "BF16" }));
    const b = [...bf16.tensors.get("w")!.data];
    expect(b.slice(0, 3)).toEqual([1, 1, 65536]);
    expect(b[6]).toBe(bitsToF32(0x3dcd0000));
  });

  it("rejects invalid tensors and metadata with clear errors", () => {
    const f = (shape: number[], n: number): RawTensor => ({
      dtype: "float32",
      shape,
      data: new Float32Array(n),
    });
    expect(() => serializeSafetensors({ w: f([2, 3], 5) })).toThrow(
      'serializeSafetensors: tensor "w": data has 5 elements but shape [2,3] needs 6',
    );
    expect(() => serializeSafetensors({ w: f([-1], 0) }, undefined, { name: "out.st" })).toThrow(
      'out.st: tensor "w": shape must be an array of non-negative integers, got [-1]',
    );
    const mismatched = { dtype: "float64", shape: [1], data: new Float32Array(1) } as unknown as RawTensor;
    expect(() => serializeSafetensors({ w: mismatched })).toThrow(
      'tensor "w": dtype "float64" with Float32Array data is not a valid RawTensor',
    );
    expect(() => serializeSafetensors({ __metadata__: f([1], 1) })).toThrow('"__metadata__" is reserved');
    const badMeta = { step: 3 } as unknown as Record<string, string>;
    expect(() => serializeSafetensors({}, badMeta)).toThrow(
      'metadata key "step" has a number value, not a string',
    );
    const badOpt = { float32As: "F8" } as unknown as { float32As: "F16" };
    expect(() => serializeSafetensors({}, undefined, badOpt)).toThrow(SafetensorsError);
  });

  it("serializes an empty collection to a valid file", () => {
    const bytes = serializeSafetensors({});
    expect(bytes.length).toBe(16);
    expect(parseSafetensors(bytes).tensors.size).toBe(0);
  });
});
