/**
 * BART against Hugging Face: the folders of scripts/gen_bart_fixtures.py load (from bytes and
 * through qkv/node), their teacher-forced logits, encoder states and label loss match
 * transformers' float32 outputs within 1e-4, state-dict keys are HF's, and a saved folder reads
 * back bit for bit. Fine-tuning: a few AdamW steps on tiny pairs lower the loss and the result
 * saves in HF's layout.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  BartForConditionalGeneration,
  Generator,
  optim,
  parseHFCheckpoint,
  shiftTokensRight,
  tensor,
  withNoGrad,
} from "../../src/index.js";
import { fromPretrained, savePretrained } from "../../src/node.js";

const DIR = join(__dirname, "..", "fixtures", "bart");
interface ModelCase {
  input_ids: number[][];
  attention_mask: number[][];
  decoder_input_ids: number[][];
  decoder_attention_mask: number[][];
  logits_shape: number[];
  logits: number[];
  encoder_last_hidden_state: number[];
  labels: number[][];
  loss: number;
}
const expected = JSON.parse(readFileSync(join(DIR, "expected.json"), "utf8")) as {
  torch: string;
  transformers: string;
  models: Record<string, ModelCase>;
};
const ids2d = (rows: number[][]) =>
  tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0].length] });
const tmp = mkdtempSync(join(tmpdir(), "qkv-bart-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const report: string[] = [];
afterAll(() =>
  console.log(
    `BART parity vs transformers ${expected.transformers} (max |qkv − HF|):\n  ${report.join("\n  ")}`,
  ),
);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function fromBytes(name: string): BartForConditionalGeneration {
  const ck = parseHFCheckpoint({
    config: readFileSync(join(DIR, name, "config.json"), "utf8"),
    safetensors: readFileSync(join(DIR, name, "model.safetensors")),
  });
  return BartForConditionalGeneration.fromHF(ck.config, ck.tensors);
}

describe.each(Object.keys(expected.models))("BART %s", (name) => {
  const c = expected.models[name];

  it("has HF's state-dict keys (tied embeddings under every HF name)", () => {
    const model = fromBytes(name);
    const keys = Object.keys(model.stateDict());
    for (const k of [
      "model.shared.weight",
      "model.encoder.embed_tokens.weight",
      "model.decoder.embed_tokens.weight",
      "lm_head.weight",
      "final_logits_bias",
      "model.encoder.embed_positions.weight",
      "model.encoder.layernorm_embedding.weight",
      "model.encoder.layers.0.self_attn.k_proj.weight",
      "model.decoder.layers.0.encoder_attn.q_proj.bias",
      "model.decoder.layers.0.encoder_attn_layer_norm.weight",
      "model.decoder.layers.0.fc2.weight",
    ])
      expect(keys, k).toContain(k);
    // the positional table has BART's two extra rows
    expect(model.model.encoder.embed_positions.weight.shape[0]).toBe(model.config.maxPositionEmbeddings + 2);
    expect(model.lm_head.weight).toBe(model.model.shared.weight);
  });

  it("matches HF's logits, encoder states and label loss within 1e-4", async () => {
    const model = await fromPretrained(BartForConditionalGeneration, join(DIR, name));
    const out = withNoGrad(() =>
      model.forward({
        inputIds: ids2d(c.input_ids),
        attentionMask: ids2d(c.attention_mask),
        decoderInputIds: ids2d(c.decoder_input_ids),
        decoderAttentionMask: ids2d(c.decoder_attention_mask),
      }),
    );
    expect(out.logits.shape).toEqual(c.logits_shape);
    const dl = maxDiff(out.logits.toArray() as Float32Array, c.logits);
    const de = maxDiff(out.encoderLastHiddenState.toArray() as Float32Array, c.encoder_last_hidden_state);
    const loss = withNoGrad(() =>
      model.forward({
        inputIds: ids2d(c.input_ids),
        attentionMask: ids2d(c.attention_mask),
        labels: ids2d(c.labels),
      }),
    ).loss!.item();
    report.push(
      `${name}: logits ${dl.toExponential(2)}, encoder ${de.toExponential(2)}, loss ${Math.abs(loss - c.loss).toExponential(2)}`,
    );
    expect(dl).toBeLessThan(1e-4);
    expect(de).toBeLessThan(1e-4);
    expect(Math.abs(loss - c.loss)).toBeLessThan(1e-4);
  });

  it("decodes incrementally with the cache as the full forward does", () => {
    const model = fromBytes(name);
    const src = ids2d(c.input_ids);
    const mask = ids2d(c.attention_mask);
    const dec = c.decoder_input_ids.map((r) => r.slice(0, 4));
    withNoGrad(() => {
      const full = model.forward({ inputIds: src, attentionMask: mask, decoderInputIds: ids2d(dec) }).logits; // (N, 4, V)
      const memory = model.model.encoder.forward(src, mask);
      const cache = model.model.decoder.createCache();
      const V = model.config.vocabSize;
      const want = full.toArray() as Float32Array;
      for (let t = 0; t < 4; t++) {
        const step = model
          .forward({
            encoderOutputs: memory,
            attentionMask: mask,
            decoderInputIds: ids2d(dec.map((r) => [r[t]])),
            cache,
          })
          .logits.toArray() as Float32Array; // (N, 1, V)
        for (let n = 0; n < dec.length; n++) {
          const a = step.subarray(n * V, (n + 1) * V);
          const b = want.subarray((n * 4 + t) * V, (n * 4 + t + 1) * V);
          expect(maxDiff(a, b)).toBeLessThan(1e-5);
        }
      }
    });
  });

  it("saves a folder in HF's layout that reads back bit for bit", async () => {
    const model = fromBytes(name);
    const dir = join(tmp, name);
    await savePretrained(model, dir);
    const back = await fromPretrained(BartForConditionalGeneration, dir);
    const a = model.stateDict();
    const b = back.stateDict();
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const k of Object.keys(a))
      expect(maxDiff(a[k].toArray() as Float32Array, b[k].toArray() as Float32Array), k).toBe(0);
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const orig = JSON.parse(readFileSync(join(DIR, name, "config.json"), "utf8"));
    for (const f of [
      "d_model",
      "encoder_layers",
      "decoder_ffn_dim",
      "scale_embedding",
      "activation_function",
      "vocab_size",
    ])
      expect(cfg[f], f).toEqual(orig[f]);
    // the tied aliases are stored once, as HF stores them
    const tensors = model.toHF().tensors;
    expect(tensors.has("model.shared.weight")).toBe(true);
    expect(tensors.has("lm_head.weight")).toBe(false);
    expect(tensors.has("model.encoder.embed_tokens.weight")).toBe(false);
  });
});

describe("BART config and inputs", () => {
  it("shiftTokensRight puts the start id first and turns -100 into pad", () => {
    const out = shiftTokensRight(ids2d([[0, 5, 2, -100]]), 1, 2);
    expect(Array.from(out.toArray())).toEqual([2, 0, 5, 2]);
  });

  it("refuses configs it cannot reproduce, naming the field", () => {
    const ck = parseHFCheckpoint({
      config: readFileSync(join(DIR, "tiny", "config.json"), "utf8"),
      safetensors: readFileSync(join(DIR, "tiny", "model.safetensors")),
    });
    expect(() =>
      BartForConditionalGeneration.fromHF({ ...ck.config, activation_function: "mish" }, ck.tensors),
    ).toThrow(/activation_function "mish" is not supported/);
    expect(() =>
      BartForConditionalGeneration.fromHF({ ...ck.config, encoder_layerdrop: 0.1 }, ck.tensors),
    ).toThrow(/encoder_layerdrop/);
    expect(() => BartForConditionalGeneration.fromHF({ ...ck.config, model_type: "t5" }, ck.tensors)).toThrow(
      /model_type/,
    );
    const bad = new Map(ck.tensors);
    bad.delete("model.decoder.layers.1.fc1.weight");
    expect(() => BartForConditionalGeneration.fromHF(ck.config, bad)).toThrow(
      /missing 1 tensor.*fc1\.weight/,
    );
  });
});

describe("BART fine-tuning", () => {
  it("a few AdamW steps on tiny pairs lower the loss; the result saves as an HF folder", async () => {
    const model = fromBytes("tiny");
    model.train();
    // x → y pairs: copy with the first token dropped (labels end with </s>, padded with -100).
    const src = [
      [0, 282, 398, 298, 275, 2],
      [0, 329, 80, 263, 2, 1],
      [0, 261, 354, 82, 309, 2],
    ];
    const mask = src.map((r) => r.map((v) => (v === 1 ? 0 : 1)));
    const labels = [
      [398, 298, 275, 2],
      [80, 263, 2, -100],
      [354, 82, 309, 2],
    ];
    const inputs = { inputIds: ids2d(src), attentionMask: ids2d(mask), labels: ids2d(labels) };
    const opt = new optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0.01 });
    const g = new Generator(0);
    void g;
    const losses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const loss = model.forward(inputs).loss!;
      losses.push(loss.item());
      loss.backward();
      opt.step();
      opt.zeroGrad();
    }
    model.eval();
    const after = withNoGrad(() => model.forward(inputs).loss!.item());
    expect(after).toBeLessThan(losses[0] * 0.6);
    const dir = join(tmp, "finetuned");
    await savePretrained(model, dir);
    const back = await fromPretrained(BartForConditionalGeneration, dir);
    expect(withNoGrad(() => back.forward(inputs).loss!.item())).toBeCloseTo(after, 5);
  });
});
