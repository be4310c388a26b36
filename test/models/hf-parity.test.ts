/**
 * HF checkpoint compatibility: qkv loads the folders written by scripts/gen_hf_fixtures.py (HF
 * layouts, including the no-prefix GPT-2 and legacy gamma/beta BERT variants), matches the
 * PyTorch reference outputs, and writes folders in HF's own layout that read back bit-identically.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bert, BertForMaskedLM, GPT, type Module, withNoGrad } from "../../src/index.js";
import type { RawTensor } from "../../src/io/safetensors.js";
import { fromPretrained, readSafetensorsFile, savePretrained } from "../../src/node.js";
import { expected, fixturePath, ids, maxAbsDiff } from "./hf-fixtures.js";

const TOL = 1e-4;
const tmp = mkdtempSync(join(tmpdir(), "qkv-hf-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const report: string[] = [];
afterAll(() => console.log(`HF parity (max |qkv − reference|):\n  ${report.join("\n  ")}`));

function sameBits(a: Module, b: Module): void {
  const sa = a.stateDict();
  const sb = b.stateDict();
  expect(Object.keys(sb)).toEqual(Object.keys(sa));
  for (const [k, t] of Object.entries(sa)) {
    const x = new Uint8Array(t.toArray().buffer);
    const y = new Uint8Array(sb[k].toArray().buffer);
    expect(Buffer.compare(Buffer.from(x), Buffer.from(y)), k).toBe(0);
  }
}

function rawBytes(t: RawTensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Fixture keys normalised the way HF itself would save them: prefixed, weight/bias, no buffers. */
function hfSavedKeys(keys: string[], prefix: string, baseOnly: RegExp): string[] {
  return keys
    .filter((k) => !/(^|\.)attn\.(masked_)?bias$|position_ids$/.test(k))
    .map((k) => k.replace(/\.gamma$/, ".weight").replace(/\.beta$/, ".bias"))
    .map((k) => (prefix && baseOnly.test(k) ? prefix + k : k))
    .sort();
}

describe("fixtures", () => {
  it("record their generator and torch version", () => {
    for (const n of ["gpt2-tiny", "gpt2-tiny-noprefix", "bert-tiny", "bert-tiny-legacy"]) {
      const e = expected(n);
      expect(e.torch_version).toMatch(/^1\.13/);
      expect(e.generator).toBe("scripts/gen_hf_fixtures.py");
    }
  });
});

describe.each(["gpt2-tiny", "gpt2-tiny-noprefix"])("GPT-2 %s", (name) => {
  const e = expected(name);
  const dir = fixturePath(name);

  it("matches the reference logits, hidden states and loss", async () => {
    const model = await fromPretrained(GPT, dir);
    expect(model.training).toBe(false);
    const out = withNoGrad(() =>
      model.forward(ids(e.input_ids), ids(e.targets!), { outputHiddenStates: true }),
    );
    const dl = maxAbsDiff(out.logits, e.logits!);
    const dh = e.hidden_states.map((h, i) => maxAbsDiff(out.hiddenStates![i], h));
    const dLoss = Math.abs(out.loss!.item() - e.loss!);
    report.push(
      `${name}: logits ${dl.toExponential(2)}, hidden ${Math.max(...dh).toExponential(2)}, loss ${dLoss.toExponential(2)}`,
    );
    expect(dl).toBeLessThan(TOL);
    expect(out.hiddenStates).toHaveLength(e.hidden_states.length);
    for (const d of dh) expect(d).toBeLessThan(TOL);
    expect(dLoss).toBeLessThan(TOL);
  });

  it("savePretrained → fromPretrained is bit-identical, in HF's layout", async () => {
    const model = await fromPretrained(GPT, dir);
    const out = join(tmp, `${name}-saved`);
    await savePretrained(model, out);
    const back = await fromPretrained(GPT, out);
    sameBits(model, back);
    const x = ids(e.input_ids);
    const a = withNoGrad(() => model.forward(x).logits.toArray());
    const b = withNoGrad(() => back.forward(x).logits.toArray());
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);

    // Keys, shapes (Conv1D (in, out) orientation) and values match the fixture, as HF would save it.
    const saved = (await readSafetensorsFile(join(out, "model.safetensors"))).tensors;
    const orig = (await readSafetensorsFile(join(dir, "model.safetensors"))).tensors;
    expect([...saved.keys()].sort()).toEqual(
      hfSavedKeys([...orig.keys()], "transformer.", /^(h\.|wte|wpe|ln_f)/),
    );
    expect(saved.has("lm_head.weight")).toBe(false);
    for (const [k, t] of saved) {
      const src = orig.get(k) ?? orig.get(k.replace(/^transformer\./, ""))!;
      expect(t.shape, k).toEqual(src.shape);
      expect(rawBytes(t).equals(rawBytes(src)), k).toBe(true);
    }
    expect(saved.get("transformer.h.0.attn.c_attn.weight")!.shape).toEqual([16, 48]);
    expect(saved.get("transformer.h.0.mlp.c_proj.weight")!.shape).toEqual([64, 16]);

    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    const origCfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(cfg).toEqual(origCfg);
    const header = readFileSync(join(out, "model.safetensors"));
    expect(header.toString("latin1", 8, 40)).toContain('"__metadata__":{"format":"pt"}');
  });
});

describe("BERT bert-tiny (BertForMaskedLM)", () => {
  const name = "bert-tiny";
  const e = expected(name);
  const dir = fixturePath(name);
  const inputs = () => ({
    tokenTypeIds: ids(e.token_type_ids!),
    attentionMask: ids(e.attention_mask!),
    labels: ids(e.labels!),
    outputHiddenStates: true,
  });

  it("matches the reference MLM logits, hidden states and loss (with padding and segments)", async () => {
    const model = await fromPretrained(BertForMaskedLM, dir);
    const out = withNoGrad(() => model.forward(ids(e.input_ids), inputs()));
    const dl = maxAbsDiff(out.logits, e.logits!);
    const dh = e.hidden_states.map((h, i) => maxAbsDiff(out.hiddenStates![i], h));
    const dLoss = Math.abs(out.loss!.item() - e.loss!);
    report.push(
      `${name}: logits ${dl.toExponential(2)}, hidden ${Math.max(...dh).toExponential(2)}, loss ${dLoss.toExponential(2)}`,
    );
    expect(dl).toBeLessThan(TOL);
    expect(out.hiddenStates).toHaveLength(3);
    for (const d of dh) expect(d).toBeLessThan(TOL);
    expect(dLoss).toBeLessThan(TOL);
  });

  it("savePretrained → fromPretrained is bit-identical, with HF's keys", async () => {
    const model = await fromPretrained(BertForMaskedLM, dir);
    const out = join(tmp, `${name}-saved`);
    await savePretrained(model, out);
    const back = await fromPretrained(BertForMaskedLM, out);
    sameBits(model, back);
    const saved = (await readSafetensorsFile(join(out, "model.safetensors"))).tensors;
    const orig = (await readSafetensorsFile(join(dir, "model.safetensors"))).tensors;
    expect([...saved.keys()].sort()).toEqual([...orig.keys()].sort());
    for (const [k, t] of saved) expect(rawBytes(t).equals(rawBytes(orig.get(k)!)), k).toBe(true);
    expect(saved.has("cls.predictions.decoder.weight")).toBe(false);
    expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8"))).toEqual(
      JSON.parse(readFileSync(join(dir, "config.json"), "utf8")),
    );
  });

  it("the base Bert loads the same checkpoint, ignoring the MLM head", async () => {
    const notes: string[] = [];
    const base = await fromPretrained(Bert, dir, { warn: (m) => notes.push(m) });
    expect(notes.join("\n")).toMatch(/newly initialised.*pooler\.dense\.weight/);
    const out = withNoGrad(() => base.forward(ids(e.input_ids), inputs()));
    expect(maxAbsDiff(out.lastHiddenState, e.hidden_states[2])).toBeLessThan(TOL);
  });
});

describe("BERT bert-tiny-legacy (BertModel, gamma/beta names, position_ids buffer)", () => {
  const name = "bert-tiny-legacy";
  const e = expected(name);
  const dir = fixturePath(name);

  it("matches the reference hidden states and pooled output", async () => {
    const model = await fromPretrained(Bert, dir);
    const out = withNoGrad(() =>
      model.forward(ids(e.input_ids), {
        tokenTypeIds: ids(e.token_type_ids!),
        attentionMask: ids(e.attention_mask!),
        outputHiddenStates: true,
      }),
    );
    const dl = maxAbsDiff(out.lastHiddenState, e.last_hidden_state!);
    const dp = maxAbsDiff(out.pooledOutput!, e.pooler_output!);
    const dh = e.hidden_states.map((h, i) => maxAbsDiff(out.hiddenStates![i], h));
    report.push(
      `${name}: last hidden ${dl.toExponential(2)}, pooled ${dp.toExponential(2)}, hidden ${Math.max(...dh).toExponential(2)}`,
    );
    expect(dl).toBeLessThan(TOL);
    expect(dp).toBeLessThan(TOL);
    for (const d of dh) expect(d).toBeLessThan(TOL);
  });

  it("re-saves with today's names (weight/bias, no buffers) and reads back bit-identically", async () => {
    const model = await fromPretrained(Bert, dir);
    const out = join(tmp, `${name}-saved`);
    await savePretrained(model, out);
    const back = await fromPretrained(Bert, out);
    sameBits(model, back);
    const saved = (await readSafetensorsFile(join(out, "model.safetensors"))).tensors;
    const orig = (await readSafetensorsFile(join(dir, "model.safetensors"))).tensors;
    expect([...saved.keys()].sort()).toEqual(hfSavedKeys([...orig.keys()], "", /^$/));
    expect(saved.get("embeddings.LayerNorm.weight")!.shape).toEqual([16]);
    expect(
      rawBytes(saved.get("embeddings.LayerNorm.weight")!).equals(
        rawBytes(orig.get("embeddings.LayerNorm.gamma")!),
      ),
    ).toBe(true);
  });
});

describe("fresh models save in HF's layout", () => {
  it("a new GPT writes the same keys, shapes and config fields as HF's GPT2LMHeadModel", async () => {
    const model = new GPT({
      vocabSize: 50,
      blockSize: 16,
      nLayer: 2,
      nHead: 2,
      nEmbd: 16,
      dropout: 0.1,
      bias: true,
    });
    const out = join(tmp, "fresh-gpt");
    await savePretrained(model, out);
    const saved = (await readSafetensorsFile(join(out, "model.safetensors"))).tensors;
    const ref = (await readSafetensorsFile(join(fixturePath("gpt2-tiny"), "model.safetensors"))).tensors;
    expect([...saved.keys()].sort()).toEqual([...ref.keys()].sort());
    for (const [k, t] of saved) expect(t.shape, k).toEqual(ref.get(k)!.shape);
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    const refCfg = JSON.parse(readFileSync(join(fixturePath("gpt2-tiny"), "config.json"), "utf8"));
    expect(Object.keys(cfg).sort()).toEqual(Object.keys(refCfg).sort());
    expect(cfg).toMatchObject({
      architectures: ["GPT2LMHeadModel"],
      model_type: "gpt2",
      n_embd: 16,
      n_positions: 16,
    });
    sameBits(model, await fromPretrained(GPT, out));
  });

  it("a new BertForMaskedLM writes the same keys, shapes and config fields as HF's", async () => {
    const config = {
      vocabSize: 50,
      hiddenSize: 16,
      numHiddenLayers: 2,
      numAttentionHeads: 2,
      intermediateSize: 32,
      hiddenAct: "gelu" as const,
      hiddenDropoutProb: 0.1,
      attentionProbsDropoutProb: 0.1,
      maxPositionEmbeddings: 16,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
    };
    const model = new BertForMaskedLM(config);
    const out = join(tmp, "fresh-bert");
    await savePretrained(model, out);
    const saved = (await readSafetensorsFile(join(out, "model.safetensors"))).tensors;
    const ref = (await readSafetensorsFile(join(fixturePath("bert-tiny"), "model.safetensors"))).tensors;
    expect([...saved.keys()].sort()).toEqual([...ref.keys()].sort());
    for (const [k, t] of saved) expect(t.shape, k).toEqual(ref.get(k)!.shape);
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    const refCfg = JSON.parse(readFileSync(join(fixturePath("bert-tiny"), "config.json"), "utf8"));
    expect(cfg).toEqual(refCfg);
    sameBits(model, await fromPretrained(BertForMaskedLM, out));
  });
});
