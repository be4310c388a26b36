// Packs the wasm backend's two modules for shipping (read back by src/backends/wasm/pack.ts): the
// plain SIMD128 module DEFLATE-compressed, the relaxed-SIMD module as a compressed patch over it
// (the builds differ in a few sections and about a seventh of the function bodies). Used by
// scripts/build-wasm.mjs; Node only.
import { createHash } from "node:crypto";
import { deflateRawSync } from "node:zlib";

function leb(buf, p) {
  let n = 0;
  let shift = 0;
  let b;
  do {
    b = buf[p++];
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [n, p];
}

function sections(m) {
  const out = [];
  let p = 8;
  while (p < m.length) {
    const id = m[p++];
    let n;
    [n, p] = leb(m, p);
    out.push({ id, data: m.subarray(p, p + n) });
    p += n;
  }
  return out;
}

function bodies(code) {
  let [count, p] = leb(code, 0);
  const out = [];
  for (let i = 0; i < count; i++) {
    let size;
    [size, p] = leb(code, p);
    out.push(code.subarray(p, p + size));
    p += size;
  }
  return out;
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** The patch that turns `base` into `target` (format in src/backends/wasm/pack.ts). */
export function makePatch(base, target) {
  const bs = sections(base);
  const ts = sections(target);
  const parts = [Buffer.from("QKVP", "latin1"), u32(ts.length)];
  ts.forEach((s, i) => {
    const same = bs[i] && bs[i].id === s.id;
    if (same && Buffer.compare(bs[i].data, s.data) === 0) {
      parts.push(Buffer.from([s.id, 0]));
    } else if (same && s.id === 10 && bodies(bs[i].data).length === bodies(s.data).length) {
      const bb = bodies(bs[i].data);
      const tb = bodies(s.data);
      const changed = [];
      tb.forEach((f, k) => {
        if (Buffer.compare(f, bb[k]) !== 0) changed.push(k);
      });
      parts.push(Buffer.from([s.id, 2]), u32(tb.length), u32(changed.length));
      for (const k of changed) parts.push(u32(k), u32(tb[k].length), tb[k]);
    } else {
      parts.push(Buffer.from([s.id, 1]), u32(s.data.length), s.data);
    }
  });
  return Buffer.concat(parts);
}

const sha = (b) => createHash("sha256").update(b).digest("hex");

/**
 * The generated TypeScript module's lines for the two modules: sizes, sha-256 digests (checked
 * when unpacked, in the tests), and the base64 of the compressed module and patch.
 */
export function packedModuleLines(simd, relaxed) {
  const base = deflateRawSync(simd, { level: 9 });
  const patch = makePatch(simd, relaxed);
  const dpatch = deflateRawSync(patch, { level: 9 });
  return {
    lines: [
      `export const WASM_SIMD_BYTES = ${simd.length};`,
      `export const WASM_SIMD_SHA256 = "${sha(simd)}";`,
      `export const WASM_RELAXED_BYTES = ${relaxed.length};`,
      `export const WASM_RELAXED_SHA256 = "${sha(relaxed)}";`,
      `export const WASM_RELAXED_PATCH_BYTES = ${patch.length};`,
      `/** The SIMD128 module, raw DEFLATE, base64. */`,
      `export const WASM_SIMD_DEFLATED = "${base.toString("base64")}";`,
      `/** The relaxed-SIMD module as a patch over it, raw DEFLATE, base64. */`,
      `export const WASM_RELAXED_PATCH_DEFLATED = "${dpatch.toString("base64")}";`,
    ],
    sizes: { base: base.length, patch: patch.length, dpatch: dpatch.length },
  };
}
