/**
 * Hostile and corrupt safetensors input: every malformation must raise a SafetensorsError
 * that names the file and the problem, without out-of-bounds reads or huge allocations.
 */

import { describe, expect, it } from "vitest";
import {
  parseSafetensors,
  parseSafetensorsHeader,
  SAFETENSORS_MAX_HEADER_BYTES,
  SafetensorsError,
  serializeSafetensors,
} from "../../src/io/index.js";

const NAME = "evil.safetensors";

/** 8-byte little-endian length, the header bytes as given (no padding), then data. */
function file(
  header: string | Uint8Array,
  data: Uint8Array | number = 0,
  declaredLength?: bigint,
): Uint8Array {
  const head = typeof header === "string" ? new TextEncoder().encode(header) : header;
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + head.length + body.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(head.length), true);
  out.set(head, 8);
  out.set(body, 8 + head.length);
  return out;
}

const json = (h: unknown, data: Uint8Array | number = 0) => file(JSON.stringify(h), data);

/** Parse and return the thrown error, asserting it is a SafetensorsError naming the file. */
function errorOf(bytes: Uint8Array): SafetensorsError {
  try {
    parseSafetensors(bytes, { name: NAME });
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    expect((e as SafetensorsError).file).toBe(NAME);
    expect((e as Error).message.startsWith(`${NAME}: `)).toBe(true);
    return e as SafetensorsError;
  }
  throw new Error("expected parseSafetensors to throw");
}

const w = (extra: Record<string, unknown>) => ({
  w: { dtype: "F32", shape: [2], data_offsets: [0, 8], ...extra },
});

describe("hostile safetensors input", () => {
  it("rejects files shorter than the length prefix", () => {
    expect(errorOf(new Uint8Array(0)).message).toBe(
      `${NAME}: file is 0 bytes, too short for the 8-byte header length prefix`,
    );
    expect(errorOf(new Uint8Array(7)).message).toContain("file is 7 bytes, too short");
  });

  it("rejects absurd or truncated header lengths before reading them", () => {
    expect(errorOf(file("{}", 0, 1n << 40n)).message).toContain(
      `header length 1099511627776 exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte cap`,
    );
    expect(errorOf(file("{}", 0, 0xffffffffffffffffn)).message).toContain("exceeds the 100000000-byte cap");
    expect(errorOf(file("{}", 0, 200_000_000n)).message).toContain("header length 200000000 exceeds");
    expect(errorOf(file("{}", 0, 100n)).message).toBe(
      `${NAME}: header length 100 runs past the end of the file (10 bytes)`,
    );
  });

  it("rejects headers that are not UTF-8, not JSON, or not an object", () => {
    expect(errorOf(file(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).message).toBe(
      `${NAME}: header is not valid UTF-8`,
    );
    expect(errorOf(file("")).message).toContain("header is not valid JSON");
    expect(errorOf(file("{not json")).message).toContain("header is not valid JSON");
    expect(errorOf(file("[1,2]")).message).toBe(`${NAME}: header must be a JSON object, got an array`);
    expect(errorOf(file("null")).message).toContain("got null");
    expect(errorOf(file("42")).message).toContain("got a number");
  });

  it("rejects malformed __metadata__", () => {
    expect(errorOf(json({ __metadata__: ["a"] })).message).toContain(
      '"__metadata__" must be an object of strings, got an array',
    );
    expect(errorOf(json({ __metadata__: { step: 3 } })).message).toContain(
      '"__metadata__" key "step" has a number value, not a string',
    );
  });

  it("rejects entries with missing or invalid dtype", () => {
    expect(errorOf(json({ w: 5 })).message).toBe(
      `${NAME}: tensor "w": entry must be an object, got a number`,
    );
    expect(errorOf(json({ w: { shape: [2], data_offsets: [0, 8] } }, 8)).message).toContain(
      'tensor "w": missing "dtype"',
    );
    expect(errorOf(json(w({ dtype: 4 }), 8)).message).toContain(
      'tensor "w": "dtype" must be a string, got 4',
    );
    expect(errorOf(json(w({ dtype: "F128" }), 8)).message).toContain('tensor "w": unknown dtype "F128"');
    expect(errorOf(json(w({ dtype: "C64" }), 8)).message).toContain('dtype "C64" is not supported by qkv');
    expect(errorOf(json(w({ dtype: "toString" }), 8)).message).toContain('unknown dtype "toString"');
  });

  it("rejects missing, negative, fractional or non-numeric shapes", () => {
    expect(errorOf(json({ w: { dtype: "F32", data_offsets: [0, 8] } }, 8)).message).toContain(
      'missing "shape"',
    );
    for (const shape of [[-1], [1.5], "3", [2, null], [2 ** 53], { 0: 2 }]) {
      expect(errorOf(json(w({ shape }), 8)).message).toContain(
        'tensor "w": "shape" must be an array of non-negative integers',
      );
    }
    const inf = '{"w":{"dtype":"F32","shape":[1e400],"data_offsets":[0,8]}}'; // parses as Infinity
    expect(errorOf(file(inf, 8)).message).toContain('"shape" must be an array of non-negative integers');
  });

  it("rejects missing or malformed data_offsets", () => {
    expect(errorOf(json({ w: { dtype: "F32", shape: [2] } }, 8)).message).toContain('missing "data_offsets"');
    for (const data_offsets of [[0], [0, 8, 9], [-1, 8], ["0", 8], [0, 8.5], 8]) {
      expect(errorOf(json(w({ data_offsets }), 8)).message).toContain(
        '"data_offsets" must be [begin, end] of non-negative integers',
      );
    }
  });

  it("rejects reversed and out-of-range offsets", () => {
    expect(errorOf(json(w({ data_offsets: [8, 0] }), 8)).message).toContain(
      'tensor "w": data_offsets [8, 0] are reversed (begin > end)',
    );
    expect(errorOf(json(w({ data_offsets: [0, 16] }), 8)).message).toContain(
      'tensor "w": data_offsets [0, 16] run past the end of the 8-byte data buffer',
    );
  });

  it("rejects a 100 GB tensor from the offsets check, without allocating", () => {
    const huge = { w: { dtype: "F32", shape: [25_000_000_000], data_offsets: [0, 100_000_000_000] } };
    expect(errorOf(json(huge, 8)).message).toContain("data_offsets [0, 100000000000] run past the end");
    const claims = { w: { dtype: "F32", shape: [25_000_000_000], data_offsets: [0, 8] } };
    expect(errorOf(json(claims, 8)).message).toContain(
      "shape [25000000000] of F32 needs 100000000000 bytes but data_offsets [0, 8] span 8",
    );
    const overflow = { w: { dtype: "F32", shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 8] } };
    expect(errorOf(json(overflow, 8)).message).toContain("has too many elements");
  });

  it("rejects byte counts that do not match shape × item size", () => {
    expect(errorOf(json(w({ shape: [3] }), 8)).message).toContain(
      'tensor "w": shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8',
    );
    expect(errorOf(json(w({ dtype: "F16" }), 8)).message).toContain("of F16 needs 4 bytes");
  });

  it("rejects overlapping tensors", () => {
    const h = {
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
    };
    expect(errorOf(json(h, 12)).message).toBe(`${NAME}: tensors "a" [0, 8] and "b" [4, 12] overlap`);
    const same = { a: h.a, b: { ...h.a } };
    expect(errorOf(json(same, 8)).message).toContain("overlap");
  });

  it("rejects holes and trailing bytes, as the format requires a fully indexed buffer", () => {
    const hole = {
      a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      b: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
    };
    expect(errorOf(json(hole, 12)).message).toContain("data bytes [4, 8) belong to no tensor");
    expect(errorOf(json({ a: hole.a }, 8)).message).toContain(
      "data bytes [4, 8) after the last tensor belong to no tensor",
    );
    expect(errorOf(json({}, 4)).message).toContain("data bytes [0, 4) after the last tensor");
    // A duplicated JSON key hides the first entry; the hole it leaves behind is caught.
    const dup = `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`;
    expect(errorOf(file(dup, 8)).message).toContain("data bytes [0, 4) belong to no tensor");
  });

  it("accepts empty tensors sharing an offset with a neighbour, and an empty file body", () => {
    const h = {
      e: { dtype: "F32", shape: [0], data_offsets: [4, 4] },
      a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      b: { dtype: "I32", shape: [1], data_offsets: [4, 8] },
    };
    const { tensors } = parseSafetensors(json(h, 8));
    expect([...tensors.keys()]).toEqual(["e", "a", "b"]);
    expect(parseSafetensors(file("  {}  ")).tensors.size).toBe(0);
  });

  it("reports long or odd tensor names safely quoted and truncated", () => {
    const name = `x"\n${"y".repeat(10_000)}`;
    const msg = errorOf(json({ [name]: { dtype: "Q", shape: [], data_offsets: [0, 0] } })).message;
    expect(msg.length).toBeLessThan(300);
    expect(msg).toContain('tensor "x\\"\\nyyyy');
  });

  it("validates against fileSize when given only the header prefix", () => {
    const bytes = serializeSafetensors({ w: { dtype: "float32", shape: [4], data: new Float32Array(4) } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const prefix = bytes.subarray(0, 8 + n);
    expect(parseSafetensorsHeader(prefix, { fileSize: bytes.length }).entries[0].end).toBe(16);
    expect(() => parseSafetensorsHeader(prefix, { name: NAME, fileSize: bytes.length - 1 })).toThrow(
      'tensor "w": data_offsets [0, 16] run past the end of the 15-byte data buffer',
    );
    expect(() =>
      parseSafetensorsHeader(bytes.subarray(0, 12), { name: NAME, fileSize: bytes.length }),
    ).toThrow(`${NAME}: buffer holds 12 bytes but the header ends at byte ${8 + n}`);
    expect(() => parseSafetensorsHeader(bytes, { fileSize: 3 })).toThrow("fileSize 3 is invalid");
  });

  it("throws only SafetensorsError for every truncation and many byte corruptions of a valid file", () => {
    const valid = serializeSafetensors(
      {
        a: { dtype: "float32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
        b: { dtype: "float64", shape: [1], data: new Float64Array([5]) },
        c: { dtype: "int32", shape: [3], data: new Int32Array([6, 7, 8]) },
      },
      { k: "v" },
      { float32As: "F16" },
    );
    const outcomes = { parsed: 0, rejected: 0 };
    const attempt = (bytes: Uint8Array) => {
      try {
        parseSafetensors(bytes, { name: NAME });
        outcomes.parsed++;
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw e;
        expect(e.message.startsWith(`${NAME}: `)).toBe(true);
        outcomes.rejected++;
      }
    };
    for (let len = 0; len < valid.length; len++) {
      expect(() => parseSafetensors(valid.subarray(0, len), { name: NAME })).toThrow(SafetensorsError);
    }
    for (let i = 0; i < valid.length; i++) {
      for (const mask of [0x01, 0x10, 0x80, 0xff]) {
        const bad = valid.slice();
        bad[i] ^= mask;
        attempt(bad);
      }
    }
    expect(outcomes.rejected).toBeGreaterThan(100);
    expect(outcomes.parsed).toBeGreaterThan(10); // flips inside tensor data still parse
  });
});
