/**
 * How the wasm backend's two modules are shipped (written by scripts/wasm-pack.mjs): the plain
 * SIMD128 module DEFLATE-compressed, and the relaxed-SIMD module as a patch over it (the sections
 * and function bodies that differ, also compressed). The two builds share most of their code, so
 * both fit in a fraction of one module's size, and a bundle stays under bundlers' chunk-size limits.
 */
import { inflateRaw } from "../../util/inflate.js";

/** Reads sections of a module: id and payload, in order (after the 8-byte preamble). */
function sections(m: Uint8Array): { id: number; data: Uint8Array }[] {
  const out: { id: number; data: Uint8Array }[] = [];
  let p = 8;
  while (p < m.length) {
    const id = m[p++];
    let n = 0;
    let shift = 0;
    let b: number;
    do {
      b = m[p++];
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    out.push({ id, data: m.subarray(p, p + n) });
    p += n;
  }
  return out;
}

/** A vector of function bodies (the code section's payload), each without its size prefix. */
function bodies(code: Uint8Array): Uint8Array[] {
  let p = 0;
  const leb = (): number => {
    let n = 0;
    let shift = 0;
    let b: number;
    do {
      b = code[p++];
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return n;
  };
  const count = leb();
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const size = leb();
    out.push(code.subarray(p, p + size));
    p += size;
  }
  return out;
}

function pushLeb(out: number[], n: number): void {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A length-prefixed vector: LEB128 size, then the bytes. */
function withSize(bytes: Uint8Array): Uint8Array[] {
  const head: number[] = [];
  pushLeb(head, bytes.length);
  return [new Uint8Array(head), bytes];
}

/** Decodes base64 (atob, present in browsers and Node ≥ 16). */
export function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The base module from its compressed bytes. */
export function unpackBase(deflated: Uint8Array, size: number): Uint8Array<ArrayBuffer> {
  const m = inflateRaw(deflated, size);
  if (m.length !== size) throw new Error(`wasm module: inflated to ${m.length} bytes, expected ${size}`);
  return m;
}

/**
 * The second module from the base and a patch (uncompressed here). Patch layout, little-endian u32s:
 * "QKVP", section count, then per section an id byte and a kind byte: 0 = the base's section at the
 * same position; 1 = u32 length and the payload; 2 = a code section: u32 function count, u32 number
 * of replaced bodies, then (u32 index, u32 length, body) for each, other bodies from the base's.
 */
export function applyPatch(base: Uint8Array, patch: Uint8Array): Uint8Array<ArrayBuffer> {
  const dv = new DataView(patch.buffer, patch.byteOffset, patch.byteLength);
  let p = 0;
  const u32 = (): number => {
    const v = dv.getUint32(p, true);
    p += 4;
    return v;
  };
  const bytes = (n: number): Uint8Array => {
    const b = patch.subarray(p, p + n);
    p += n;
    return b;
  };
  if (u32() !== 0x50564b51) throw new Error("wasm module patch: bad magic");
  const baseSections = sections(base);
  const nsec = u32();
  const parts: Uint8Array[] = [base.subarray(0, 8)];
  for (let i = 0; i < nsec; i++) {
    const id = patch[p++];
    const kind = patch[p++];
    let data: Uint8Array;
    if (kind === 0) {
      const s = baseSections[i];
      if (!s || s.id !== id) throw new Error(`wasm module patch: section ${i} does not match the base`);
      data = s.data;
    } else if (kind === 1) {
      data = bytes(u32());
    } else if (kind === 2) {
      const s = baseSections[i];
      if (!s || s.id !== id) throw new Error(`wasm module patch: code section ${i} does not match the base`);
      const fns = bodies(s.data);
      const count = u32();
      if (count !== fns.length) throw new Error("wasm module patch: function count differs from the base");
      const replaced = u32();
      for (let k = 0; k < replaced; k++) {
        const index = u32();
        fns[index] = bytes(u32());
      }
      const head: number[] = [];
      pushLeb(head, count);
      const body: Uint8Array[] = [new Uint8Array(head)];
      for (const f of fns) body.push(...withSize(f));
      data = concat(body);
    } else throw new Error(`wasm module patch: unknown section kind ${kind}`);
    parts.push(new Uint8Array([id]), ...withSize(data));
  }
  return concat(parts);
}
