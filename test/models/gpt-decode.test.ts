/** GPT decoding through the KV cache: incremental logits equal full ones; cached greedy decoding equals uncached. */
import { describe, expect, it } from "vitest";
import {
  beamSearch,
  Generator,
  GPT,
  type GPTConfig,
  generateBatch,
  getBackendName,
  gptStepModel,
  KVCache,
  randint,
  randn,
  type Tensor,
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
  const g = new Generator(seed);
  const m = new GPT(cfg, { generator: g }).eval();
  withNoGrad(() => {
    m.wte.weight.copy_(m.wte.weight.mul(25));
    // Non-trivial biases and layer-norm gains (the init makes them 0 and 1), so every term is tested.
    for (const [name, p] of m.namedParameters()) {
      if (name.endsWith(".bias")) p.copy_(randn(p.shape, { generator: g }).mul(0.1));
      else if (name.includes("ln_") && name.endsWith(".weight"))
        p.copy_(randn(p.shape, { generator: g }).mul(0.1).add(1));
    }
  });
  return m;
}

/** Each prompt row followed by its `n` generated ids, from the one generation loop over the GPT. */
function gen(
  m: GPT,
  prompt: Tensor,
  n: number,
  opts: { temperature?: number; topK?: number; generator?: Generator; useCache?: boolean } = {},
): number[][] {
  const { useCache, ...sampling } = opts;
  const rows = prompt.tolist() as number[][];
  const results = generateBatch(gptStepModel(m, { useCache }), rows, { maxNewTokens: n, ...sampling });
  return results.map((r, i) => [...rows[i], ...r.ids]);
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
    const a = gen(m, prompt, 30, { temperature: 0, useCache: true });
    const b = gen(m, prompt, 30, { temperature: 0, useCache: false });
    expect(a.map((r) => r.length)).toEqual([33, 33]);
    expect(a).toEqual(b);
  });

  it("beam search through the cache (rows reordered in place) equals beam search recomputing every prefix", () => {
    // Past blockSize the window slides, so the cache is rebuilt from reordered histories as well.
    const m = model({ ...config, blockSize: 10 }, 8);
    for (const beamSize of [2, 3]) {
      const opts = { beamSize, maxLen: 14, bos: 3, eos: 0, lengthPenalty: 0.5 };
      const cached = beamSearch(gptStepModel(m), opts);
      const full = beamSearch(gptStepModel(m, { useCache: false }), opts);
      expect(cached.length).toBe(beamSize);
      // Same hypotheses; their float32 log-probabilities agree to rounding (cached vs full products).
      expect(cached.map((h) => [h.ids, h.finished])).toEqual(full.map((h) => [h.ids, h.finished]));
      for (let i = 0; i < beamSize; i++) expect(cached[i].logProb).toBeCloseTo(full[i].logProb, 5);
    }
  });

  it("seeded sampling with the cache matches sampling without it", () => {
    const m = model(config, 5);
    const prompt = tensor([[4, 5]], { dtype: "int32" });
    const a = gen(m, prompt, 20, { temperature: 0.9, topK: 10, generator: new Generator(6) });
    const b = gen(m, prompt, 20, {
      temperature: 0.9,
      topK: 10,
      generator: new Generator(6),
      useCache: false,
    });
    expect(a).toEqual(b);
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
    for (let i = 0; i < 3; i++) gen(m, prompt, 64, { temperature: 0 }); // let the JIT warm up
    let t = performance.now();
    const withCache = gen(m, prompt, 256, { temperature: 0, useCache: true });
    const cached = performance.now() - t;
    t = performance.now();
    const without = gen(m, prompt, 256, { temperature: 0, useCache: false });
    const uncached = performance.now() - t;
    expect(withCache).toEqual(without);
    console.log(
      `KV cache, 256 new tokens (nLayer 1, nHead 2, nEmbd 16, prompt 8, backend ${getBackendName()}): ` +
        `with cache ${cached.toFixed(0)} ms, without ${uncached.toFixed(0)} ms, speed-up ×${(uncached / cached).toFixed(1)}`,
    );
  });
});

/** Logits of feeding x (B, T) through `cache` as a prefill of `prefill` tokens, then one token at a time. */
function stepwise(m: GPT, x: Tensor, prefill: number, cache: KVCache): Tensor[] {
  const parts = [m.forward(x.narrow(1, 0, prefill), null, { cache }).logits];
  for (let t = prefill; t < x.shape[1]; t++) parts.push(m.forward(x.narrow(1, t, 1), null, { cache }).logits);
  return parts;
}

const argmaxRows = (logits: Tensor) => logits.argmax(-1).tolist();

describe("KVCache fused decoding", () => {
  for (const bias of [true, false]) {
    for (const B of [1, 2]) {
      it(`fused steps equal the op path and the full forward (bias ${bias}, batch ${B}, growing past 32 positions)`, () => {
        const cfg = { ...config, bias, blockSize: 48 };
        const m = model(cfg, bias ? 11 : 12);
        const x = randint(0, 64, [B, 45], { dtype: "int32", generator: new Generator(B) });
        const full = withNoGrad(() => m.forward(x).logits); // (B, 45, V)
        // Without grad mode the blocks run as one fused kernel each.
        const fusedCache = new KVCache(cfg.nLayer);
        const fused = withNoGrad(() => stepwise(m, x, 5, fusedCache));
        // With grad mode on (and nothing to differentiate) the composed ops run, writing the same cache.
        for (const p of m.parameters()) p.requiresGrad_(false);
        const opCache = new KVCache(cfg.nLayer);
        const op = stepwise(m, x, 5, opCache);
        expect(fusedCache.length).toBe(45);
        expect(opCache.length).toBe(45);
        let t0 = 0;
        for (let i = 0; i < fused.length; i++) {
          const T = fused[i].shape[1];
          expect(fused[i].shape).toEqual([B, T, 64]);
          expectClose(fused[i], op[i], 1e-4, 1e-5, `fused vs op, part ${i}`);
          expectClose(fused[i], full.narrow(1, t0, T).contiguous(), 1e-4, 1e-5, `fused vs full, part ${i}`);
          expect(argmaxRows(fused[i]), `greedy tokens, part ${i}`).toEqual(argmaxRows(op[i]));
          t0 += T;
        }
        for (let l = 0; l < cfg.nLayer; l++) {
          expect(fusedCache.layers[l].k!.shape).toEqual([B, 2, 45, 16]);
          expectClose(fusedCache.layers[l].k!, opCache.layers[l].k!, 1e-4, 1e-5, `keys of layer ${l}`);
          expectClose(fusedCache.layers[l].v!, opCache.layers[l].v!, 1e-4, 1e-5, `values of layer ${l}`);
        }
      });
    }
  }

  it("greedy generation gives the same tokens through the fused and the op path", () => {
    const m = model({ ...config, bias: false, blockSize: 40 }, 13);
    const prompt = tensor([[5, 6, 7]], { dtype: "int32" });
    const fused = gen(m, prompt, 30, { temperature: 0 });
    // The op path by hand: grad mode on with frozen parameters.
    for (const p of m.parameters()) p.requiresGrad_(false);
    const cache = new KVCache(config.nLayer);
    const ids = [5, 6, 7];
    let input = prompt;
    for (let i = 0; i < 30; i++) {
      const { logits } = m.forward(input, null, { cache, lastOnly: true });
      const next = argmaxRows(logits) as number[][];
      ids.push(next[0][0]);
      input = tensor([[next[0][0]]], { dtype: "int32" });
    }
    expect(fused[0]).toEqual(ids);
  });

  it("a cached forward under grad mode back-propagates through the cached positions", () => {
    // d(Σ w ⊙ logits of the last position)/dθ is the same whether the prefix came from the cache or not.
    const m = model(config, 14);
    const x = randint(0, 64, [1, 6], { dtype: "int32", generator: new Generator(3) });
    const w = randint(0, 5, [1, 1, 64], { generator: new Generator(4) });
    const param = m.h.at(0).attn.c_attn.weight;
    m.forward(x, null, { lastOnly: true }).logits.mul(w).sum().backward();
    const want = param.grad!.toArray();
    param.grad = null;
    const cache = new KVCache(config.nLayer);
    m.forward(x.narrow(1, 0, 5), null, { cache });
    m.forward(x.narrow(1, 5, 1), null, { cache })
      .logits.mul(w)
      .sum()
      .backward();
    expectClose(param.grad!, want, 1e-4, 1e-6, "c_attn gradient through the cache");
  });

  it("reset keeps the storage and a new batch size reallocates it", () => {
    const m = model(config, 15);
    const cache = new KVCache(config.nLayer);
    withNoGrad(() => m.forward(tensor([[1, 2, 3]], { dtype: "int32" }), null, { cache }));
    expect(cache.batchSize).toBe(1);
    cache.reset();
    expect(cache.length).toBe(0);
    expect(cache.batchSize).toBeNull();
    expect(cache.layers[0].k).toBeNull();
    const x = tensor(
      [
        [4, 5],
        [6, 7],
      ],
      { dtype: "int32" },
    );
    const a = withNoGrad(() => m.forward(x, null, { cache }).logits);
    const b = withNoGrad(() => m.forward(x).logits);
    expectClose(a, b, 1e-4, 1e-5, "after reset");
    expect(cache.layers[1].v!.shape).toEqual([2, 2, 2, 16]);
  });
});
