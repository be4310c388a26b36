/**
 * A small, synchronous decoder for raw DEFLATE streams (RFC 1951), for the compressed WebAssembly
 * modules the wasm backend ships. Browsers only offer `DecompressionStream`, which is asynchronous,
 * and the backend must also load synchronously (Node, workers), so qkv decodes them itself.
 *
 * @example
 * inflateRaw(deflateRawSync(bytes)); // equals bytes (zlib's deflateRawSync in Node)
 */

/** Lengths and distances of the length/distance codes (RFC 1951 §3.2.5): base value and extra bits. */
const LEN_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
  227, 258,
];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
  6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
/** The order in which a dynamic block lists its code-length code lengths. */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A canonical Huffman code: counts of codes per length, and the symbols in code order. */
interface Huffman {
  counts: Uint16Array;
  symbols: Uint16Array;
}

function huffman(lengths: ArrayLike<number>, n: number): Huffman {
  const counts = new Uint16Array(16);
  for (let i = 0; i < n; i++) counts[lengths[i]]++;
  counts[0] = 0;
  const offs = new Uint16Array(16);
  for (let len = 1; len < 16; len++) offs[len] = offs[len - 1] + counts[len - 1];
  const symbols = new Uint16Array(n);
  for (let i = 0; i < n; i++) if (lengths[i] !== 0) symbols[offs[lengths[i]]++] = i;
  return { counts, symbols };
}

let fixedLit: Huffman | null = null;
let fixedDist: Huffman | null = null;

class BitReader {
  pos = 0;
  private bit = 0;
  private bits = 0;
  constructor(private readonly src: Uint8Array) {}

  need(n: number): number {
    while (this.bits < n) {
      if (this.pos >= this.src.length) throw new Error("inflate: unexpected end of data");
      this.bit |= this.src[this.pos++] << this.bits;
      this.bits += 8;
    }
    const v = this.bit & ((1 << n) - 1);
    this.bit >>>= n;
    this.bits -= n;
    return v;
  }

  /** Drops the bits left in the current byte (before a stored block). */
  align(): void {
    this.bit = 0;
    this.bits = 0;
  }

  /** One symbol of `h`, reading its code bit by bit (codes are stored most significant bit first). */
  decode(h: Huffman): number {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= this.need(1);
      const count = h.counts[len];
      if (code - first < count) return h.symbols[index + code - first];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw new Error("inflate: invalid Huffman code");
  }
}

/** Output that grows as needed. */
class Out {
  buf: Uint8Array;
  n = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(Math.max(size, 1024));
  }
  reserve(extra: number): void {
    if (this.n + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + extra));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
  }
}

function dynamicCodes(r: BitReader): [Huffman, Huffman] {
  const nlen = r.need(5) + 257;
  const ndist = r.need(5) + 1;
  const ncode = r.need(4) + 4;
  if (nlen > 286 || ndist > 30) throw new Error("inflate: bad dynamic block header");
  const clens = new Uint8Array(19);
  for (let i = 0; i < ncode; i++) clens[CLEN_ORDER[i]] = r.need(3);
  const clh = huffman(clens, 19);
  const lengths = new Uint8Array(nlen + ndist);
  for (let i = 0; i < nlen + ndist; ) {
    const sym = r.decode(clh);
    if (sym < 16) {
      lengths[i++] = sym;
      continue;
    }
    let rep: number;
    let value = 0;
    if (sym === 16) {
      if (i === 0) throw new Error("inflate: repeat with no previous length");
      value = lengths[i - 1];
      rep = 3 + r.need(2);
    } else if (sym === 17) rep = 3 + r.need(3);
    else rep = 11 + r.need(7);
    if (i + rep > nlen + ndist) throw new Error("inflate: code lengths overflow");
    lengths.fill(value, i, i + rep);
    i += rep;
  }
  return [huffman(lengths, nlen), huffman(lengths.subarray(nlen), ndist)];
}

function fixedCodes(): [Huffman, Huffman] {
  if (!fixedLit || !fixedDist) {
    const l = new Uint8Array(288);
    l.fill(8, 0, 144);
    l.fill(9, 144, 256);
    l.fill(7, 256, 280);
    l.fill(8, 280, 288);
    fixedLit = huffman(l, 288);
    fixedDist = huffman(new Uint8Array(30).fill(5), 30);
  }
  return [fixedLit, fixedDist];
}

/**
 * Decodes a raw DEFLATE stream (no zlib or gzip wrapper). `sizeHint` presizes the output.
 * Throws on malformed input.
 */
export function inflateRaw(src: Uint8Array, sizeHint = src.length * 4): Uint8Array<ArrayBuffer> {
  const r = new BitReader(src);
  const out = new Out(sizeHint);
  let last = 0;
  while (!last) {
    last = r.need(1);
    const type = r.need(2);
    if (type === 0) {
      r.align();
      const p = r.pos;
      if (p + 4 > src.length) throw new Error("inflate: unexpected end of data");
      const len = src[p] | (src[p + 1] << 8);
      const nlen = src[p + 2] | (src[p + 3] << 8);
      if ((len ^ 0xffff) !== nlen) throw new Error("inflate: stored block length check failed");
      if (p + 4 + len > src.length) throw new Error("inflate: unexpected end of data");
      out.reserve(len);
      out.buf.set(src.subarray(p + 4, p + 4 + len), out.n);
      out.n += len;
      r.pos = p + 4 + len;
      continue;
    }
    if (type === 3) throw new Error("inflate: invalid block type");
    const [lit, dist] = type === 1 ? fixedCodes() : dynamicCodes(r);
    for (;;) {
      const sym = r.decode(lit);
      if (sym < 256) {
        out.reserve(1);
        out.buf[out.n++] = sym;
      } else if (sym === 256) break;
      else {
        const li = sym - 257;
        if (li >= 29) throw new Error("inflate: bad length code");
        const len = LEN_BASE[li] + r.need(LEN_EXTRA[li]);
        const di = r.decode(dist);
        if (di >= 30) throw new Error("inflate: bad distance code");
        const d = DIST_BASE[di] + r.need(DIST_EXTRA[di]);
        if (d > out.n) throw new Error("inflate: distance before the start of the output");
        out.reserve(len);
        const b = out.buf;
        // Byte by byte: a copy may overlap the bytes it produces (d < len).
        for (let k = 0; k < len; k++, out.n++) b[out.n] = b[out.n - d];
      }
    }
  }
  return out.buf.slice(0, out.n);
}
