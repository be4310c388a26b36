/**
 * Zip archives for checkpoint folders: a writer of stored (uncompressed) entries and a reader
 * of stored or deflated ones (deflate through the platform's DecompressionStream). Enough of
 * PKWARE's APPNOTE (local headers, central directory, end record; no zip64, no encryption) for
 * folders of a few files. Used by the playground worker; browser- and Node-safe.
 */

/** One archive member: a path inside the archive ("folder/config.json") and its bytes. */
export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (the zip/PNG polynomial, reflected, 0xEDB88320). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** MS-DOS time and date words of a local time (zip has no time zone; 2-second resolution). */
function dosDateTime(d: Date): [number, number] {
  const year = Math.min(Math.max(d.getFullYear(), 1980), 2107);
  const time = (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1);
  const date = ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();
  return [time, date];
}

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const END_SIG = 0x06054b50;
const UTF8_FLAG = 0x0800; // general-purpose bit 11: names are UTF-8

/**
 * A zip archive of `entries`, stored without compression (safetensors of random-looking floats
 * barely compress anyway).
 * @example const bytes = zipStored([{ name: "ck/config.json", data: new TextEncoder().encode("{}") }]);
 */
export function zipStored(entries: readonly ZipEntry[], date = new Date()): Uint8Array {
  const enc = new TextEncoder();
  const [time, day] = dosDateTime(date);
  const names = entries.map((e) => enc.encode(e.name));
  let size = 22;
  entries.forEach((e, i) => {
    if (e.data.length > 0xfffffffe) throw new Error(`zip: ${e.name} is too large for a zip without zip64`);
    size += 30 + names[i].length + e.data.length + 46 + names[i].length;
  });
  if (size > 0xfffffffe) throw new Error("zip: the archive would exceed 4 GiB (zip64 is not supported)");
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let p = 0;
  const u16 = (x: number) => {
    v.setUint16(p, x, true);
    p += 2;
  };
  const u32 = (x: number) => {
    v.setUint32(p, x, true);
    p += 4;
  };
  const offsets: number[] = [];
  const crcs = entries.map((e) => crc32(e.data));
  entries.forEach((e, i) => {
    offsets.push(p);
    u32(LOCAL_SIG);
    u16(20); // version needed: 2.0
    u16(UTF8_FLAG);
    u16(0); // method: stored
    u16(time);
    u16(day);
    u32(crcs[i]);
    u32(e.data.length); // compressed size
    u32(e.data.length); // uncompressed size
    u16(names[i].length);
    u16(0); // extra field length
    out.set(names[i], p);
    p += names[i].length;
    out.set(e.data, p);
    p += e.data.length;
  });
  const central = p;
  entries.forEach((e, i) => {
    u32(CENTRAL_SIG);
    u16(20); // version made by
    u16(20); // version needed
    u16(UTF8_FLAG);
    u16(0);
    u16(time);
    u16(day);
    u32(crcs[i]);
    u32(e.data.length);
    u32(e.data.length);
    u16(names[i].length);
    u16(0); // extra
    u16(0); // comment
    u16(0); // disk number
    u16(0); // internal attributes
    u32(0); // external attributes
    u32(offsets[i]);
    out.set(names[i], p);
    p += names[i].length;
  });
  const centralSize = p - central;
  u32(END_SIG);
  u16(0);
  u16(0);
  u16(entries.length);
  u16(entries.length);
  u32(centralSize);
  u32(central);
  u16(0); // comment length
  return out;
}

async function inflateRaw(data: Uint8Array, name: string): Promise<Uint8Array> {
  if (typeof DecompressionStream === "undefined")
    throw new Error(`zip: ${name} is deflated, and this platform has no DecompressionStream`);
  // slice(): a copy backed by a plain ArrayBuffer, which every Blob typing accepts
  const stream = new Blob([data.slice().buffer]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The files of a zip archive (folders skipped), stored or deflated; every CRC is checked.
 * Errors say what is wrong ("not a zip", the member and the problem).
 * @example for (const { name, data } of await unzip(bytes)) console.log(name, data.length);
 */
export async function unzip(bytes: Uint8Array): Promise<ZipEntry[]> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (v.getUint32(i, true) === END_SIG) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error("zip: not a zip archive (no end-of-central-directory record)");
  const count = v.getUint16(end + 10, true);
  let p = v.getUint32(end + 16, true);
  const dec = new TextDecoder();
  const out: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (p + 46 > bytes.length || v.getUint32(p, true) !== CENTRAL_SIG)
      throw new Error(`zip: central directory entry ${n} is damaged`);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    const csize = v.getUint32(p + 20, true);
    const usize = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const local = v.getUint32(p + 42, true);
    const name = dec.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith("/")) continue;
    if (local + 30 > bytes.length || v.getUint32(local, true) !== LOCAL_SIG)
      throw new Error(`zip: ${name}: local header is damaged`);
    const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    if (start + csize > bytes.length) throw new Error(`zip: ${name} is truncated`);
    const raw = bytes.subarray(start, start + csize);
    let data: Uint8Array;
    if (method === 0) data = raw.slice();
    else if (method === 8) data = await inflateRaw(raw, name);
    else throw new Error(`zip: ${name} uses compression method ${method} (only stored and deflate are read)`);
    if (data.length !== usize) throw new Error(`zip: ${name}: size ${data.length}, header says ${usize}`);
    if (crc32(data) !== crc) throw new Error(`zip: ${name}: CRC mismatch (damaged archive)`);
    out.push({ name, data });
  }
  return out;
}
