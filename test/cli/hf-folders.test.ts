// `qkv info/sample/eval` on a plain Hugging Face folder, and `qkv train --model gpt --init-from`
// from such a folder and from a qkv checkpoint. The folders are written by the library itself.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BertForMaskedLM, ByteLevelBPE, Generator, GPT } from "../../src/index.js";
import { readPretrainedDir, savePretrained } from "../../src/node.js";
import { type CliResult, qkv } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-hf-"));
const hf = join(dir, "gpt2");
const text = join(dir, "text.txt");
const heldOut = join(dir, "held-out.txt");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectCleanFailure(r: { code: number | null; stderr: string }, message: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
}

function evalLoss(checkpoint: string): number {
  const r = qkv(["eval", "--checkpoint", checkpoint, "--data", heldOut]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) as string).loss;
}

const TRAIN = ["--eval-interval", "20", "--eval-iters", "2", "--batch-size", "8", "--sample-tokens", "5"];

/** `qkv train --init-from <from> --data <text> …extra` into `out`, which must succeed. */
function fineTune(from: string, out: string, extra: string[]): CliResult {
  const r = qkv(["train", "--init-from", from, "--data", text, ...extra, ...TRAIN, "--out-dir", out]);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** The same command with flags that must be refused, into a fresh `out` under the temp folder. */
function refused(name: string, extra: string[]): CliResult {
  return qkv(["train", "--init-from", hf, "--data", text, ...extra, "--out-dir", join(dir, name)]);
}

describe("Hugging Face folders in the CLI", () => {
  beforeAll(async () => {
    const line = "the cat sat on the mat and the dog sat on the log. ";
    writeFileSync(text, line.repeat(120));
    writeFileSync(heldOut, line.repeat(20));
    const tok = ByteLevelBPE.train(line.repeat(10), { vocabSize: 280 });
    const model = new GPT(
      { vocabSize: tok.vocabSize, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true },
      { generator: new Generator(1) },
    );
    await savePretrained(model, hf);
    writeFileSync(join(hf, "tokenizer.json"), JSON.stringify(tok.toJSON()));
  });

  test("info describes a GPT-2 folder", () => {
    const r = qkv(["info", "--checkpoint", hf]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/a Hugging Face folder, model_type "gpt2"/);
    expect(r.stdout).toMatch(/GPT-2 architecture: 1 layers, 2 heads, width 16, context 16/);
    expect(r.stdout).toMatch(/parameters: [\d,]+/);
    expect(r.stdout).toMatch(/files: config\.json, model\.safetensors, tokenizer\.json/);
  });

  test("sample and eval run on a GPT-2 folder", () => {
    const s = qkv(["sample", "--checkpoint", hf, "--prompt", "the cat", "--max-new-tokens", "5"]);
    expect(s.stderr).not.toMatch(/Error/);
    expect(s.code).toBe(0);
    expect(s.stdout.startsWith("the cat")).toBe(true);
    const loss = evalLoss(hf);
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(0);
  });

  test("a folder with GPT-2's vocab.json + merges.txt instead of tokenizer.json gives the same loss", () => {
    const vm = join(dir, "vocab-merges");
    mkdirSync(vm);
    for (const f of ["config.json", "model.safetensors"]) copyFileSync(join(hf, f), join(vm, f));
    const model = JSON.parse(readFileSync(join(hf, "tokenizer.json"), "utf8")).model;
    writeFileSync(join(vm, "vocab.json"), JSON.stringify(model.vocab));
    const merges = (model.merges as string[][]).map((m) => m.join(" ")).join("\n");
    writeFileSync(join(vm, "merges.txt"), `#version: 0.2\n${merges}\n`);
    const info = qkv(["info", "--checkpoint", vm]);
    expect(info.stdout).toMatch(/files: config\.json, model\.safetensors, vocab\.json, merges\.txt/);
    expect(evalLoss(vm)).toBe(evalLoss(hf));
  });

  test("--init-from starts from the folder's weights exactly (lr 0 leaves them unchanged)", async () => {
    const out = join(dir, "same");
    fineTune(hf, out, ["--max-iters", "1", "--lr", "0", "--min-lr", "0", "--weight-decay", "0"]);
    const a = await readPretrainedDir(hf);
    const b = await readPretrainedDir(join(out, "last"));
    expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
    for (const [k, t] of a.tensors)
      expect(Array.from(b.tensors.get(k)?.data ?? []), k).toEqual(Array.from(t.data));
    expect(readFileSync(join(out, "last", "tokenizer.json"), "utf8")).toBe(
      readFileSync(join(hf, "tokenizer.json"), "utf8"),
    );
  });

  test("fine-tuning from a HF folder, then from its qkv checkpoint, lowers the held-out loss", () => {
    const before = evalLoss(hf);
    const first = join(dir, "ft1");
    const r = fineTune(hf, first, ["--max-iters", "40", "--lr", "1e-2"]);
    expect(r.stderr).toMatch(/fine-tuning from/);
    const mid = evalLoss(join(first, "last"));
    expect(mid).toBeLessThan(before - 0.5);
    const info = qkv(["info", "--checkpoint", join(first, "last")]);
    expect(info.stdout).toMatch(/GPT-2 architecture: 1 layers, 2 heads, width 16/);
    const second = join(dir, "ft2");
    fineTune(join(first, "last"), second, ["--max-iters", "40", "--lr", "1e-2"]);
    expect(evalLoss(join(second, "last"))).toBeLessThan(mid - 0.05);
  }, 240_000);

  test("sizes that disagree with --init-from are refused", () => {
    expectCleanFailure(refused("bad1", ["--n-layer", "3"]), /--n-layer: .* has nLayer 1/);
    expectCleanFailure(
      refused("bad2", ["--block-size", "64"]),
      /--block-size: 64 is more than the context .* \(16\)/,
    );
    expectCleanFailure(
      refused("bad3", ["--tokenizer", "char"]),
      /--tokenizer: --init-from uses the tokenizer/,
    );
    expectCleanFailure(
      refused("bad4", ["--model", "bert"]),
      /--init-from: .* holds model_type "gpt2"; --model bert needs a BERT folder/,
    );
  });

  test("bad folders name the missing file", async () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    expectCleanFailure(qkv(["info", "--checkpoint", empty]), /no train_config\.json.*no config\.json/);
    const noWeights = join(dir, "no-weights");
    mkdirSync(noWeights);
    copyFileSync(join(hf, "config.json"), join(noWeights, "config.json"));
    expectCleanFailure(qkv(["sample", "--checkpoint", noWeights]), /model\.safetensors/);
    const noTok = join(dir, "no-tok");
    mkdirSync(noTok);
    for (const f of ["config.json", "model.safetensors"]) copyFileSync(join(hf, f), join(noTok, f));
    expectCleanFailure(
      qkv(["eval", "--checkpoint", noTok, "--data", heldOut]),
      /no tokenizer: expected .*tokenizer\.json/,
    );
    expectCleanFailure(
      qkv(["train", "--init-from", noTok, "--data", text, "--out-dir", join(dir, "bad5")]),
      /--init-from: .*tokenizer\.json/,
    );
    const bert = join(dir, "bert");
    const bm = new BertForMaskedLM(
      {
        vocabSize: 280,
        hiddenSize: 16,
        numHiddenLayers: 1,
        numAttentionHeads: 2,
        intermediateSize: 32,
        maxPositionEmbeddings: 16,
        typeVocabSize: 2,
        hiddenAct: "gelu",
        hiddenDropoutProb: 0,
        attentionProbsDropoutProb: 0,
        layerNormEps: 1e-12,
      },
      { generator: new Generator(2) },
    );
    await savePretrained(bm, bert);
    copyFileSync(join(hf, "tokenizer.json"), join(bert, "tokenizer.json"));
    expect(qkv(["info", "--checkpoint", bert]).stdout).toMatch(/BERT masked-LM: 1 layers/);
    expectCleanFailure(
      qkv(["sample", "--checkpoint", bert]),
      /supports GPT-2 Hugging Face folders .* model_type "bert"/,
    );
  });
});
