/**
 * examples/hf-gpt2-generate.ts on a tiny GPT-2 folder the library writes itself (no network): the
 * streamed text for a seed equals what `generate` gives on the same model directly, and a folder
 * with vocab.json + merges.txt instead of tokenizer.json gives the same text.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ByteLevelBPE, Generator, GPT, generate, gptStepModel } from "../../src/index.js";
import { savePretrained } from "../../src/node.js";
import { runExample } from "./run-example.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-ex-hf-"));
const hf = join(dir, "gpt2");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = "the cat sat on the mat and the dog sat on the log. ";
const tok = ByteLevelBPE.train(line.repeat(10), { vocabSize: 280 });
const config = {
  vocabSize: tok.vocabSize,
  blockSize: 16,
  nLayer: 1,
  nHead: 2,
  nEmbd: 16,
  dropout: 0,
  bias: true,
};
const ARGS = ["--prompt", "the cat", "--max-new-tokens", "20", "--temperature", "0.9", "--top-k", "20"];

/** What the library gives directly for the flags in ARGS with `seed`, on a fresh copy of the model. */
function direct(seed: number, topP: number): string {
  const model = new GPT(config, { generator: new Generator(1) });
  model.eval();
  return generate(gptStepModel(model), tok.encode("the cat"), {
    maxNewTokens: 20,
    temperature: 0.9,
    topK: 20,
    topP,
    generator: new Generator(seed),
    decode: (ids) => tok.decode(ids),
  }).text;
}

/** The generated text the script printed: after the prompt, before the blank line and the stats. */
function printed(stdout: string): string {
  expect(stdout.startsWith("the cat")).toBe(true);
  const end = stdout.lastIndexOf("\n\n[");
  expect(end).toBeGreaterThan(0);
  return stdout.slice("the cat".length, end);
}

describe("examples/hf-gpt2-generate", () => {
  beforeAll(async () => {
    await savePretrained(new GPT(config, { generator: new Generator(1) }), hf);
    writeFileSync(join(hf, "tokenizer.json"), JSON.stringify(tok.toJSON()));
  });

  it("streams, for a seed, exactly the text the library's generate gives", () => {
    const r = runExample("hf-gpt2-generate.ts", ["--model", hf, ...ARGS, "--top-p", "0.9", "--seed", "7"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const text = printed(r.stdout);
    expect(text.length).toBeGreaterThan(0);
    expect(text).toBe(direct(7, 0.9));
    expect(r.stdout).toMatch(/\[20 tokens in [\d.]+s, [\d.]+ tokens\/s; 1 layers, width 16\]/);
    // Another seed samples something else (the check above is not vacuous).
    expect(direct(8, 0.9)).not.toBe(text);
  }, 60_000);

  it("reads GPT-2's vocab.json + merges.txt when there is no tokenizer.json", () => {
    const vm = join(dir, "vocab-merges");
    mkdirSync(vm);
    for (const f of ["config.json", "model.safetensors"]) copyFileSync(join(hf, f), join(vm, f));
    const model = JSON.parse(readFileSync(join(hf, "tokenizer.json"), "utf8")).model;
    writeFileSync(join(vm, "vocab.json"), JSON.stringify(model.vocab));
    const merges = (model.merges as string[][]).map((m) => m.join(" ")).join("\n");
    writeFileSync(join(vm, "merges.txt"), `#version: 0.2\n${merges}\n`);
    const r = runExample("hf-gpt2-generate.ts", ["--model", vm, ...ARGS, "--top-p", "1", "--seed", "3"]);
    expect(r.stderr).toBe("");
    expect(printed(r.stdout)).toBe(direct(3, 1));
  }, 60_000);

  it("names a missing or wrong --model", () => {
    const none = runExample("hf-gpt2-generate.ts", []);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/--model <dir> is required/);
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const bad = runExample("hf-gpt2-generate.ts", ["--model", empty]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--model .*empty: no config\.json/);
  }, 60_000);
});
