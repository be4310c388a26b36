/** The GPT key/value cache: incremental logits equal full ones; cached greedy decoding equals uncached. */
import { describe, expect, it } from "vitest";
import {
  Generator,
  GPT,
  type GPTConfig,
  getBackendName,
  KVCache,
  randint,
  tensor,
  withNoGrad,
} from "../../src/index.js";
import { expectClose } from "../helpers.js";

const config: GPTConfig = {
  vocabSize: 64,
  blockSize: 32,
  nLayer: 2,
  nHead: 2,
  nEmbd: 32,
  dropout: 0,
  bias: true,
};

/** A model whose logits are far from flat, so greedy decoding is not decided by rounding noise. */
function model(cfg: GPTConfig, seed: number): GPT {
  const m = new GPT(cfg, { generator: new Generator(seed) }).eval();
  withNoGrad(() => m.wte.weight.copy_(m.wte.weight.mul(25)));
  return m;
}

describe("KVCache", () => {
  it("prefill plus one-token steps reproduce the full forward's logits", () => {
    const m = model(config, 1);
    const x = randint(0, 64, [2, 12], { dtype: "int32", generator: new Generator(2) });
    withNoGrad(() => {
      const full = m.forward(x).logits; // (2, 12, 64)
      const cache = new KVCache(config.nLayer);
      const parts = [m.forward(x.narrow(1, 0, 5), null, { cache }).logits];
      expect(cache.length).toBe(5);
      for (let t = 5; t < 12; t++) parts.push(m.forward(x.narrow(1, t, 1), null, { cache }).logits);
      expect(cache.length).toBe(12);
      expect(cache.layers[1].k!.shape).toEqual([2, 2, 12, 16]); // (B, nh, T, hs)
      const chunks = parts.map((p) => p.toArray());
      const joined = new Float32Array(2 * 12 * 64);
      // Reassemble (B, T, V) from the time-chunks.
      let t0 = 0;
      for (const p of parts) {
        const T = p.shape[1];
        const d = chunks[parts.indexOf(p)];
        for (let b = 0; b < 2; b++) joined.set(d.subarray(b * T * 64, (b + 1) * T * 64), (b * 12 + t0) * 64);
        t0 += T;
      }
      expectClose(joined, full, 0, 1e-5, "cached logits");
    });
  });

  it("refuses to grow past blockSize and checks the batch size", () => {
    const m = model({ ...config, blockSize: 8 }, 3);
    const cache = new KVCache(config.nLayer);
    withNoGrad(() => m.forward(tensor([[1, 2, 3, 4, 5, 6]], { dtype: "int32" }), null, { cache }));
    expect(() => m.forward(tensor([[1, 2, 3]], { dtype: "int32" }), null, { cache })).toThrow(
      /6 cached \+ 3 new tokens; blockSize is only 8/,
    );
    expect(() => m.forward(tensor([[1], [2]], { dtype: "int32" }), null, { cache })).toThrow(/batch size 2/);
    cache.reset();
    expect(cache.length).toBe(0);
  });

  it("greedy decoding with the cache gives exactly the tokens of decoding without it (sliding window too)", () => {
    const m = model({ ...config, blockSize: 16 }, 4);
    const prompt = tensor(
      [
        [1, 2, 3],
        [9, 8, 7],
      ],
      { dtype: "int32" },
    );
    const a = m.generate(prompt, 30, { temperature: 0, useCache: true });
    const b = m.generate(prompt, 30, { temperature: 0, useCache: false });
    expect(a.shape).toEqual([2, 33]);
    expect(a.tolist()).toEqual(b.tolist());
  });

  it("seeded sampling with the cache matches sampling without it", () => {
    const m = model(config, 5);
    const prompt = tensor([[4, 5]], { dtype: "int32" });
    const a = m.generate(prompt, 20, { temperature: 0.9, topK: 10, generator: new Generator(6) });
    const b = m.generate(prompt, 20, {
      temperature: 0.9,
      topK: 10,
      generator: new Generator(6),
      useCache: false,
    });
    expect(a.tolist()).toEqual(b.tolist());
  });

  it("256 new tokens: identical greedy output, and the cache is faster (ratio printed)", () => {
    // Small enough that the uncached O(T²) baseline stays a few seconds on the reference backend.
    const cfg: GPTConfig = {
      vocabSize: 64,
      blockSize: 264,
      nLayer: 1,
      nHead: 2,
      nEmbd: 16,
      dropout: 0,
      bias: true,
    };
    const m = model(cfg, 7);
    const prompt = tensor([[1, 2, 3, 4, 5, 6, 7, 8]], { dtype: "int32" });
    for (let i = 0; i < 3; i++) m.generate(prompt, 64, { temperature: 0 }); // let the JIT warm up
    let t = performance.now();
    const withCache = m.generate(prompt, 256, { temperature: 0, useCache: true });
    const cached = performance.now() - t;
    t = performance.now();
    const without = m.generate(prompt, 256, { temperature: 0, useCache: false });
    const uncached = performance.now() - t;
    expect(withCache.tolist()).toEqual(without.tolist());
    console.log(
      `KV cache, 256 new tokens (nLayer 1, nHead 2, nEmbd 16, prompt 8, backend ${getBackendName()}): ` +
        `with cache ${cached.toFixed(0)} ms, without ${uncached.toFixed(0)} ms, speed-up ×${(uncached / cached).toFixed(1)}`,
    );
  });
});
