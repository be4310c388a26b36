/** BERT: names, tying, masks, the classification head, HF config handling and errors. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  Bert,
  type BertConfig,
  BertForMaskedLM,
  BertForSequenceClassification,
  bertConfigFromHF,
  Generator,
  tensor,
  withNoGrad,
} from "../../src/index.js";
import { fromPretrained, readSafetensorsFile, savePretrained } from "../../src/node.js";
import { expectClose } from "../helpers.js";
import { expected, fixturePath, ids } from "./hf-fixtures.js";

const config: BertConfig = {
  vocabSize: 50,
  hiddenSize: 16,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  intermediateSize: 32,
  hiddenAct: "gelu",
  hiddenDropoutProb: 0.1,
  attentionProbsDropoutProb: 0.1,
  maxPositionEmbeddings: 16,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
};
const tmp = mkdtempSync(join(tmpdir(), "qkv-bert-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function hfConfig(name = "bert-tiny"): Record<string, unknown> {
  return JSON.parse(readFileSync(join(fixturePath(name), "config.json"), "utf8"));
}

describe("Bert structure", () => {
  it("uses HF's state-dict names", () => {
    const names = Object.keys(new Bert(config).stateDict());
    expect(names[0]).toBe("embeddings.word_embeddings.weight");
    expect(names).toContain("encoder.layer.1.attention.self.query.weight");
    expect(names).toContain("encoder.layer.0.attention.output.LayerNorm.bias");
    expect(names).toContain("encoder.layer.0.intermediate.dense.weight");
    expect(names).toContain("encoder.layer.0.output.dense.bias");
    expect(names.at(-1)).toBe("pooler.dense.bias");
  });

  it("ties the MLM decoder to the word embeddings", () => {
    const m = new BertForMaskedLM(config);
    expect(m.cls.predictions.decoder.weight).toBe(m.bert.embeddings.word_embeddings.weight);
    const sd = Object.keys(m.stateDict());
    expect(sd).toContain("cls.predictions.decoder.weight");
    expect(sd).toContain("cls.predictions.bias");
    expect(sd.some((k) => k.includes("pooler"))).toBe(false);
    expect(m.namedParameters().map(([n]) => n)).not.toContain("cls.predictions.decoder.weight");
  });

  it("an all-ones attention mask equals no mask; padding does not affect the real tokens' outputs", () => {
    const m = new Bert(config, { generator: new Generator(1) }).eval();
    const x = tensor([[5, 6, 7, 8, 9]], { dtype: "int32" });
    withNoGrad(() => {
      const a = m.forward(x).lastHiddenState;
      const b = m.forward(x, {
        attentionMask: tensor([[1, 1, 1, 1, 1]], { dtype: "int32" }),
      }).lastHiddenState;
      expect(b.toArray()).toEqual(a.toArray());
      const short = m.forward(tensor([[5, 6, 7]], { dtype: "int32" })).lastHiddenState;
      const padded = m.forward(tensor([[5, 6, 7, 0, 0]], { dtype: "int32" }), {
        attentionMask: tensor([[true, true, true, false, false]]),
      }).lastHiddenState;
      expectClose(padded.narrow(1, 0, 3).contiguous(), short, 0, 1e-5);
    });
  });

  it("gives clear errors for long inputs and bad ids", () => {
    const m = new Bert(config);
    expect(() => m.forward(tensor([Array.from({ length: 17 }, () => 1)], { dtype: "int32" }))).toThrow(
      /sequence length 17 exceeds maxPositionEmbeddings 16/,
    );
    expect(() => m.forward(tensor([[1, 50]], { dtype: "int32" }))).toThrow(
      /input id 50 at \(0, 1\) is out of range/,
    );
    expect(() =>
      m.forward(tensor([[1, 2]], { dtype: "int32" }), { tokenTypeIds: tensor([[0, 2]], { dtype: "int32" }) }),
    ).toThrow(/token type id 2/);
    expect(() =>
      m.forward(tensor([[1, 2]], { dtype: "int32" }), { attentionMask: tensor([[1, 1, 1]]) }),
    ).toThrow(/attentionMask/);
  });
});

describe("BertForMaskedLM", () => {
  it("ignores labels of −100 and back-propagates", () => {
    const m = new BertForMaskedLM(config, { generator: new Generator(2) });
    const x = tensor([[3, 4, 5, 6]], { dtype: "int32" });
    const { logits, loss } = m.forward(x, { labels: tensor([[-100, 7, -100, 9]], { dtype: "int32" }) });
    expect(logits.shape).toEqual([1, 4, 50]);
    const lp = logits.logSoftmax(-1).toArray();
    expect(loss!.item()).toBeCloseTo(-(lp[1 * 50 + 7] + lp[3 * 50 + 9]) / 2, 5);
    loss!.backward();
    expect(m.cls.predictions.bias.grad).not.toBeNull();
    expect(m.bert.embeddings.word_embeddings.weight.grad).not.toBeNull();
  });
});

describe("BertForSequenceClassification", () => {
  it("starts from a BertModel checkpoint with a fresh classifier (warned) and trains", async () => {
    const notes: string[] = [];
    const m = await fromPretrained(BertForSequenceClassification, fixturePath("bert-tiny-legacy"), {
      numLabels: 3,
      warn: (s) => notes.push(s),
    });
    expect(notes.join("\n")).toMatch(/newly initialised.*classifier\.weight/);
    const e = expected("bert-tiny-legacy");
    // The encoder weights came from the checkpoint: the pooled output matches the reference.
    const pooled = withNoGrad(() =>
      m.bert.forward(ids(e.input_ids), {
        tokenTypeIds: ids(e.token_type_ids!),
        attentionMask: ids(e.attention_mask!),
      }),
    ).pooledOutput!;
    expectClose(pooled, e.pooler_output!.data, 0, 1e-4);
    m.train();
    const { logits, loss } = m.forward(ids(e.input_ids), { labels: tensor([0, 2], { dtype: "int32" }) });
    expect(logits.shape).toEqual([2, 3]);
    loss!.backward();
    expect(m.classifier.weight.grad).not.toBeNull();
  });

  it("round-trips with id2label and the classifier in HF's layout", async () => {
    const m = new BertForSequenceClassification(config, { numLabels: 4, generator: new Generator(3) });
    const dir = join(tmp, "seqcls");
    await savePretrained(m, dir);
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(cfg.architectures).toEqual(["BertForSequenceClassification"]);
    expect(Object.keys(cfg.id2label)).toHaveLength(4);
    const saved = (await readSafetensorsFile(join(dir, "model.safetensors"))).tensors;
    expect(saved.get("classifier.weight")!.shape).toEqual([4, 16]);
    expect(saved.has("bert.pooler.dense.weight")).toBe(true);
    const back = await fromPretrained(BertForSequenceClassification, dir);
    expect(back.numLabels).toBe(4);
    const x = tensor([[1, 2, 3]], { dtype: "int32" });
    expect(back.forward(x).logits.toArray()).toEqual(m.eval().forward(x).logits.toArray());
  });

  it("uses BCE for float multi-hot labels", () => {
    const m = new BertForSequenceClassification(config, { numLabels: 2 }).eval();
    const y = tensor([[1, 0]]);
    const { logits, loss } = m.forward(tensor([[1, 2]], { dtype: "int32" }), { labels: y });
    const [a, b] = logits.toArray();
    const sp = (x: number) => Math.log1p(Math.exp(x));
    expect(loss!.item()).toBeCloseTo((sp(-a) + sp(b)) / 2, 5);
  });

  it("uses MSE for a single label (regression)", () => {
    const m = new BertForSequenceClassification(config, { numLabels: 1 }).eval();
    const { logits, loss } = m.forward(tensor([[1, 2]], { dtype: "int32" }), { labels: tensor([0.5]) });
    expect(loss!.item()).toBeCloseTo((logits.item() - 0.5) ** 2, 6);
  });
});

describe("BERT HF config", () => {
  it("ignores unknown fields and names missing required ones", async () => {
    const tensors = (await readSafetensorsFile(join(fixturePath("bert-tiny"), "model.safetensors"))).tensors;
    const m = BertForMaskedLM.fromHF(
      { ...hfConfig(), gradient_checkpointing: false, new_field: [1, 2] },
      tensors,
    );
    expect(m.config).toMatchObject({
      hiddenSize: 16,
      numHiddenLayers: 2,
      intermediateSize: 32,
      layerNormEps: 1e-12,
    });
    const cfg = hfConfig();
    delete cfg.hidden_size;
    delete cfg.intermediate_size;
    expect(() => bertConfigFromHF(cfg)).toThrow(/missing required fields hidden_size, intermediate_size/);
    expect(() => bertConfigFromHF({ ...hfConfig(), position_embedding_type: "relative_key" })).toThrow(
      /relative_key/,
    );
    expect(() => bertConfigFromHF({ ...hfConfig(), hidden_act: "swish" })).toThrow(/hidden_act "swish"/);
  });

  it("an MLM checkpoint with only the old decoder.bias name still loads its output bias", async () => {
    const tensors = new Map(
      (await readSafetensorsFile(join(fixturePath("bert-tiny"), "model.safetensors"))).tensors,
    );
    const bias = tensors.get("cls.predictions.bias")!;
    tensors.delete("cls.predictions.bias");
    tensors.set("cls.predictions.decoder.bias", bias);
    const m = BertForMaskedLM.fromHF(hfConfig(), tensors);
    expect(m.cls.predictions.bias.toArray()).toEqual(bias.data);
  });
});
