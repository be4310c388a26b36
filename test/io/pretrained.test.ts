// Model folders as named files (src/io/pretrained.ts): loadPretrained on bytes must give what
// qkv/node gives for the same folder on disk (same code, same result), and pretrainedFiles must
// write a folder that the CLI's `qkv sample` opens and samples from exactly as the library does.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  CharTokenizer,
  Generator,
  GPT,
  type GPTConfig,
  generate,
  getBackendName,
  gptStepModel,
  loadPretrained,
  noGrad,
  pretrainedFiles,
  QkvError,
  setBackend,
  tensor,
} from "../../src/index.js";
import { loadPretrainedDir, readCheckpoint, savePretrained, writeCheckpoint } from "../../src/node.js";
import { qkv } from "../cli/run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-pretrained-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n";

function tinyGPT(seed: number): { model: GPT; tok: CharTokenizer } {
  const tok = CharTokenizer.fromText(TEXT);
  const config: GPTConfig = {
    vocabSize: tok.vocabSize,
    blockSize: 16,
    nLayer: 1,
    nHead: 2,
    nEmbd: 16,
    dropout: 0,
    bias: true,
  };
  return { model: new GPT(config, { generator: new Generator(seed) }).eval(), tok };
}

function logitsOf(model: GPT, ids: number[]): Float32Array {
  return noGrad(() => model.forward(tensor([ids], { dtype: "int32" })).logits.toArray() as Float32Array);
}

/** Every file of a folder as name → bytes, as a page would hold them after a folder pick. */
function folderFiles(d: string): Map<string, Uint8Array> {
  return new Map(readdirSync(d).map((n) => [n, new Uint8Array(readFileSync(join(d, n)))]));
}

describe("loadPretrained (bytes) and loadPretrainedDir (folder) read a checkpoint identically", () => {
  it("a checkpoint written as the CLI writes it: same weights, tokenizer and training config", async () => {
    const { model, tok } = tinyGPT(7);
    const ck = join(dir, "cli-written");
    await writeCheckpoint(ck, {
      config: model.toHF().config,
      trainConfig: { model: "gpt", maxIters: 5 },
      tokenizer: tok.toJSON(),
      weights: model.toHF().tensors,
      optimizer: {},
      trainerState: { iter: 5, bestValLoss: 2.5, elapsedMs: 10 },
    });
    const fromDisk = await loadPretrainedDir(GPT, ck);
    const fromBytes = await loadPretrained(GPT, folderFiles(ck));
    const ids = tok.encode("not to be");
    // Both equal the model that was saved, bit for bit (float32 round-trips through safetensors).
    expect(logitsOf(fromBytes.model, ids)).toEqual(logitsOf(model, ids));
    expect(logitsOf(fromDisk.model, ids)).toEqual(logitsOf(model, ids));
    expect(fromBytes.tokenizer?.encode(TEXT)).toEqual(tok.encode(TEXT));
    expect(fromDisk.tokenizer?.encode(TEXT)).toEqual(tok.encode(TEXT));
    expect(fromBytes.trainConfig).toEqual({ model: "gpt", maxIters: 5 });
    expect(fromBytes.config).toEqual(fromDisk.config);
    expect(fromBytes.model.training).toBe(false);
  });

  it("takes File objects, { name, bytes } lists, plain objects and folder-prefixed names", async () => {
    const { model } = tinyGPT(3);
    const files = pretrainedFiles(model);
    const ids = [1, 2, 3];
    const want = logitsOf(model, ids);
    const asFiles = [...files].map(([n, b]) => new File([b], n));
    expect(logitsOf((await loadPretrained(GPT, asFiles)).model, ids)).toEqual(want);
    const asList = [...files].map(([n, b]) => ({ name: `best/${n}`, bytes: b.slice().buffer }));
    expect(logitsOf((await loadPretrained(GPT, asList)).model, ids)).toEqual(want);
    const asObject = {
      "config.json": new TextDecoder().decode(files.get("config.json")),
      "model.safetensors": files.get("model.safetensors")!,
    };
    const loaded = await loadPretrained(GPT, asObject);
    expect(logitsOf(loaded.model, ids)).toEqual(want);
    // A Hugging Face folder without tokenizer.json or train_config.json.
    expect(loaded.tokenizer).toBeNull();
    expect(loaded.trainConfig).toBeNull();
  });

  it("reads index-listed shards from bytes as from a folder", async () => {
    const { model } = tinyGPT(5);
    const { config, tensors } = model.toHF();
    const keys = [...tensors.keys()];
    const half = keys.slice(0, 3);
    const shardA = pretrainedFiles({
      toHF: () => ({ config, tensors: new Map(half.map((k) => [k, tensors.get(k)!])) }),
    });
    const shardB = pretrainedFiles({
      toHF: () => ({ config, tensors: new Map(keys.slice(3).map((k) => [k, tensors.get(k)!])) }),
    });
    const weightMap = Object.fromEntries(
      keys.map((k) => [k, half.includes(k) ? "a.safetensors" : "b.safetensors"]),
    );
    const files = new Map<string, Uint8Array | string>([
      ["config.json", shardA.get("config.json")!],
      ["model.safetensors.index.json", JSON.stringify({ weight_map: weightMap })],
      ["a.safetensors", shardA.get("model.safetensors")!],
      ["b.safetensors", shardB.get("model.safetensors")!],
    ]);
    expect(logitsOf((await loadPretrained(GPT, files)).model, [4, 5])).toEqual(logitsOf(model, [4, 5]));
  });

  it("bad input names the file", async () => {
    const { model } = tinyGPT(1);
    const files = pretrainedFiles(model);
    await expect(
      loadPretrained(GPT, new Map([["model.safetensors", files.get("model.safetensors")!]])),
    ).rejects.toThrow(
      /model config not found: config\.json is not among the given files \(model\.safetensors\)/,
    );
    await expect(loadPretrained(GPT, { "config.json": files.get("config.json")! })).rejects.toThrow(
      /no model\.safetensors in the given files/,
    );
    await expect(
      loadPretrained(GPT, [
        { name: "a/config.json", bytes: files.get("config.json")! },
        { name: "b/config.json", bytes: files.get("config.json")! },
      ]),
    ).rejects.toThrow(/two files are named config\.json/);
    await expect(
      loadPretrained(GPT, { "config.json": "{nope", "model.safetensors": new Uint8Array() }),
    ).rejects.toThrow(/model config config\.json is not valid JSON/);
    await expect(
      loadPretrained(GPT, {
        ...Object.fromEntries(files),
        "tokenizer.json": '{"model": {"type": "Unigram"}}',
      }),
    ).rejects.toThrow(/^tokenizer\.json: (?!tokenizer\.json)\S/);
    await expect(loadPretrained(GPT, { "config.json": 42 as unknown as string })).rejects.toThrow(
      /file config\.json: expected bytes/,
    );
  });

  it("GPT.fromPretrained says it is Node-only and names both folder APIs", () => {
    expect(() => GPT.fromPretrained("gpt2")).toThrow(QkvError);
    expect(() => GPT.fromPretrained("gpt2")).toThrow(
      /GPT\.fromPretrained\(dir\) reads a folder, which is Node-only: .*fromPretrained\(GPT, dir\) from "qkv\/node".*loadPretrained\(GPT, files\) from "qkv"/,
    );
  });
});

describe("pretrainedFiles: the files of a folder, for a page's download", () => {
  it("config.json and model.safetensors are byte-identical to savePretrained's", async () => {
    const { model } = tinyGPT(11);
    const d = join(dir, "saved");
    await savePretrained(model, d);
    const files = pretrainedFiles(model);
    expect([...files.keys()]).toEqual(["config.json", "model.safetensors"]);
    expect(files.get("config.json")).toEqual(new Uint8Array(readFileSync(join(d, "config.json"))));
    expect(files.get("model.safetensors")).toEqual(
      new Uint8Array(readFileSync(join(d, "model.safetensors"))),
    );
  });

  it("with a tokenizer and trainConfig, `qkv sample` opens the folder and samples what the library samples", async () => {
    const { model, tok } = tinyGPT(13);
    const d = join(dir, "page-trained");
    mkdirSync(d);
    const files = pretrainedFiles(model, { tokenizer: tok, trainConfig: { model: "gpt" } });
    expect([...files.keys()].sort()).toEqual([
      "config.json",
      "model.safetensors",
      "tokenizer.json",
      "train_config.json",
      "trainer_state.json",
    ]);
    for (const [n, b] of files) writeFileSync(join(d, n), b);
    const ck = await readCheckpoint(d, { optimizer: false });
    expect(ck.trainConfig).toEqual({ model: "gpt" });

    const prompt = "To be";
    const opts = { maxNewTokens: 24, temperature: 0.9, topK: 10 };
    const r = qkv([
      "sample",
      "--checkpoint",
      d,
      "--prompt",
      prompt,
      "--max-new-tokens",
      String(opts.maxNewTokens),
      "--temperature",
      String(opts.temperature),
      "--top-k",
      String(opts.topK),
      "--seed",
      "5",
      "--no-stream",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // The CLI runs on cpu (run-cli sets QKV_BACKEND=cpu); so does this side, in any suite.
    const suiteBackend = getBackendName();
    setBackend("cpu");
    const mine = generate(gptStepModel(model), tok.encode(prompt), {
      ...opts,
      generator: new Generator(5),
      decode: (ids) => tok.decode(ids),
    });
    setBackend(suiteBackend);
    expect(mine.text.length).toBeGreaterThan(0);
    expect(r.stdout).toBe(`${prompt}${mine.text}\n`);

    // Such a folder samples but does not resume (no optimizer state, RNG or data position), and says so.
    const run = join(dir, "page-run");
    mkdirSync(join(run, "last"), { recursive: true });
    for (const [n, b] of files) writeFileSync(join(run, "last", n), b);
    const resumed = qkv(["train", "--resume", "--out-dir", run, "--max-iters", "2"]);
    expect(resumed.code).toBe(3);
    expect(resumed.stderr).toMatch(/--resume: .*page-run\/last\/optimizer\.safetensors: file not found/);
  });

  it("trainerState without trainConfig is refused", () => {
    const { model } = tinyGPT(1);
    expect(() => pretrainedFiles(model, { trainerState: { iter: 1 } })).toThrow(
      /trainerState needs trainConfig/,
    );
  });
});
