/**
 * The playground's zip writer and reader (playground/zip.ts): CRC-32 against the standard check
 * value, a stored round trip, Info-ZIP's `unzip -t` accepting what we write (when installed),
 * deflated members written by another tool, and damaged archives rejected by name.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { crc32, unzip, zipStored } from "../../playground/zip.js";

const tmp = mkdtempSync(join(tmpdir(), "qkv-zip-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const enc = new TextEncoder();

const entries = [
  { name: "ck/config.json", data: enc.encode('{"n_embd": 32}\n') },
  { name: "ck/model.safetensors", data: Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) & 255) },
  { name: "ck/empty.txt", data: new Uint8Array(0) },
  { name: "ck/ünïcode.json", data: enc.encode("[]") },
];

describe("playground zip", () => {
  it("computes CRC-32 as the zip spec does", () => {
    // The CRC-32/ISO-HDLC check value: crc32("123456789") = 0xCBF43926.
    expect(crc32(enc.encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("reads back what it writes", async () => {
    const back = await unzip(zipStored(entries));
    expect(back.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    for (const [i, e] of back.entries())
      expect(Buffer.from(e.data).equals(Buffer.from(entries[i].data))).toBe(true);
  });

  it("writes archives that Info-ZIP's unzip verifies", (ctx) => {
    const probe = spawnSync("unzip", ["-v"], { encoding: "utf8" });
    if (probe.error) ctx.skip(); // unzip(1) is not installed
    const path = join(tmp, "a.zip");
    writeFileSync(path, zipStored(entries));
    const r = spawnSync("unzip", ["-t", path], { encoding: "utf8" });
    expect(r.stdout).toMatch(/No errors detected/);
    const p = spawnSync("unzip", ["-p", path, "ck/config.json"], { encoding: "utf8" });
    expect(p.stdout).toBe('{"n_embd": 32}\n');
  });

  it("inflates deflated members", async () => {
    // Replace one stored member by a deflated one, patching its headers (method 8, compressed size).
    const plain = enc.encode("to be, or not to be: ".repeat(200));
    const deflated = deflateRawSync(plain);
    const name = enc.encode("d.txt");
    const crc = crc32(plain);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(deflated.length, 18);
    local.writeUInt32LE(plain.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(deflated.length, 20);
    central.writeUInt32LE(plain.length, 24);
    central.writeUInt16LE(name.length, 28);
    const cdOffset = 30 + name.length + deflated.length;
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(46 + name.length, 12);
    end.writeUInt32LE(cdOffset, 16);
    const zip = Buffer.concat([local, name, deflated, central, name, end]);
    const [e] = await unzip(new Uint8Array(zip));
    expect(e.name).toBe("d.txt");
    expect(new TextDecoder().decode(e.data)).toBe(new TextDecoder().decode(plain));
  });

  it("names what is wrong with a damaged archive", async () => {
    await expect(unzip(enc.encode("not a zip at all"))).rejects.toThrow(/not a zip archive/);
    const zip = zipStored(entries);
    const bad = zip.slice();
    bad[30 + entries[0].name.length + 2] ^= 0xff; // a byte of ck/config.json's data
    await expect(unzip(bad)).rejects.toThrow(/ck\/config\.json: CRC mismatch/);
    await expect(unzip(zip.subarray(0, zip.length - 40))).rejects.toThrow(/not a zip archive|damaged/);
  });

  it("reads an archive that Info-ZIP's zip deflated", async (ctx) => {
    if (spawnSync("zip", ["-v"]).error) ctx.skip(); // zip(1) is not installed
    writeFileSync(join(tmp, "words.txt"), "so shaken as we are, so wan with care\n".repeat(100));
    const r = spawnSync("zip", ["-q", "-9", "w.zip", "words.txt"], { cwd: tmp });
    expect(r.status).toBe(0);
    const [e] = await unzip(new Uint8Array(readFileSync(join(tmp, "w.zip"))));
    expect(e.name).toBe("words.txt");
    expect(new TextDecoder().decode(e.data)).toBe(readFileSync(join(tmp, "words.txt"), "utf8"));
  });

  it("stores the modification time as MS-DOS date and time words", async () => {
    const path = join(tmp, "b.zip");
    writeFileSync(
      path,
      zipStored([{ name: "f/x.json", data: enc.encode("{}") }], new Date(2024, 5, 1, 12, 30, 10)),
    );
    const bytes = readFileSync(path);
    // DOS date of 2024-06-01: ((2024 − 1980) << 9) | (6 << 5) | 1; time 12:30:10: (12 << 11) | (30 << 5) | 5.
    expect(bytes.readUInt16LE(12)).toBe((44 << 9) | (6 << 5) | 1);
    expect(bytes.readUInt16LE(10)).toBe((12 << 11) | (30 << 5) | 5);
  });
});
