/**
 * Mutation arbitraries for the fuzz targets (fast-check): byte-level damage to a file (flips,
 * truncation, insertion, splices) and structure-aware damage to a JSON document (a value replaced
 * by a hostile one: extreme numbers, wrong types, prototype names, deep nesting, huge strings).
 * Used by test/fuzz/*.test.ts (short seeded runs) and scripts/fuzz.ts (the long run).
 */
import fc from "fast-check";

/** Numbers and values that break validators: bounds, precision edges, wrong types. */
export const HOSTILE_NUMBERS = [
  0,
  -0,
  -1,
  1,
  2,
  3,
  0.5,
  -0.5,
  1e-320,
  7,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 53,
  2 ** 53 + 2,
  9007199254740992, // the CLI case 9007199254740993 as a JSON number rounds to this
  1e15,
  1e21,
  1e308,
  -1e308,
  10_000_000,
  50256,
  6000000128,
];

/** Property names that shadow Object.prototype members. */
export const PROTO_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "prototype"];

/** A deeply nested array as JSON text (depth `d`). */
export function deepJson(d: number): string {
  return `${"[".repeat(d)}${"]".repeat(d)}`;
}

/** A JSON value meant to break the reader of one field. */
export const hostileJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...HOSTILE_NUMBERS),
  fc.double(),
  fc.integer(),
  fc.constantFrom(null, true, false, "", "0", "1e400", "NaN", "-1", "gpt", "__proto__", "toString"),
  fc.string({ maxLength: 12 }),
  fc.constantFrom([], {}, [1], [[[]]], { a: 1 }, [-1, 2 ** 53], [0, 0], ["F32"]),
  fc.array(fc.oneof(fc.integer(), fc.constantFrom(...HOSTILE_NUMBERS)), { maxLength: 4 }),
  fc.dictionary(fc.constantFrom(...PROTO_NAMES, "dtype", "shape", "data_offsets", "x"), fc.integer(), {
    maxKeys: 3,
  }),
);

type Json = unknown;

/** Paths to every value in a JSON tree (arrays and objects included), at most `max` of them. */
function paths(v: Json, max = 4000): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (x: Json, p: (string | number)[]) => {
    if (out.length >= max) return;
    out.push(p);
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) walk(x[i], [...p, i]);
    } else if (x !== null && typeof x === "object")
      for (const k of Object.keys(x as object)) walk((x as Record<string, Json>)[k], [...p, k]);
  };
  walk(v, []);
  return out;
}

/** Sets own property `k` (even "__proto__") on a copy-on-write object. */
function setOwn(o: Record<string, Json>, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** One structural edit of a JSON tree. */
export type JsonEdit =
  | { kind: "replace"; at: number; value: Json }
  | { kind: "delete"; at: number }
  | { kind: "rename"; at: number; name: string }
  | { kind: "add"; at: number; name: string; value: Json }
  | { kind: "deep"; at: number; depth: number }
  | { kind: "bigString"; at: number; length: number }
  | { kind: "duplicate"; at: number };

export const jsonEdit: fc.Arbitrary<JsonEdit> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), value: hostileJsonValue }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("rename" as const),
      at: fc.nat(),
      name: fc.oneof(fc.constantFrom(...PROTO_NAMES, "__metadata__", ""), fc.string({ maxLength: 8 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      at: fc.nat(),
      name: fc.oneof(fc.constantFrom(...PROTO_NAMES, "__metadata__"), fc.string({ maxLength: 8 })),
      value: hostileJsonValue,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("deep" as const),
      at: fc.nat(),
      depth: fc.constantFrom(20, 200, 5000, 20_000),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("bigString" as const),
      at: fc.nat(),
      length: fc.constantFrom(1000, 100_000),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat() }) },
);

/** Applies `edits` to a deep copy of `doc`; returns the JSON text (deep edits are spliced in as text). */
export function applyJsonEdits(doc: Json, edits: JsonEdit[]): string {
  let root = structuredClone(doc);
  const splices: [string, string][] = [];
  for (const e of edits) {
    const ps = paths(root);
    const p = ps[e.at % ps.length];
    const parentPath = p.slice(0, -1);
    const key = p[p.length - 1];
    let parent: Json = root;
    for (const k of parentPath) parent = (parent as Record<string | number, Json>)[k];
    const target = p.length === 0 ? root : (parent as Record<string | number, Json>)[key];
    const put = (v: Json) => {
      if (p.length === 0) root = v;
      else if (Array.isArray(parent)) (parent as Json[])[key as number] = v;
      else setOwn(parent as Record<string, Json>, String(key), v);
    };
    switch (e.kind) {
      case "replace":
        put(structuredClone(e.value));
        break;
      case "delete":
        if (p.length === 0) break;
        if (Array.isArray(parent)) (parent as Json[]).splice(key as number, 1);
        else delete (parent as Record<string, Json>)[String(key)];
        break;
      case "rename":
        if (p.length === 0 || Array.isArray(parent)) break;
        delete (parent as Record<string, Json>)[String(key)];
        setOwn(parent as Record<string, Json>, e.name, target);
        break;
      case "add":
        if (Array.isArray(target)) (target as Json[]).push(structuredClone(e.value));
        else if (target !== null && typeof target === "object")
          setOwn(target as Record<string, Json>, e.name, structuredClone(e.value));
        break;
      case "deep": {
        const mark = `__qkv_deep_${splices.length}__`;
        splices.push([JSON.stringify(mark), deepJson(e.depth)]);
        put(mark);
        break;
      }
      case "bigString":
        put("x".repeat(e.length));
        break;
      case "duplicate":
        if (Array.isArray(target)) (target as Json[]).push(...structuredClone(target as Json[]));
        break;
    }
  }
  let text = JSON.stringify(root) ?? "null";
  for (const [mark, deep] of splices) text = text.replace(mark, deep);
  return text;
}

/** One byte-level edit of a file. */
export type ByteEdit =
  | { kind: "flip"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "erase"; at: number; length: number }
  | { kind: "u64"; at: number; value: bigint };

export const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("flip" as const),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("insert" as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ maxLength: 16 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("erase" as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 64 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("u64" as const),
      at: fc.constantFrom(0, 0, 0, 1, 8),
      value: fc.oneof(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.constantFrom(
          0n,
          1n,
          7n,
          8n,
          2n ** 31n,
          2n ** 32n,
          2n ** 53n,
          100_000_000n,
          100_000_001n,
          2n ** 64n - 1n,
        ),
      ),
    }),
  },
);

/** Applies byte edits to a copy of `bytes`. */
export function applyByteEdits(bytes: Uint8Array, edits: ByteEdit[]): Uint8Array {
  let b = bytes.slice();
  for (const e of edits) {
    const n = Math.max(b.length, 1);
    switch (e.kind) {
      case "flip":
        if (b.length > 0) b[e.at % b.length] = e.value;
        break;
      case "truncate":
        b = b.slice(0, e.at % n);
        break;
      case "insert": {
        const at = e.at % n;
        const out = new Uint8Array(b.length + e.bytes.length);
        out.set(b.subarray(0, at));
        out.set(e.bytes, at);
        out.set(b.subarray(at), at + e.bytes.length);
        b = out;
        break;
      }
      case "erase": {
        const at = e.at % n;
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + e.length)]);
        break;
      }
      case "u64":
        if (b.length >= e.at + 8) new DataView(b.buffer, b.byteOffset).setBigUint64(e.at, e.value, true);
        break;
    }
  }
  return b;
}
