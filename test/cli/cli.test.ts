// Each qkv command run as a child process, as a user would, including bad input: every failure
// must be one clear message naming the problem, a non-zero exit code, and no stack trace.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { qkv } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-cli-"));
const out = join(dir, "run");
const text = join(dir, "small.txt");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectCleanFailure(r: { code: number | null; stderr: string }, message: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
}

describe("qkv commands", () => {
  beforeAll(() => {
    writeFileSync(text, "First Citizen:\nBefore we proceed any further, hear me speak.\n".repeat(200));
    const r = qkv([
      "train",
      "--preset",
      "tiny",
      "--data",
      text,
      "--max-iters",
      "6",
      "--eval-interval",
      "3",
      "--eval-iters",
      "2",
      "--sample-tokens",
      "20",
      "--out-dir",
      out,
    ]);
    if (r.code !== 0) throw new Error(`training failed: ${r.stderr}`);
  }, 120_000);

  test("train writes checkpoints, metrics, a loss plot and prints a sample", () => {
    for (const f of [
      "config.json",
      "train_config.json",
      "tokenizer.json",
      "model.safetensors",
      "optimizer.safetensors",
      "trainer_state.json",
    ]) {
      expect(existsSync(join(out, "last", f)), f).toBe(true);
    }
    const lines = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === "eval").map((l) => l.iter)).toEqual([0, 3, 6]);
    expect(readFileSync(join(out, "loss.svg"), "utf8")).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    // The token ids in config.json are the saved tokenizer's, not GPT2Config's 50256: a char
    // vocabulary has no end-of-text token.
    const config = JSON.parse(readFileSync(join(out, "last", "config.json"), "utf8"));
    const vocab = JSON.parse(readFileSync(join(out, "last", "tokenizer.json"), "utf8")).model.vocab;
    expect(config.vocab_size).toBe(Object.keys(vocab).length);
    expect(config.bos_token_id).toBeNull();
    expect(config.eos_token_id).toBeNull();
  });

  test("info describes the checkpoint", () => {
    const r = qkv(["info", "--checkpoint", join(out, "last")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/GPT-2 architecture: 2 layers, 2 heads, width 32/);
    expect(r.stdout).toMatch(/iteration 6 of 6/);
  });

  test("sample is reproducible for a seed and honours the prompt", () => {
    const a = qkv([
      "sample",
      "--checkpoint",
      join(out, "last"),
      "--prompt",
      "First",
      "--max-new-tokens",
      "30",
      "--seed",
      "3",
    ]);
    const b = qkv([
      "sample",
      "--checkpoint",
      join(out, "last"),
      "--prompt",
      "First",
      "--max-new-tokens",
      "30",
      "--seed",
      "3",
    ]);
    expect(a.code).toBe(0);
    expect(a.stdout.startsWith("First")).toBe(true);
    expect(a.stdout.length).toBeGreaterThan("First".length + 10);
    expect(a.stdout).toBe(b.stdout);
  });

  test("sample on --backend wasm (2 threads) writes what the default backend writes", () => {
    const args = ["sample", "--checkpoint", join(out, "last"), "--prompt", "First", "--max-new-tokens", "30"];
    const a = qkv([...args, "--seed", "5"]);
    const w = qkv([...args, "--seed", "5", "--backend", "wasm", "--threads", "2"]);
    expect(w.code).toBe(0);
    expect(w.stdout).toBe(a.stdout);
  });

  test("sample --dtype bf16 / int8 runs the quantized model: greedy text continuing the prompt", () => {
    const args = ["sample", "--checkpoint", join(out, "last"), "--prompt", "First", "--max-new-tokens", "20"];
    for (const dtype of ["bf16", "int8"]) {
      const r = qkv([...args, "--temperature", "0", "--dtype", dtype]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.startsWith("First")).toBe(true);
      expect(r.stdout.length).toBe("First".length + 20 + 1); // char tokenizer: one character per token, then "\n"
    }
  });

  test("eval reports loss and perplexity = exp(loss)", () => {
    const r = qkv(["eval", "--checkpoint", join(out, "last"), "--data", text, "--max-batches", "2"]);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(m.loss).toBeGreaterThan(0);
    expect(m.perplexity).toBeCloseTo(Math.exp(m.loss), 2);
  });

  test("tokenizer train, encode and decode round-trip", () => {
    const tokFile = join(dir, "tok.json");
    const t = qkv(["tokenizer", "train", "--data", text, "--out", tokFile, "--vocab-size", "300"]);
    expect(t.code).toBe(0);
    const e = qkv(["tokenizer", "encode", "--tokenizer", tokFile, "Before we proceed"]);
    expect(e.code).toBe(0);
    const ids = e.stdout.trim().split(" ");
    expect(ids.length).toBeLessThan("Before we proceed".length);
    const d = qkv(["tokenizer", "decode", "--tokenizer", tokFile, ...ids]);
    expect(d.stdout).toBe("Before we proceed\n");
  });

  test("the exit codes in --help, the README and cli/errors.ts are one table", async () => {
    const { EXIT } = await import("../../cli/errors.js");
    const help = qkv(["--help"]).stdout;
    const whole = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
    // the table under "Exit codes, …" (other tables may also start with a number)
    const at = whole.indexOf("\nExit codes");
    expect(at, "README: no 'Exit codes' paragraph").toBeGreaterThan(0);
    const readme = whole.slice(at, whole.indexOf("\n\n", whole.indexOf("| code |", at)) + 1);
    for (const code of Object.values(EXIT)) {
      expect(help).toMatch(new RegExp(`\\n  ${code} +\\S`));
      expect(readme).toMatch(new RegExp(`\\n\\| ${code} \\| \\S`));
    }
    const documented = [...readme.matchAll(/\n\| (\d+) \| /g)].map((m) => Number(m[1]));
    expect(documented.sort((a, b) => a - b)).toEqual(Object.values(EXIT).sort((a, b) => a - b));
  });

  test("--help lists every command and each command's flags", () => {
    const r = qkv(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["train", "sample", "eval", "tokenizer", "info"]) expect(r.stdout).toContain(c);
    const t = qkv(["train", "--help"]);
    expect(t.stdout).toMatch(/--n-layer <value>/);
    expect(t.stdout).toMatch(/--resume/);
  });
});

describe("qkv train runs the BERT and encoder-decoder tasks end to end", () => {
  // Evaluation losses of these runs as the CLI printed them before the two tasks moved from
  // cli/tasks.ts to src/train/tasks.ts (commit 5207ae2, cpu backend): the move changes nothing.
  const runs = [
    {
      model: "bert",
      data: "shakespeare",
      evals: [
        { iter: 0, trainLoss: 4.17068, valLoss: 4.16204, maskedAccuracy: 0.0625, frequencyBaseline: 0.125 },
        { iter: 3, trainLoss: 4.17012, valLoss: 4.16156, maskedAccuracy: 0.0625, frequencyBaseline: 0.125 },
        { iter: 6, trainLoss: 4.16881, valLoss: 4.16073, maskedAccuracy: 0.0625, frequencyBaseline: 0.125 },
      ],
      last: /masked-token accuracy on held-out text: 6\.3% \(always predicting the most frequent token: 12\.5%\)/,
    },
    {
      model: "seq2seq",
      data: "reverse",
      evals: [
        { iter: 0, trainLoss: 3.10333, valLoss: 3.17987, exactMatch: 0 },
        { iter: 3, trainLoss: 3.09828, valLoss: 3.17449, exactMatch: 0 },
        { iter: 6, trainLoss: 3.08641, valLoss: 3.16208, exactMatch: 0 },
      ],
      last: /greedy exact match on 2135 held-out pairs: 0\.00%\n( {2}[a-j]+ → [a-j]*\n){3}/,
    },
  ];
  for (const run of runs) {
    test(`--model ${run.model}`, () => {
      let data = run.data;
      if (data === "shakespeare") {
        data = join(dir, "shakespeare-20k.txt");
        const full = readFileSync(join(import.meta.dirname, "../../data/tinyshakespeare.txt"), "utf8");
        writeFileSync(data, full.slice(0, 20000));
      }
      const runDir = join(dir, `run-${run.model}`);
      const r = qkv(
        ["train", "--model", run.model, "--data", data, "--n-layer", "1", "--n-head", "2", "--n-embd", "16"]
          .concat(["--block-size", "16", "--batch-size", "4", "--max-iters", "6", "--eval-interval", "3"])
          .concat(["--eval-iters", "2", "--out-dir", runDir]),
      );
      expect(r.code, r.stderr).toBe(0);
      const evals = readFileSync(join(runDir, "metrics.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .filter((l) => l.type === "eval");
      expect(evals.length).toBe(run.evals.length);
      evals.forEach((e, i) => {
        const want = run.evals[i];
        expect(e.iter).toBe(want.iter);
        expect(e.trainLoss).toBeCloseTo(want.trainLoss, 4);
        expect(e.valLoss).toBeCloseTo(want.valLoss, 4);
        for (const [k, v] of Object.entries(want))
          if (!k.endsWith("Loss") && k !== "iter") expect(e.metrics[k]).toBe(v);
      });
      expect(r.stdout).toMatch(run.last);
      expect(existsSync(join(runDir, "last", "model.safetensors"))).toBe(true);
      if (run.model === "bert") {
        // pad_token_id names the saved tokenizer's [PAD], not BertConfig's default 0.
        const config = JSON.parse(readFileSync(join(runDir, "last", "config.json"), "utf8"));
        const tokJson = JSON.parse(readFileSync(join(runDir, "last", "tokenizer.json"), "utf8"));
        const pad = tokJson.added_tokens.find((t: { content: string }) => t.content === "[PAD]");
        expect(pad).toBeDefined();
        expect(config.pad_token_id).toBe(pad.id);
      }
    }, 120_000);
  }
});

describe("bad input fails fast with a message naming the problem", () => {
  test("unknown flag", () =>
    expectCleanFailure(qkv(["train", "--n-layers", "3"]), /unknown option '--n-layers'/));
  test("non-numeric value", () =>
    expectCleanFailure(qkv(["train", "--lr", "fast"]), /--lr expects a number, got "fast"/));
  test("non-integer layers", () =>
    expectCleanFailure(qkv(["train", "--n-layer", "2.5"]), /--n-layer expects an integer/));
  test("heads not dividing the width", () =>
    expectCleanFailure(
      qkv(["train", "--n-embd", "30", "--n-head", "4"]),
      /--n-head: nEmbd \(30\) must be divisible by nHead \(4\)/,
    ));
  test("missing data file", () =>
    expectCleanFailure(qkv(["train", "--data", join(dir, "nope.txt")]), /nope\.txt/));
  test("unknown preset", () =>
    expectCleanFailure(qkv(["train", "--preset", "huge"]), /--preset: unknown preset "huge"/));
  test("unknown model", () => expectCleanFailure(qkv(["train", "--model", "rnn"]), /--model.*rnn/));
  test("malformed config file", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ nLayer: 2 ");
    expectCleanFailure(qkv(["train", "--config", bad]), /--config: .*bad\.json is not valid JSON/);
  });
  test("unknown field in config file", () => {
    const f = join(dir, "unknown.json");
    writeFileSync(f, JSON.stringify({ nLayers: 2 }));
    expectCleanFailure(qkv(["train", "--config", f]), /unknown config field "nLayers"/);
  });
  test("resume without a checkpoint", () =>
    expectCleanFailure(
      qkv(["train", "--resume", "--out-dir", join(dir, "empty")]),
      /--resume: no checkpoint in/,
    ));
  test("sample from a missing checkpoint", () =>
    expectCleanFailure(
      qkv(["sample", "--checkpoint", join(dir, "missing")]),
      /--checkpoint: .*missing does not exist/,
    ));
  test("sample with a top-p outside [0, 1]", () =>
    expectCleanFailure(
      qkv(["sample", "--checkpoint", join(out, "last"), "--top-p", "1.5"]),
      /--top-p must be in \(0, 1\], got 1\.5/,
    ));
  test("decode an id outside the vocabulary", () =>
    expectCleanFailure(
      qkv(["tokenizer", "decode", "--tokenizer", join(out, "last"), "99999"]),
      /token id "99999" is not an integer in \[0, /,
    ));
  test("unknown backend", () =>
    expectCleanFailure(
      qkv(["train", "--backend", "gpu"]),
      /--backend must be auto, native, wasm, cpu; got "gpu"/,
    ));
  test("unknown command", () => expectCleanFailure(qkv(["fly"]), /unknown command 'fly'/));
});

describe("qkv info: the backend that runs", () => {
  const addonBuilt = existsSync(join(import.meta.dirname, "../../build/Release/qkv_native.node"));

  test("an explicit --backend cpu is reported as such, with nothing skipped", () => {
    const r = qkv(["info", "--backend", "cpu"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("backend: cpu, chosen by --backend\n");
  });

  test("auto without the addon: wasm, the next backend in the order, and native's reason", () => {
    const r = qkv(["info", "--threads", "1"], { env: { QKV_BACKEND: "", QKV_NATIVE: "0" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^backend: wasm \(wasm-[a-z0-9-]+, 1 thread\), chosen by auto \(the fastest that loads\)\n/,
    );
    expect(r.stdout).toContain("  native did not load: disabled by QKV_NATIVE=0\n");
  });

  test.skipIf(!addonBuilt)("auto with the addon built: native, with its instruction set and threads", () => {
    const r = qkv(["info", "--backend", "auto", "--threads", "1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend: native \((avx512|avx2|generic), 1 thread\), chosen by auto/);
  });

  test("--backend wasm --threads 2: the wasm module with its instruction set and 2 threads", () => {
    const r = qkv(["info", "--backend", "wasm", "--threads", "2"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend: wasm \(wasm-[a-z0-9-]+, 2 threads\), chosen by --backend\n$/);
  });

  test("a named backend that cannot load is an error naming the flag and the reason", () =>
    expectCleanFailure(
      qkv(["info", "--backend", "native"], { env: { QKV_NATIVE: "0" } }),
      /--backend: setBackend: the native backend is not available here: disabled by QKV_NATIVE=0/,
    ));
});
