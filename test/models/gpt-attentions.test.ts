/**
 * GPT.forward's `outputAttentions`: the per-layer (B, nh, T, S) probabilities equal HF's
 * `output_attentions` for the tiny GPT-2 fixture (scripts/gen_attention_fixtures.py, eager
 * attention), with and without a KV cache, and asking for them leaves the logits unchanged.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Generator, GPT, KVCache, tensor, withNoGrad } from "../../src/index.js";
import { fromPretrained } from "../../src/node.js";
import { type Enc, fixturePath, ids, maxAbsDiff } from "./hf-fixtures.js";

interface AttentionGolden {
  torch_version: string;
  transformers_version: string;
  input_ids: number[][];
  logits: Enc;
  attentions: Enc[];
  cached_prefix: number;
  cached_attentions: Enc[];
}

const golden = JSON.parse(readFileSync(fixturePath("gpt2-tiny-attentions.json"), "utf8")) as AttentionGolden;

describe("GPT outputAttentions", () => {
  it("records its torch and transformers versions", () => {
    expect(golden.torch_version).toMatch(/^2\./);
    expect(golden.transformers_version).toMatch(/^\d+\./);
  });

  it("equals HF's output_attentions on the tiny GPT-2", async () => {
    const model = await fromPretrained(GPT, fixturePath("gpt2-tiny"), { strict: true });
    const out = withNoGrad(() => model.forward(ids(golden.input_ids), null, { outputAttentions: true }));
    expect(out.attentions).toHaveLength(model.config.nLayer);
    for (let l = 0; l < golden.attentions.length; l++) {
      expect(maxAbsDiff(out.attentions![l], golden.attentions[l]), `layer ${l}`).toBeLessThan(1e-5);
    }
    expect(maxAbsDiff(out.logits, golden.logits)).toBeLessThan(1e-4);
  });

  it("covers the cached positions when decoding with a KV cache", async () => {
    const model = await fromPretrained(GPT, fixturePath("gpt2-tiny"), { strict: true });
    const n = golden.cached_prefix;
    const prefix = golden.input_ids.map((r) => r.slice(0, n));
    const tail = golden.input_ids.map((r) => r.slice(n));
    const cache = new KVCache(model.config.nLayer);
    const out = withNoGrad(() => {
      model.forward(ids(prefix), null, { cache });
      return model.forward(ids(tail), null, { cache, outputAttentions: true });
    });
    for (let l = 0; l < golden.cached_attentions.length; l++) {
      // (B, nh, 3, 8): the 3 new queries over the 5 cached keys and themselves.
      expect(maxAbsDiff(out.attentions![l], golden.cached_attentions[l]), `layer ${l}`).toBeLessThan(1e-5);
    }
  });

  it("are causal distributions and leave the logits as the fused path computes them", () => {
    const config = { vocabSize: 11, blockSize: 12, nLayer: 3, nHead: 4, nEmbd: 16, dropout: 0, bias: true };
    const model = new GPT(config, { generator: new Generator(3) }).eval();
    const x = tensor([[1, 5, 2, 9, 0, 3, 3, 7, 10]], { dtype: "int32" });
    const plain = withNoGrad(() => model.forward(x).logits);
    const traced = withNoGrad(() => model.forward(x, null, { outputAttentions: true }));
    expect(plain.sub(traced.logits).abs().max().item()).toBeLessThan(1e-5);
    expect(model.forward(x).attentions).toBeUndefined();
    const T = 9;
    for (const a of traced.attentions!) {
      expect(a.shape).toEqual([1, 4, T, T]);
      const p = a.toArray();
      for (let h = 0; h < 4; h++) {
        for (let i = 0; i < T; i++) {
          let sum = 0;
          for (let j = 0; j < T; j++) {
            const w = p[(h * T + i) * T + j];
            // softmax over keys j ≤ i: positive there, exactly 0 on the future
            if (j > i) expect(w).toBe(0);
            else expect(w).toBeGreaterThan(0);
            sum += w;
          }
          expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
        }
      }
    }
  });

  it("lets gradients flow through the recorded weights", () => {
    const config = { vocabSize: 7, blockSize: 6, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0, bias: false };
    const model = new GPT(config, { generator: new Generator(1) });
    const x = tensor([[1, 2, 3, 4]], { dtype: "int32" });
    // Σ over the last query row of w² depends on c_attn through q and k, so its gradient is non-zero.
    const { attentions } = model.forward(x, null, { outputAttentions: true });
    attentions![0].mul(attentions![0]).sum().backward();
    const g = model.h.at(0).attn.c_attn.weight.grad!;
    expect(g.abs().max().item()).toBeGreaterThan(0);
  });
});
