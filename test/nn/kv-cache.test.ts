/**
 * The one KVCache: appends in place into (B, nh, cap, hs) storage grown by doubling, stores a
 * static memory K/V, reorders rows for beams, and (with the seq2seq decoder) makes incremental
 * decoding equal full decoding on the in-place path too.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cat, Generator, KVCache, narrow, nn, randn, tensor, withNoGrad } from "../../src/index.js";
import { expectClose } from "../helpers.js";

const g = new Generator(21);
const kv = (B: number, T: number) => [
  randn([B, 2, T, 4], { generator: g }),
  randn([B, 2, T, 4], { generator: g }),
];

describe("KVCache", () => {
  it("appends in place: views of one contiguous (B, nh, cap, hs) store that doubles when full", () => {
    const cache = new KVCache(2);
    const parts: [ReturnType<typeof kv>, ReturnType<typeof kv>] = [kv(3, 20), kv(3, 20)];
    withNoGrad(() => {
      cache.update(1, parts[0][0], parts[0][1]);
      const { k: store, past } = cache.reserve(1, [3, 2, 1, 4], 1, "float32");
      expect(past).toBe(20);
      expect(store.shape).toEqual([3, 2, 32, 4]); // the minimum capacity
      cache.update(1, parts[1][0], parts[1][1]); // 40 positions: the store doubles to 64
      expect(cache.reserve(1, [3, 2, 1, 4], 1, "float32").k.shape).toEqual([3, 2, 64, 4]);
    });
    const [k, v] = [cache.layers[1].k!, cache.layers[1].v!];
    expect(k.shape).toEqual([3, 2, 40, 4]);
    // Appending is concatenation along the positions (dim 2).
    expectClose(k, cat([parts[0][0], parts[1][0]], 2), 0, 0);
    expectClose(v, cat([parts[0][1], parts[1][1]], 2), 0, 0);
    expect(cache.layers[0].k).toBeNull();
    expect(() => cache.update(1, randn([2, 2, 1, 4]), randn([2, 2, 1, 4]))).toThrow(
      /batch, heads and head size/,
    );
    expect(() => cache.update(2, randn([3, 2, 1, 4]), randn([3, 2, 1, 4]))).toThrow(/layer 2 out of range/);
  });

  it("reorder keeps rows `index` of every layer and the memory, and may change the batch size", () => {
    const cache = new KVCache(1);
    const [k, v] = kv(2, 3);
    const [mk, mv] = kv(2, 5);
    withNoGrad(() => cache.update(0, k, v));
    cache.setMemory(0, mk, mv);
    const index = tensor(Int32Array.of(1, 1, 0));
    cache.reorder(index);
    const pick = (t: typeof k) => cat([narrow(t, 0, 1, 1), narrow(t, 0, 1, 1), narrow(t, 0, 0, 1)], 0);
    expectClose(cache.layers[0].k!, pick(k), 0, 0);
    expectClose(cache.layers[0].v!, pick(v), 0, 0);
    expectClose(cache.memory(0)![0], pick(mk), 0, 0);
    expect(cache.batchSize).toBe(3);
    // Appending continues on the reordered rows.
    const [k2, v2] = kv(3, 1);
    withNoGrad(() => cache.update(0, k2, v2));
    expectClose(cache.layers[0].k!, cat([pick(k), k2], 2), 0, 0);
    cache.reset();
    expect(cache.length).toBe(0);
    expect(cache.memory(0)).toBeNull();
    expect(() => cache.setMemory(0, randn([2, 2, 5, 4]), randn([3, 2, 5, 4]))).toThrow(/alike/);
  });

  for (const normFirst of [false, true]) {
    it(`seq2seq decoder, in-place path: one id at a time, with a beam-style reorder, equals full decoding (${normFirst ? "pre" : "post"}-norm)`, () => {
      const m = new nn.Transformer({
        dModel: 8,
        nhead: 2,
        numEncoderLayers: 1,
        numDecoderLayers: 2,
        dimFeedforward: 16,
        dropout: 0,
        batchFirst: true,
        normFirst,
        dtype: "float64",
        generator: new Generator(4),
      }).eval();
      const f64 = { dtype: "float64" as const, generator: g };
      withNoGrad(() => {
        const memory = m.encoder.forward(randn([2, 5, 8], f64)); // (2, 5, 8)
        const tgt = randn([2, 6, 8], f64);
        const cache = m.decoder.createCache();
        const parts = [m.decoder.forward(narrow(tgt, 1, 0, 3), memory, { cache })];
        // Swap the two rows: the cache, the memory and the targets must follow.
        const swap = tensor(Int32Array.of(1, 0));
        cache.reorder(swap);
        const swapped = (t: typeof tgt) => cat([narrow(t, 0, 1, 1), narrow(t, 0, 0, 1)], 0);
        for (let t = 3; t < 6; t++)
          parts.push(m.decoder.forward(narrow(swapped(tgt), 1, t, 1), swapped(memory), { cache }));
        const full = m.decoder.forward(swapped(tgt), swapped(memory), { tgtIsCausal: true });
        expect(cache.length).toBe(6);
        expectClose(cat([swapped(parts[0]), ...parts.slice(1)], 1), full, 1e-10, 1e-10);
      });
    });
  }
});

describe("the decoding stack's layering", () => {
  it("models neither import src/generate nor sample", () => {
    const dir = new URL("../../src/models/", import.meta.url);
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
      const src = readFileSync(new URL(f, dir), "utf8");
      expect(src, f).not.toMatch(/from\s+["']\.\.\/generate\//);
      expect(src, f).not.toMatch(/\bsampleNext\b|\bpickNextTokens\b/);
    }
  });
});
