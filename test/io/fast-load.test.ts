// Loading a folder without initialising (src/models/hf.ts buildFromHF, src/io/node-safetensors.ts
// readTogether): no generator draws, the file's tensors read together into one buffer that the
// parameters view (GPT-2's Conv1D weights transposed once as they are read), the wasm-heap path
// still copying into the backend's own storage, and the same weights as the in-memory loader.
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { loadAddon } from "../../src/backends/native/binding.js";
import {
  BartForConditionalGeneration,
  Bert,
  BertForMaskedLM,
  backend,
  defaultGenerator,
  GPT,
  generate,
  gptStepModel,
  hasFusedTransformerLayer,
  type Module,
  optim,
  parseHFCheckpoint,
  type RawTensor,
  tensor,
  withNoGrad,
  zeros,
} from "../../src/index.js";
import { bartConfigFromHF } from "../../src/models/bart-config.js";
import { gpt2ConfigFromHF } from "../../src/models/hf-config.js";
import { fromPretrained, openSafetensorsFile, readSafetensorsFile, savePretrained } from "../../src/node.js";
import { isHookedStorage, setStorageHook } from "../../src/tensor/pool.js";
import { transpose2d } from "../../src/util/transpose.js";
import { fixturePath } from "../models/hf-fixtures.js";

const tmp = mkdtempSync(join(tmpdir(), "qkv-fast-load-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const GPT2 = fixturePath("gpt2-tiny");
const BART = fixturePath("../bart/tiny");

/** The in-memory checkpoint of a folder (the copying path: tensors view the caller's bytes). */
function inMemory(dir: string) {
  return parseHFCheckpoint({
    config: readFileSync(join(dir, "config.json"), "utf8"),
    safetensors: new Uint8Array(readFileSync(join(dir, "model.safetensors"))),
  });
}

const stateOf = () => JSON.stringify(defaultGenerator.getState());

function buffersOf(m: Module): Set<ArrayBufferLike> {
  return new Set(m.parameters().map((p) => p.data.buffer));
}

function logits(model: GPT): number[] {
  const ids = tensor([[1, 5, 2, 7, 3]], { dtype: "int32" });
  return Array.from(withNoGrad(() => model.forward(ids).logits.toArray()));
}

describe("loading a checkpoint draws no random numbers", () => {
  const cases: [string, () => Promise<unknown>, () => unknown][] = [
    ["GPT-2", () => fromPretrained(GPT, GPT2), () => new GPT(gpt2ConfigFromHF(inMemory(GPT2).config))],
    ["BERT (masked LM)", () => fromPretrained(BertForMaskedLM, fixturePath("bert-tiny")), () => null],
    ["BERT (base, legacy names)", () => fromPretrained(Bert, fixturePath("bert-tiny-legacy")), () => null],
    [
      "BART",
      () => fromPretrained(BartForConditionalGeneration, BART),
      () => new BartForConditionalGeneration(bartConfigFromHF(inMemory(BART).config)),
    ],
  ];
  for (const [name, load, build] of cases) {
    it(`${name}: the default generator's state is unchanged by fromPretrained`, async () => {
      defaultGenerator.manualSeed(123);
      const before = stateOf();
      await load();
      expect(stateOf()).toBe(before);
      // The check can fail: building the same model normally does draw from it.
      if (build() !== null) expect(stateOf()).not.toBe(before);
    });
  }

  it("and from bytes (fromHF on an in-memory checkpoint) as well", () => {
    defaultGenerator.manualSeed(5);
    const before = stateOf();
    const ck = inMemory(BART);
    BartForConditionalGeneration.fromHF(ck.config, ck.tensors);
    const g = inMemory(GPT2);
    GPT.fromHF(g.config, g.tensors);
    expect(stateOf()).toBe(before);
  });
});

/** Under the wasm backend fresh storage lives in its heap (a storage hook): loads copy into it. */
const heapBacked = isHookedStorage(zeros([4096]).data);

/** The native addon when it can map files here (built, and a platform with mmap). */
const mapper = (() => {
  const a = loadAddon();
  return typeof a?.mapFile === "function" ? a : null;
})();

/** Runs `fn`, collecting the ArrayBuffers the addon's mapFile hands out meanwhile. */
async function recordingMaps<T>(fn: () => Promise<T>): Promise<{ result: T; maps: ArrayBuffer[] }> {
  const maps: ArrayBuffer[] = [];
  if (!mapper?.mapFile) return { result: await fn(), maps };
  const orig = mapper.mapFile;
  mapper.mapFile = (fd, offset, length) => {
    const r = orig.call(mapper, fd, offset, length);
    if (r) maps.push(r);
    return r;
  };
  try {
    return { result: await fn(), maps };
  } finally {
    mapper.mapFile = orig;
  }
}

/** Runs `fn` with QKV_MMAP=0 (the loader reads the file instead of mapping it). */
async function withoutMapping<T>(fn: () => Promise<T>): Promise<T> {
  const prev = process.env.QKV_MMAP;
  process.env.QKV_MMAP = "0";
  try {
    return await fn();
  } finally {
    if (prev === undefined) delete process.env.QKV_MMAP;
    else process.env.QKV_MMAP = prev;
  }
}

/** GPT-2's Conv1D weights of block 0 (stored (in, out) in the checkpoint). */
function conv1dWeights(m: GPT) {
  const b = m.h.at(0);
  return [b.attn.c_attn.weight, b.attn.c_proj.weight, b.mlp.c_fc.weight, b.mlp.c_proj.weight];
}

/** One training step's loss gradient on `m` (eval mode: no dropout draws). */
function backwardOnce(m: GPT): void {
  const ids = tensor([[1, 5, 2, 7, 3]], { dtype: "int32" });
  const tgt = tensor([[5, 2, 7, 3, 1]], { dtype: "int32" });
  m.forward(ids, tgt).loss?.backward();
}

describe("fromPretrained maps the file when the native addon can (views of the mapping, copy-on-write)", () => {
  it.skipIf(!mapper || heapBacked)(
    "every float32 parameter views a mapping of the file; Conv1D weights are transposed views of it",
    async () => {
      const { result: model, maps } = await recordingMaps(() => fromPretrained(GPT, GPT2));
      expect(maps.length).toBeGreaterThan(0);
      for (const p of model.parameters()) expect(maps).toContain(p.data.buffer);
      const C = model.config.nEmbd;
      const [cAttn, cProj, cFc] = conv1dWeights(model);
      expect(cAttn.shape).toEqual([3 * C, C]);
      expect(cAttn.strides).toEqual([1, 3 * C]);
      expect(cProj.strides).toEqual([1, C]);
      expect(cFc.strides).toEqual([1, 4 * C]);
      expect(cAttn.isContiguous()).toBe(false);
      expect(model.wte.weight.isContiguous()).toBe(true);
    },
  );

  it("with mapping off (QKV_MMAP=0, or no addon) the file is read into a buffer of its own, with the same weights", async () => {
    const { result: read, maps } = await recordingMaps(() => withoutMapping(() => fromPretrained(GPT, GPT2)));
    expect(maps).toEqual([]);
    if (!heapBacked) {
      expect(buffersOf(read).size).toBe(1);
      // the read path views the Conv1D weights transposed too: no transpose pass either way
      expect(conv1dWeights(read)[0].strides).toEqual([1, 3 * read.config.nEmbd]);
    }
    const mapped = await fromPretrained(GPT, GPT2);
    const ck = inMemory(GPT2);
    const copied = GPT.fromHF(ck.config, ck.tensors);
    const a = read.stateDict();
    for (const other of [mapped.stateDict(), copied.stateDict()])
      for (const k of Object.keys(a)) expect(a[k].toArray(), k).toEqual(other[k].toArray());
    expect(logits(read)).toEqual(logits(copied));
  });

  it("Conv1D views give the row-major copy's gradients (in the weight's own layout) and AdamW step, and the file is unchanged", async () => {
    const file = join(GPT2, "model.safetensors");
    const bytesBefore = readFileSync(file);
    const ck = inMemory(GPT2);
    const copied = GPT.fromHF(ck.config, ck.tensors);
    for (const c of conv1dWeights(copied)) expect(c.isContiguous()).toBe(true);
    const loaded = [await fromPretrained(GPT, GPT2), await withoutMapping(() => fromPretrained(GPT, GPT2))];
    for (const m of [copied, ...loaded]) backwardOnce(m);
    for (const m of loaded) {
      for (const w of conv1dWeights(m)) expect(w.grad?.strides).toEqual(w.strides);
      const got = m.stateDict();
      const want = copied.stateDict();
      for (const k of Object.keys(want)) {
        const g = got[k].grad;
        const h = want[k].grad;
        if (!h) continue;
        expect(g?.toArray(), k).toEqual(h.toArray());
      }
    }
    for (const m of [copied, ...loaded]) new optim.AdamW(m.parameters(), { lr: 1e-2 }).step();
    const want = copied.stateDict();
    for (const m of loaded) {
      const got = m.stateDict();
      for (const k of Object.keys(want)) expect(got[k].toArray(), k).toEqual(want[k].toArray());
      expect(logits(m)).toEqual(logits(copied));
    }
    // the step changed the weights (the check can fail), but never the file under the mapping
    expect(logits(copied)).not.toEqual(logits(GPT.fromHF(ck.config, ck.tensors)));
    expect(readFileSync(file).equals(bytesBefore)).toBe(true);
  });

  it.skipIf(!hasFusedTransformerLayer("float32"))(
    "cached decoding runs the fused layer on the transposed views as they lie, token for token as the row-major copy",
    async () => {
      const loaded = await fromPretrained(GPT, GPT2);
      const ck = inMemory(GPT2);
      const copied = GPT.fromHF(ck.config, ck.tensors);
      const layer = backend().fused?.transformerLayer;
      if (!layer) throw new Error("no fused layer");
      const spy = vi.spyOn(layer, "forward");
      try {
        const prompt = [1, 5, 2, 7];
        const opts = { maxNewTokens: 6, temperature: 0 };
        const a = generate(gptStepModel(loaded), prompt, opts).ids;
        const flags = spy.mock.calls.map((c) => c[0].weightsTransposed);
        expect(flags.length).toBeGreaterThan(0);
        // (under wasm the weights were copied into its heap row-major, so they go unflagged)
        expect(flags.every((f) => f === !heapBacked)).toBe(true);
        spy.mockClear();
        const b = generate(gptStepModel(copied), prompt, opts).ids;
        expect(spy.mock.calls.every((c) => c[0].weightsTransposed === false)).toBe(true);
        expect(a).toEqual(b);
      } finally {
        spy.mockRestore();
      }
    },
  );

  it("saving over the folder a model was mapped from: the model keeps its weights, a reload gets the new ones", async () => {
    const dir = join(tmp, "resave");
    cpSync(GPT2, dir, { recursive: true });
    const untouched = await fromPretrained(GPT, dir);
    const before = logits(untouched);
    const trained = await fromPretrained(GPT, dir);
    backwardOnce(trained);
    new optim.AdamW(trained.parameters(), { lr: 1e-2 }).step();
    const after = logits(trained);
    expect(after).not.toEqual(before);
    const inode = statSync(join(dir, "model.safetensors")).ino;
    await savePretrained(trained, dir);
    // a new file (atomic rename), so the old mapping still holds the old bytes
    expect(statSync(join(dir, "model.safetensors")).ino).not.toBe(inode);
    expect(logits(untouched)).toEqual(before);
    expect(logits(trained)).toEqual(after);
    const reloaded = await fromPretrained(GPT, dir);
    expect(logits(reloaded)).toEqual(after);
    const a = reloaded.stateDict();
    const b = trained.stateDict();
    for (const k of Object.keys(a)) expect(a[k].toArray(), k).toEqual(b[k].toArray());
    // and once more over the file that `reloaded` now maps
    await savePretrained(untouched, dir);
    expect(logits(reloaded)).toEqual(after);
    expect(logits(await fromPretrained(GPT, dir))).toEqual(before);
  });
});

describe("fromPretrained: the parameters view one buffer read from the file", () => {
  it.skipIf(heapBacked)(
    "every float32 parameter of GPT-2 shares one buffer, and the tied head is the embedding",
    async () => {
      const model = await fromPretrained(GPT, GPT2);
      expect(buffersOf(model).size).toBe(1);
      expect(model.lm_head.weight).toBe(model.wte.weight);
      // two loads never alias each other
      const again = await fromPretrained(GPT, GPT2);
      const [a] = buffersOf(model);
      expect(buffersOf(again).has(a)).toBe(false);
    },
  );

  it.skipIf(heapBacked)("BERT and BART too (one buffer per model)", async () => {
    expect(buffersOf(await fromPretrained(BertForMaskedLM, fixturePath("bert-tiny"))).size).toBe(1);
    const bart = await fromPretrained(BartForConditionalGeneration, BART);
    expect(buffersOf(bart).size).toBe(1);
    expect(bart.lm_head.weight).toBe(bart.model.shared.weight);
  });

  it("gives the in-memory loader's weights exactly, Conv1D (in, out) weights transposed", async () => {
    const fast = await fromPretrained(GPT, GPT2);
    const ck = inMemory(GPT2);
    const slow = GPT.fromHF(ck.config, ck.tensors);
    expect(buffersOf(slow).size).toBeGreaterThan(1); // the copying path: storage of its own
    // under wasm: in the heap wherever the backend would put a fresh tensor of that size there
    if (heapBacked)
      for (const p of fast.parameters())
        expect(isHookedStorage(p.data)).toBe(isHookedStorage(zeros(p.shape).data));
    const a = fast.stateDict();
    const b = slow.stateDict();
    expect(Object.keys(a)).toEqual(Object.keys(b));
    for (const k of Object.keys(a)) expect(a[k].toArray(), k).toEqual(b[k].toArray());
    expect(logits(fast)).toEqual(logits(slow));
    // against the file directly: c_attn is (C, 3C) there (not square), c_proj (C, C) (square)
    const file = (await readSafetensorsFile(join(GPT2, "model.safetensors"))).tensors;
    for (const [key, w] of [
      ["h.0.attn.c_attn.weight", fast.h.at(0).attn.c_attn.weight],
      ["h.0.attn.c_proj.weight", fast.h.at(0).attn.c_proj.weight],
      ["h.0.mlp.c_fc.weight", fast.h.at(0).mlp.c_fc.weight],
    ] as const) {
      const raw = file.get(`transformer.${key}`) ?? (file.get(key) as RawTensor);
      const [rows, cols] = raw.shape;
      expect(w.shape).toEqual([cols, rows]);
      const got = w.toArray();
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < cols; j++)
          if (got[j * rows + i] !== raw.data[i * cols + j]) throw new Error(`${key} (${i}, ${j})`);
    }
  });

  it("trains in place: an AdamW step matches the copying loader's, and leaves the file and other loads alone", async () => {
    const fast = await fromPretrained(GPT, GPT2);
    const other = await fromPretrained(GPT, GPT2);
    const ck = inMemory(GPT2);
    const slow = GPT.fromHF(ck.config, ck.tensors);
    const ids = tensor([[1, 5, 2, 7, 3]], { dtype: "int32" });
    const tgt = tensor([[5, 2, 7, 3, 1]], { dtype: "int32" });
    for (const m of [fast, slow]) {
      // eval mode: no dropout draws, so both steps see the same gradients
      const opt = new optim.AdamW(m.parameters(), { lr: 1e-2 });
      m.forward(ids, tgt).loss?.backward();
      opt.step();
    }
    expect(logits(fast)).toEqual(logits(slow));
    expect(logits(fast)).not.toEqual(logits(other));
    const reread = await fromPretrained(GPT, GPT2);
    expect(logits(reread)).toEqual(logits(other));
  });

  it("with a storage hook (the wasm heap) the parameters are copied into the hook's memory", async () => {
    const heap = new ArrayBuffer(16 << 20);
    let used = 0;
    const prev = setStorageHook({
      make(dtype, n) {
        if (dtype !== "float32") return null;
        if (used + n * 4 > heap.byteLength) return null;
        const a = new Float32Array(heap, used, n);
        used += n * 4;
        return a;
      },
    });
    let model: GPT;
    try {
      model = await fromPretrained(GPT, GPT2);
    } finally {
      setStorageHook(prev);
    }
    for (const p of model.parameters()) expect(isHookedStorage(p.data)).toBe(true);
    const ck = inMemory(GPT2);
    expect(logits(model)).toEqual(logits(GPT.fromHF(ck.config, ck.tensors)));
  });
});

/** A safetensors file from a header and the raw data bytes after it (offsets as given). */
function writeRawFile(name: string, header: Record<string, unknown>, data: Uint8Array): string {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  const path = join(tmp, name);
  writeFileSync(path, out);
  return path;
}

describe("readTogether", () => {
  it("misaligned offsets: F32 tensors land aligned in one shared buffer, F16 widened, a 2-D one transposed", async () => {
    // 3 F16 values (6 bytes), then F32 a (2 values) and b (2×3) at offsets 6 and 14: neither
    // 4-byte aligned in the file, nor is the data start (the header is 1 byte odd on purpose).
    const data = new Uint8Array(6 + 8 + 24);
    const dv = new DataView(data.buffer);
    for (const [i, h] of [0x3c00, 0x4000, 0xc200].entries()) dv.setUint16(i * 2, h, true); // 1, 2, -3
    for (const [i, v] of [0.5, -1.25].entries()) dv.setFloat32(6 + i * 4, v, true);
    for (let i = 0; i < 6; i++) dv.setFloat32(14 + i * 4, i + 1, true);
    const path = writeRawFile(
      "misaligned.safetensors",
      {
        h: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
        a: { dtype: "F32", shape: [2], data_offsets: [6, 14] },
        b: { dtype: "F32", shape: [2, 3], data_offsets: [14, 38] },
        __metadata__: { pad: "x" },
      },
      data,
    );
    const f = await openSafetensorsFile(path);
    try {
      const lazy = ["h", "a", "b", "b"].map((n) => f.lazy(n));
      const [h, a, b, bt] = lazy[0].source?.readTogether(lazy, [false, false, false, true]) ?? [];
      expect(Array.from(h.data)).toEqual([1, 2, -3]);
      expect(Array.from(a.data)).toEqual([0.5, -1.25]);
      expect(Array.from(b.data)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(bt.shape).toEqual([3, 2]);
      expect(Array.from(bt.data)).toEqual([1, 4, 2, 5, 3, 6]);
      for (const t of [a, b, bt]) expect(t.data.byteOffset % 4).toBe(0);
      expect(a.data.buffer).toBe(b.data.buffer); // neighbours: one read, one buffer
      expect(bt.data.buffer).toBe(b.data.buffer);
      expect([h, a, b, bt].every((t) => t.owned)).toBe(true);
      expect(() => f.lazy("a").source?.readTogether([f.lazy("a")], [true])).toThrow(/not 2-D/);
      expect(() => f.lazy("a").source?.readTogether([{ ...f.lazy("a") }], [false])).toThrow(
        /not one of this file/,
      );
    } finally {
      await f.close();
    }
    const reopened = await openSafetensorsFile(path);
    const t = reopened.lazy("a");
    await reopened.close();
    expect(() => t.source?.readTogether([t], [false])).toThrow(/after close/);
  });

  it("splits into buffers of at most maxBufferBytes (one tensor bigger than that gets its own)", async () => {
    const f = await openSafetensorsFile(join(GPT2, "model.safetensors"));
    try {
      const names = [...f.entries.keys()].filter((n) => f.entries.get(n)?.dtype === "F32");
      const lazy = names.map((n) => f.lazy(n));
      const whole =
        lazy[0].source?.readTogether(
          lazy,
          lazy.map(() => false),
        ) ?? [];
      const split =
        lazy[0].source?.readTogether(
          lazy,
          lazy.map(() => false),
          { maxBufferBytes: 4096 },
        ) ?? [];
      expect(new Set(whole.map((t) => t.data.buffer)).size).toBe(1);
      const buffers = new Set(split.map((t) => t.data.buffer));
      expect(buffers.size).toBeGreaterThan(1);
      for (const b of buffers) {
        const inIt = split.filter((t) => t.data.buffer === b);
        if (inIt.length > 1) expect(b.byteLength).toBeLessThanOrEqual(4096);
      }
      for (const [i, t] of split.entries())
        expect(Array.from(t.data), names[i]).toEqual(Array.from(whole[i].data));
    } finally {
      await f.close();
    }
  });

  it("transpose2d matches the definition on sizes that are not multiples of its tile", () => {
    for (const [r, c] of [
      [1, 1],
      [3, 37],
      [33, 17],
      [16, 48],
    ]) {
      const src = Float64Array.from({ length: r * c }, (_, i) => i * 1.5 - 7);
      const dst = transpose2d(src, r, c, new Float64Array(r * c));
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) expect(dst[j * r + i]).toBe(src[i * c + j]);
    }
    expect(() => transpose2d(new Float32Array(5), 2, 3, new Float32Array(6))).toThrow(/needs 6 elements/);
  });
});
