/**
 * Node data helpers: reading a text file or folder (order, filtering, readable errors) and the
 * token-id cache (reuse, invalidation by fingerprint or source change, corruption, dtype).
 */

import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  cachedTokenIds,
  describeTextSource,
  loadTextSource,
  tokenCachePath,
} from "../../src/io/node-data.js";

const base = mkdtempSync(join(tmpdir(), "qkv-data-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const d = join(base, `case-${n++}`);
  mkdirSync(d);
  return d;
};

describe("loadTextSource", () => {
  it("reads a file, stripping a byte-order mark", async () => {
    const d = fresh();
    writeFileSync(join(d, "input.txt"), "\ufeffhello\nworld\n");
    expect(await loadTextSource(join(d, "input.txt"))).toBe("hello\nworld\n");
  });

  it("joins a folder's .txt/.md files (recursive, sorted, no dot-files) with newlines", async () => {
    const d = fresh();
    writeFileSync(join(d, "b.md"), "B");
    writeFileSync(join(d, "a.txt"), "A");
    writeFileSync(join(d, "c.json"), "{}");
    writeFileSync(join(d, ".hidden.txt"), "H");
    writeFileSync(join(d, "empty.txt"), "");
    mkdirSync(join(d, "sub"));
    writeFileSync(join(d, "sub", "d.TXT"), "D");
    mkdirSync(join(d, ".git"));
    writeFileSync(join(d, ".git", "x.txt"), "X");
    symlinkSync(d, join(d, "sub", "loop")); // a cycle is visited once
    symlinkSync(join(d, "missing"), join(d, "broken.txt")); // a broken link is ignored
    expect(await loadTextSource(d)).toBe("A\nB\nD");
    const info = await describeTextSource(d);
    expect(info.isDirectory).toBe(true);
    expect(info.files.map((f) => f.slice(d.length + 1))).toEqual([
      "a.txt",
      "b.md",
      "empty.txt",
      join("sub", "d.TXT"),
    ]);
    expect(info.size).toBe(3);
  });

  it("names the path when the source is missing, empty or binary", async () => {
    const d = fresh();
    await expect(loadTextSource(join(d, "nope.txt"))).rejects.toThrow(
      `text source not found: ${join(d, "nope.txt")}`,
    );
    writeFileSync(join(d, "empty.txt"), "");
    await expect(loadTextSource(join(d, "empty.txt"))).rejects.toThrow(
      `text source ${join(d, "empty.txt")} is empty`,
    );
    writeFileSync(join(d, "bin.txt"), new Uint8Array([104, 105, 0, 1, 2]));
    await expect(loadTextSource(join(d, "bin.txt"))).rejects.toThrow(
      `${join(d, "bin.txt")} looks binary, not text (NUL byte at offset 2)`,
    );
    writeFileSync(join(d, "latin1.txt"), new Uint8Array([99, 97, 102, 0xe9]));
    await expect(loadTextSource(join(d, "latin1.txt"))).rejects.toThrow(
      `${join(d, "latin1.txt")} is not valid UTF-8`,
    );
    const noText = fresh();
    writeFileSync(join(noText, "data.csv"), "a,b");
    await expect(loadTextSource(noText)).rejects.toThrow(
      `text source folder ${noText} holds no .txt or .md files`,
    );
    const onlyEmpty = fresh();
    writeFileSync(join(onlyEmpty, "a.txt"), "");
    await expect(loadTextSource(onlyEmpty)).rejects.toThrow(
      `text source folder ${onlyEmpty} holds only empty files`,
    );
  });
});

describe("cachedTokenIds", () => {
  /** A fake tokenizer: one id per UTF-16 unit, shifted by `offset`; counts its calls. */
  const counting = (offset = 0) => {
    const calls = { n: 0 };
    const encode = (text: string): number[] => {
      calls.n++;
      return Array.from(text, (c) => c.charCodeAt(0) + offset);
    };
    return { calls, encode };
  };

  it("writes a cache, reuses it while the fingerprint matches, and rebuilds when it changes", async () => {
    const d = fresh();
    const src = join(d, "input.txt");
    writeFileSync(src, "hello world");
    const cacheDir = join(d, "cache");
    const { calls, encode } = counting();
    const first = await cachedTokenIds(src, "tok-v1", encode, { cacheDir });
    expect(first.fromCache).toBe(false);
    expect(first.ids).toBeInstanceOf(Uint16Array);
    expect(Array.from(first.ids)).toEqual(Array.from("hello world", (c) => c.charCodeAt(0)));
    expect(first.cachePath).toBe(tokenCachePath(src, cacheDir));
    const bytes = readFileSync(first.cachePath);
    expect(bytes.subarray(0, 8).toString("latin1")).toBe("QKVTOKS\0");
    expect(readdirSync(cacheDir)).toEqual([first.cachePath.slice(cacheDir.length + 1)]); // no temp files left

    const second = await cachedTokenIds(src, "tok-v1", encode, { cacheDir });
    expect(second.fromCache).toBe(true);
    expect(Array.from(second.ids)).toEqual(Array.from(first.ids));
    expect(calls.n).toBe(1);

    const other = counting(1);
    const third = await cachedTokenIds(src, "tok-v2", other.encode, { cacheDir });
    expect(third.fromCache).toBe(false);
    expect(third.ids[0]).toBe(first.ids[0] + 1);
    expect((await cachedTokenIds(src, "tok-v2", other.encode, { cacheDir })).fromCache).toBe(true);
    expect(other.calls.n).toBe(1);
    expect((await cachedTokenIds(src, "tok-v1", encode, { cacheDir })).fromCache).toBe(false);
  });

  it("rebuilds when the source changes or the cache file is damaged", async () => {
    const d = fresh();
    const src = join(d, "input.txt");
    writeFileSync(src, "abc");
    const { calls, encode } = counting();
    const first = await cachedTokenIds(src, "fp", encode);
    expect(first.cachePath.startsWith(join(d, ".qkv-cache"))).toBe(true); // default: next to the source
    // Same size, new mtime.
    writeFileSync(src, "xyz");
    utimesSync(src, new Date(2001, 1, 1), new Date(2001, 1, 1));
    const changed = await cachedTokenIds(src, "fp", encode);
    expect(changed.fromCache).toBe(false);
    expect(Array.from(changed.ids)).toEqual([120, 121, 122]);
    // Truncated cache file.
    const full = readFileSync(changed.cachePath);
    writeFileSync(changed.cachePath, full.subarray(0, full.length - 1));
    const repaired = await cachedTokenIds(src, "fp", encode);
    expect(repaired.fromCache).toBe(false);
    expect(Array.from(repaired.ids)).toEqual([120, 121, 122]);
    writeFileSync(changed.cachePath, "garbage");
    expect((await cachedTokenIds(src, "fp", encode)).fromCache).toBe(false);
    expect((await cachedTokenIds(src, "fp", encode)).fromCache).toBe(true);
    expect(calls.n).toBe(4);
  });

  it("caches a folder (inside it, unseen by the reader) and stores large ids as int32", async () => {
    const d = fresh();
    writeFileSync(join(d, "a.txt"), "ab");
    writeFileSync(join(d, "b.txt"), "c");
    const big = (text: string): number[] => Array.from(text, (c) => 70000 + c.charCodeAt(0));
    const first = await cachedTokenIds(d, "big", big);
    expect(first.cachePath.startsWith(join(d, ".qkv-cache"))).toBe(true);
    expect(first.ids).toBeInstanceOf(Int32Array);
    expect(Array.from(first.ids)).toEqual([70097, 70098, 70010, 70099]); // "ab" + "\n" + "c"
    const again = await cachedTokenIds(d, "big", big);
    expect(again.fromCache).toBe(true);
    expect(again.ids).toBeInstanceOf(Int32Array);
    expect(Array.from(again.ids)).toEqual(Array.from(first.ids));
    expect(await loadTextSource(d)).toBe("ab\nc");
    // Adding a file invalidates.
    writeFileSync(join(d, "c.md"), "d");
    expect((await cachedTokenIds(d, "big", big)).fromCache).toBe(false);
    await expect(cachedTokenIds(d, "bad", () => [1, -2])).rejects.toThrow(/encode returned -2 at position 1/);
  });
});
