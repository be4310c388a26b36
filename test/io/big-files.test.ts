/**
 * Big checkpoints (issue 12, defect 10): files over 4 GiB load, each tensor read from its own
 * offsets; sharded folders (model.safetensors.index.json) are read as HF writes them and written
 * as HF splits them; a checkpoint that does not fit the model is refused from its header, before
 * any tensor data is read. The > 4 GiB files are sparse (a hole, no disk blocks) and live in the
 * OS temp folder; the test is skipped only where the file system cannot make sparse files.
 */
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadAddon } from "../../src/backends/native/binding.js";
import { Generator, GPT, QkvError, serializeHFCheckpointFiles } from "../../src/index.js";
import {
  fromPretrained,
  openPretrainedDir,
  openSafetensorsFile,
  readPretrainedDir,
  readSafetensorsHeaderFile,
  savePretrained,
} from "../../src/node.js";
import { fixturePath } from "../models/hf-fixtures.js";

const tmp = mkdtempSync(join(tmpdir(), "qkv-big-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A header for `entries` (name, dtype, shape, byte length) laid out back to back, padded to 8. */
function header(entries: [string, string, number[], number][]): Uint8Array {
  const obj: Record<string, unknown> = {};
  let at = 0;
  for (const [name, dtype, shape, bytes] of entries) {
    obj[name] = { dtype, shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  let text = JSON.stringify(obj);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const out = new Uint8Array(8 + text.length);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(new TextEncoder().encode(text), 8);
  return out;
}

/**
 * Writes a sparse safetensors file: the header, a hole for every entry but the last, and the last
 * entry's `tail` bytes at the very end. Returns false when the file system stored the hole.
 */
function writeSparse(path: string, entries: [string, string, number[], number][], tail: Uint8Array): boolean {
  const head = header(entries);
  const total = entries.reduce((n, e) => n + e[3], 0);
  const fd = openSync(path, "w");
  try {
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, tail, 0, tail.length, head.length + total - tail.length);
  } finally {
    closeSync(fd);
  }
  const st = statSync(path);
  return st.size === head.length + total && st.blocks * 512 < 64 * 2 ** 20;
}

const GIB = 2 ** 30;

describe("files over 4 GiB", () => {
  it("read one tensor from past the 4 GiB mark by its own offsets, without reading the rest", async (ctx) => {
    const p = join(tmp, "big.safetensors");
    const hugeBytes = 4.5 * GIB; // F32 of 4.5 GiB: the old reader needed one 4.5 GiB array
    const tail = new Uint8Array(new Float32Array([1.5, -2, 3.25, 1e-8]).buffer);
    const sparse = writeSparse(
      p,
      [
        ["huge", "F32", [hugeBytes / 4], hugeBytes],
        ["tail", "F32", [4], 16],
      ],
      tail,
    );
    if (!sparse) {
      rmSync(p, { force: true });
      ctx.skip("this file system cannot make sparse files");
    }
    const rss0 = process.memoryUsage().rss;
    const f = await openSafetensorsFile(p);
    try {
      expect(f.header.fileSize).toBeGreaterThan(2 ** 32);
      expect(f.entries.get("huge")!.shape).toEqual([hugeBytes / 4]);
      const t = await f.read("tail");
      expect(Array.from(t.data)).toEqual(Array.from(new Float32Array(tail.buffer)));
      expect(Array.from(f.readSync("tail").data)).toEqual(Array.from(t.data));
    } finally {
      await f.close();
    }
    expect((await readSafetensorsHeaderFile(p)).entries.map((e) => e.name)).toEqual(["huge", "tail"]);
    // Reading the header and a 16-byte tensor of a 4.5 GiB file costs kilobytes, not gigabytes.
    expect(process.memoryUsage().rss - rss0).toBeLessThan(256 * 2 ** 20);
    rmSync(p, { force: true });
  });

  it("readTogether views a tensor past the 4 GiB mark through a mapping of its own window only", async (ctx) => {
    const p = join(tmp, "big-mapped.safetensors");
    const hugeBytes = 4.5 * GIB;
    const tail = new Uint8Array(new Float32Array([0.5, 7, -1.25, 2e-9]).buffer);
    if (
      !writeSparse(
        p,
        [
          ["huge", "F32", [hugeBytes / 4], hugeBytes],
          ["tail", "F32", [4], 16],
        ],
        tail,
      )
    ) {
      rmSync(p, { force: true });
      ctx.skip("this file system cannot make sparse files");
    }
    const addon = loadAddon();
    const orig = addon?.mapFile;
    const calls: [number, number][] = [];
    if (addon && orig)
      addon.mapFile = (fd, offset, length) => {
        calls.push([offset, length]);
        return orig.call(addon, fd, offset, length);
      };
    const f = await openSafetensorsFile(p);
    try {
      const t = f.lazy("tail");
      const [got] = t.source!.readTogether([t], [false]);
      expect(Array.from(got.data)).toEqual(Array.from(new Float32Array(tail.buffer)));
      if (orig) {
        expect(calls.length).toBe(1);
        expect(calls[0][0]).toBeGreaterThan(2 ** 32); // the window starts near the tensor
        expect(calls[0][1]).toBeLessThanOrEqual(2 ** 16 + 16);
        expect(got.data.buffer.byteLength).toBe(calls[0][1]);
      }
    } finally {
      if (addon && orig) addon.mapFile = orig;
      await f.close();
      rmSync(p, { force: true });
    }
  });

  it("a 6 GB checkpoint that does not fit the model is refused from its header alone", async (ctx) => {
    const dir = join(tmp, "mismatch");
    rmSync(dir, { recursive: true, force: true });
    const ck = new GPT(
      { vocabSize: 11, blockSize: 4, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0, bias: true },
      { generator: new Generator(0) },
    ).toHF();
    await savePretrained({ toHF: () => ck }, dir);
    // Same config, but wte is (187500000, 8) F32 = 6 GB in a sparse file: a reader that loads
    // the data first needs 6 GB before it can say the shape is wrong.
    const rows = 187_500_000;
    const sparse = writeSparse(
      join(dir, "model.safetensors"),
      [["transformer.wte.weight", "F32", [rows, 8], rows * 8 * 4]],
      new Uint8Array(4),
    );
    if (!sparse) ctx.skip("this file system cannot make sparse files");
    const rss0 = process.memoryUsage().rss;
    await expect(fromPretrained(GPT, dir)).rejects.toThrow(
      "transformer.wte.weight has shape [187500000, 8] but the model's wte.weight has [11, 8]",
    );
    expect(process.memoryUsage().rss - rss0).toBeLessThan(256 * 2 ** 20);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("checkpoints that do not fit the model", () => {
  it("report missing tensors before reading any tensor data", async () => {
    const dir = join(tmp, "missing");
    const model = new GPT(
      { vocabSize: 11, blockSize: 4, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0, bias: true },
      { generator: new Generator(0) },
    );
    const ck = model.toHF();
    for (const k of [...ck.tensors.keys()]) if (k.includes(".h.1.")) ck.tensors.delete(k);
    await savePretrained({ toHF: () => ck }, dir);
    // Count the tensor reads the loader makes: a lazy source records each `data` access.
    const src = await openPretrainedDir(dir);
    let reads = 0;
    for (const [name, raw] of src.tensors) {
      src.tensors.set(name, {
        dtype: raw.dtype,
        shape: raw.shape,
        get data() {
          reads++;
          return raw.data;
        },
      });
    }
    try {
      expect(() => GPT.fromHF(src.config, src.tensors)).toThrow(
        /checkpoint is missing 12 tensor\(s\): h\.1\./,
      );
      expect(reads).toBe(0);
      // A fitting config then reads each tensor it uses exactly once.
      const fit = { ...src.config, n_layer: 1 };
      const m = GPT.fromHF(fit, src.tensors);
      expect(reads).toBe(src.tensors.size);
      expect(Array.from(m.wte.weight.data)).toEqual(Array.from(model.wte.weight.data));
    } finally {
      await src.close();
    }
  });
});

describe("sharded checkpoints (model.safetensors.index.json)", () => {
  const hfSharded = fixturePath("gpt2-tiny-sharded"); // written by transformers (scripts/gen_sharded_fixture.py)

  it("load HF's shards into the same model as the single file", async () => {
    const single = await readPretrainedDir(fixturePath("gpt2-tiny"));
    const sharded = await readPretrainedDir(hfSharded);
    expect([...sharded.tensors.keys()].sort()).toEqual([...single.tensors.keys()].sort());
    for (const [k, t] of single.tensors) {
      expect(sharded.tensors.get(k)!.shape).toEqual(t.shape);
      expect(Array.from(sharded.tensors.get(k)!.data)).toEqual(Array.from(t.data));
    }
    const a = await fromPretrained(GPT, hfSharded);
    const b = await fromPretrained(GPT, fixturePath("gpt2-tiny"));
    expect(Array.from(a.h.at(1).mlp.c_fc.weight.data)).toEqual(Array.from(b.h.at(1).mlp.c_fc.weight.data));
  });

  it("are written with HF's split, file names and index", async () => {
    const model = await fromPretrained(GPT, fixturePath("gpt2-tiny"));
    const files = serializeHFCheckpointFiles(model.toHF(), { maxShardSize: "6KB" });
    const hfNames = readdirSync(hfSharded).filter(
      (n) => n.endsWith(".safetensors") || n.endsWith(".index.json"),
    );
    expect(
      files
        .map((f) => f.name)
        .filter((n) => n !== "config.json")
        .sort(),
    ).toEqual(hfNames.sort());
    const index = files.find((f) => f.name === "model.safetensors.index.json")!.content;
    expect(index).toBe(readFileSync(join(hfSharded, "model.safetensors.index.json"), "utf8"));
    // And a folder written that way loads back bit for bit.
    const dir = join(tmp, "written-sharded");
    await savePretrained(model, dir, { maxShardSize: 6000 });
    const back = await fromPretrained(GPT, dir);
    for (const [k, p] of Object.entries(model.stateDict()))
      expect(Array.from(back.stateDict()[k].data)).toEqual(Array.from(p.data));
  });

  it("one shard or no limit gives a single model.safetensors", () => {
    const ck = new GPT(
      { vocabSize: 11, blockSize: 4, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0, bias: true },
      { generator: new Generator(0) },
    ).toHF();
    expect(serializeHFCheckpointFiles(ck).map((f) => f.name)).toEqual(["model.safetensors", "config.json"]);
    expect(serializeHFCheckpointFiles(ck, { maxShardSize: "1GB" }).map((f) => f.name)).toEqual([
      "model.safetensors",
      "config.json",
    ]);
    for (const bad of [0, -1, 1.5, "5 parsecs", "GB", Number.NaN])
      expect(() => serializeHFCheckpointFiles(ck, { maxShardSize: bad })).toThrow(/maxShardSize/);
  });

  it("refuse hostile indexes with an error naming the index file", async () => {
    const base = join(tmp, "hostile-index");
    const cases: [string, unknown, RegExp][] = [
      ["not an object", [1, 2], /must hold a JSON object/],
      ["no weight_map", { metadata: {} }, /"weight_map" must be an object/],
      ["weight_map null", { weight_map: null }, /"weight_map" must be an object/],
      ["path escape", { weight_map: { a: "../model-00001-of-00007.safetensors" } }, /invalid shard/],
      ["absolute path", { weight_map: { a: "/etc/passwd" } }, /invalid shard/],
      ["not a string", { weight_map: { a: 7 } }, /invalid shard 7/],
      ["missing shard", { weight_map: { a: "nope.safetensors" } }, /nope\.safetensors: file not found/],
      [
        "tensor absent from its shard",
        { weight_map: { "transformer.wte.weight": "model-00001-of-00007.safetensors" } },
        /lists 1 tensor\(s\) that model-00001-of-00007\.safetensors lacks: "transformer\.wte\.weight"/,
      ],
      ["__proto__ name", JSON.parse('{"weight_map":{"__proto__":"x/y"}}'), /invalid shard/],
    ];
    for (const [what, index, message] of cases) {
      const dir = join(base, what.replace(/\W+/g, "-"));
      rmSync(dir, { recursive: true, force: true });
      await savePretrained(await fromPretrained(GPT, hfSharded), dir, { maxShardSize: "6KB" });
      writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify(index));
      const err = await readPretrainedDir(dir).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(QkvError);
      expect((err as Error).message, what).toMatch(message);
    }
  });
});
