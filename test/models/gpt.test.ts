/** GPT: structure and names, weight tying, init, loss, optimizer groups, errors, HF config handling. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  crossEntropy,
  Generator,
  GPT,
  type GPTConfig,
  gpt2ConfigFromHF,
  optim,
  randint,
  tensor,
  withNoGrad,
} from "../../src/index.js";
import { fromPretrained, readSafetensorsFile, savePretrained } from "../../src/node.js";
import { expectClose } from "../helpers.js";
import { expected, fixturePath, ids } from "./hf-fixtures.js";

const tiny: GPTConfig = {
  vocabSize: 50,
  blockSize: 16,
  nLayer: 2,
  nHead: 2,
  nEmbd: 16,
  dropout: 0,
  bias: true,
};
const tmp = mkdtempSync(join(tmpdir(), "qkv-gpt-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function hfConfig(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(fixturePath("gpt2-tiny"), "config.json"), "utf8"));
}

async function hfTensors() {
  return (await readSafetensorsFile(join(fixturePath("gpt2-tiny"), "model.safetensors"))).tensors;
}

describe("GPT structure", () => {
  it("names parameters like HF GPT-2 and ties lm_head to wte", () => {
    const m = new GPT(tiny, { generator: new Generator(1) });
    const names = Object.keys(m.stateDict());
    expect(names.slice(0, 3)).toEqual(["wte.weight", "wpe.weight", "h.0.ln_1.weight"]);
    expect(names).toContain("h.1.attn.c_attn.weight");
    expect(names).toContain("h.0.mlp.c_fc.bias");
    expect(names.at(-1)).toBe("lm_head.weight");
    expect(m.lm_head.weight).toBe(m.wte.weight);
    const params = m.namedParameters().map(([n]) => n);
    expect(params).not.toContain("lm_head.weight");
    const C = 16;
    const perBlock =
      2 * C + (3 * C * C + 3 * C) + (C * C + C) + 2 * C + (4 * C * C + 4 * C) + (4 * C * C + C);
    expect(m.numParameters()).toBe(50 * C + 16 * C + 2 * perBlock + 2 * C);
    expect(m.stateDict()["h.0.attn.c_attn.weight"].shape).toEqual([48, 16]);
  });

  it("has no biases when bias is false", () => {
    const m = new GPT({ ...tiny, bias: false });
    expect(Object.keys(m.stateDict()).filter((k) => k.endsWith(".bias"))).toEqual([]);
  });

  it("uses nanoGPT's init: N(0, 0.02), scaled residual projections, zero biases", () => {
    const m = new GPT({ ...tiny, nEmbd: 64, nHead: 4, nLayer: 4 }, { generator: new Generator(3) });
    const std = (a: ArrayLike<number>) => {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < a.length; i++) {
        s += a[i];
        s2 += a[i] * a[i];
      }
      return Math.sqrt(s2 / a.length - (s / a.length) ** 2);
    };
    expect(std(m.wte.weight.toArray())).toBeCloseTo(0.02, 2);
    expect(std(m.h.at(0).mlp.c_fc.weight.toArray())).toBeCloseTo(0.02, 2);
    expect(std(m.h.at(0).attn.c_proj.weight.toArray())).toBeCloseTo(0.02 / Math.sqrt(8), 3);
    expect(std(m.h.at(3).mlp.c_proj.weight.toArray())).toBeCloseTo(0.02 / Math.sqrt(8), 3);
    expect([...m.h.at(0).attn.c_attn.bias!.toArray()].every((v) => v === 0)).toBe(true);
    expect([...m.ln_f.weight!.toArray()].every((v) => v === 1)).toBe(true);
  });

  it("validates the config", () => {
    expect(() => new GPT({ ...tiny, nHead: 3 })).toThrow(/divisible/);
    expect(() => new GPT({ ...tiny, vocabSize: 0 })).toThrow(/vocabSize/);
  });
});

describe("GPT forward", () => {
  it("returns (B, T, V) logits and nanoGPT's loss, ignoring targets of −1", () => {
    const m = new GPT(tiny, { generator: new Generator(4) });
    const g = new Generator(5);
    const x = randint(0, 50, [2, 6], { dtype: "int32", generator: g });
    const y = tensor(
      [
        [1, 2, 3, -1, 5, 6],
        [7, -1, -1, 8, 9, 10],
      ],
      { dtype: "int32" },
    );
    const { logits, loss } = m.forward(x, y);
    expect(logits.shape).toEqual([2, 6, 50]);
    const ref = crossEntropy(logits.reshape(12, 50), y.reshape(12), { ignoreIndex: -1 });
    expect(loss!.item()).toBeCloseTo(ref.item(), 6);
    expect(m.forward(x).loss).toBeUndefined();
  });

  it("lastOnly gives the last position's logits", () => {
    const m = new GPT(tiny, { generator: new Generator(6) });
    const x = randint(0, 50, [2, 7], { dtype: "int32", generator: new Generator(7) });
    const full = m.forward(x).logits;
    const last = m.forward(x, null, { lastOnly: true }).logits;
    expect(last.shape).toEqual([2, 1, 50]);
    expectClose(last, full.narrow(1, 6, 1).contiguous(), 0, 1e-6);
  });

  it("back-propagates into the tied embedding from both uses", () => {
    const m = new GPT(tiny, { generator: new Generator(8) });
    const x = tensor([[1, 2, 3, 4]], { dtype: "int32" });
    m.forward(x, tensor([[2, 3, 4, 5]], { dtype: "int32" })).loss!.backward();
    const g = m.wte.weight.grad!.toArray();
    // Row 40 never appears as an input, so only the output head gives it a gradient.
    expect(g.slice(40 * 16, 41 * 16).some((v) => v !== 0)).toBe(true);
    expect(m.wpe.weight.grad).not.toBeNull();
  });

  it("learns: a few SGD steps on one batch lower the loss", () => {
    const m = new GPT({ ...tiny, vocabSize: 20 }, { generator: new Generator(9) });
    const x = tensor([[1, 2, 3, 4, 5, 6, 7, 8]], { dtype: "int32" });
    const y = tensor([[2, 3, 4, 5, 6, 7, 8, 9]], { dtype: "int32" });
    const first = m.forward(x, y).loss!.item();
    for (let step = 0; step < 15; step++) {
      m.zeroGrad();
      m.forward(x, y).loss!.backward();
      withNoGrad(() => {
        for (const p of m.parameters()) p.copy_(p.sub(p.grad!.mul(0.5)));
      });
    }
    expect(m.forward(x, y).loss!.item()).toBeLessThan(first - 0.5);
  });

  it("names the problem when T > blockSize or an id is out of range", () => {
    const m = new GPT(tiny);
    expect(() => m.forward(tensor([Array.from({ length: 17 }, () => 1)], { dtype: "int32" }))).toThrow(
      /sequence of 17 tokens; blockSize is only 16/,
    );
    expect(() => m.forward(tensor([[1, 50, 2]], { dtype: "int32" }))).toThrow(
      /token id 50 at \(0, 1\) is out of range for vocabSize 50/,
    );
    expect(() => m.forward(tensor([[1, -3]], { dtype: "int32" }))).toThrow(/token id -3/);
    expect(() => m.forward(tensor([[1, 2]]))).toThrow(/int32/);
    expect(() => m.forward(tensor([[1, 2]], { dtype: "int32" }), tensor([[1]], { dtype: "int32" }))).toThrow(
      /targets/,
    );
  });
});

describe("configureOptimizerGroups", () => {
  it("decays Linear weights only: no biases, norms or embeddings; each parameter once", () => {
    const m = new GPT(tiny);
    const [decay, noDecay] = m.configureOptimizerGroups(0.1);
    expect(decay.weightDecay).toBe(0.1);
    expect(noDecay.weightDecay).toBe(0);
    expect(decay.names.every((n) => /\.(c_attn|c_proj|c_fc)\.weight$/.test(n))).toBe(true);
    expect(decay.names).toHaveLength(2 * 4);
    expect(noDecay.names).toContain("wte.weight");
    expect(noDecay.names).toContain("wpe.weight");
    expect(noDecay.names).toContain("ln_f.weight");
    expect(noDecay.names).toContain("h.0.attn.c_attn.bias");
    const all = [...decay.params, ...noDecay.params];
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(m.parameters().length);
  });

  it("feeds AdamW directly", () => {
    const m = new GPT(tiny, { generator: new Generator(12) });
    const opt = new optim.AdamW(m.configureOptimizerGroups(0.1), { lr: 1e-2 });
    const x = tensor([[1, 2, 3]], { dtype: "int32" });
    const y = tensor([[2, 3, 4]], { dtype: "int32" });
    const before = m.forward(x, y).loss!.item();
    for (let i = 0; i < 5; i++) {
      opt.zeroGrad();
      m.forward(x, y).loss!.backward();
      opt.step();
    }
    expect(m.forward(x, y).loss!.item()).toBeLessThan(before);
    expect(opt.paramGroups.map((g) => g.weightDecay)).toEqual([0.1, 0]);
  });
});

describe("HF config and checkpoint errors", () => {
  it("ignores unknown config fields", async () => {
    const cfg = {
      ...hfConfig(),
      task_specific_params: { "text-generation": { max_length: 50 } },
      some_future_flag: true,
    };
    const m = GPT.fromHF(cfg, await hfTensors());
    expect(m.config).toMatchObject({
      vocabSize: 50,
      blockSize: 16,
      nLayer: 2,
      nHead: 2,
      nEmbd: 16,
      bias: true,
    });
    expect(m.toHF().config.some_future_flag).toBe(true);
  });

  it("names missing required fields", () => {
    const cfg = hfConfig();
    delete cfg.n_embd;
    delete cfg.n_positions;
    expect(() => gpt2ConfigFromHF(cfg)).toThrow(/missing required fields n_positions \(or n_ctx\), n_embd/);
    expect(gpt2ConfigFromHF({ ...hfConfig(), n_positions: undefined, n_ctx: 12 }).blockSize).toBe(12);
  });

  it("rejects settings qkv cannot reproduce", () => {
    expect(() => gpt2ConfigFromHF({ ...hfConfig(), activation_function: "relu" })).toThrow(
      /activation_function "relu"/,
    );
    expect(() => gpt2ConfigFromHF({ ...hfConfig(), n_inner: 10 })).toThrow(/n_inner/);
    expect(() => gpt2ConfigFromHF({ ...hfConfig(), model_type: "bert" })).toThrow(/model_type "bert"/);
    expect(() => gpt2ConfigFromHF({ ...hfConfig(), n_layer: 1.5 })).toThrow(/n_layer.*positive integer/);
  });

  it("names missing tensors, shape mismatches and unexpected tensors", async () => {
    const t = await hfTensors();
    const missing = new Map(t);
    missing.delete("transformer.h.1.mlp.c_fc.weight");
    expect(() => GPT.fromHF(hfConfig(), missing)).toThrow(/missing 1 tensor\(s\): h\.1\.mlp\.c_fc\.weight/);
    expect(() => GPT.fromHF({ ...hfConfig(), vocab_size: 51 }, t)).toThrow(
      /transformer\.wte\.weight has shape \[50, 16\].*\[51, 16\]/,
    );
    const extra = new Map(t);
    extra.set("transformer.h.0.attn.rotary", { dtype: "float32", shape: [1], data: new Float32Array(1) });
    expect(() => GPT.fromHF(hfConfig(), extra)).toThrow(/does not use: transformer\.h\.0\.attn\.rotary/);
    const notes: string[] = [];
    GPT.fromHF(hfConfig(), extra, { strict: false, warn: (m) => notes.push(m) });
    expect(notes[0]).toMatch(/rotary/);
  });

  it("fromPretrained explains a missing folder or weights file", async () => {
    await expect(fromPretrained(GPT, join(tmp, "nope"))).rejects.toThrow(/model config not found/);
    const dir = join(tmp, "config-only");
    await savePretrained(new GPT(tiny), dir);
    rmSync(join(dir, "model.safetensors"));
    writeFileSync(join(dir, "pytorch_model.bin"), "");
    await expect(fromPretrained(GPT, dir)).rejects.toThrow(/no model\.safetensors.*pytorch_model\.bin/);
  });

  it("a biasless model round-trips through HF's layout (zero biases on disk)", async () => {
    const m = new GPT({ ...tiny, bias: false }, { generator: new Generator(11) });
    const dir = join(tmp, "nobias");
    await savePretrained(m, dir);
    const saved = (await readSafetensorsFile(join(dir, "model.safetensors"))).tensors;
    expect([...saved.get("transformer.h.0.attn.c_attn.bias")!.data].every((v) => v === 0)).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).qkv_bias).toBe(false);
    const back = await fromPretrained(GPT, dir);
    expect(back.config.bias).toBe(false);
    const x = ids(expected("gpt2-tiny").input_ids);
    expect(back.forward(x).logits.toArray()).toEqual(m.eval().forward(x).logits.toArray());
  });

  it("fromHF/toHF work on in-memory data (the browser path)", async () => {
    const m = GPT.fromHF(hfConfig(), await hfTensors());
    const { config, tensors } = m.toHF();
    expect(config.architectures).toEqual(["GPT2LMHeadModel"]);
    expect(tensors.get("transformer.h.0.attn.c_attn.weight")!.shape).toEqual([16, 48]);
    const back = GPT.fromHF(config, tensors);
    expect(back.forward(tensor([[1, 2]], { dtype: "int32" })).logits.toArray()).toEqual(
      m.forward(tensor([[1, 2]], { dtype: "int32" })).logits.toArray(),
    );
  });
});
