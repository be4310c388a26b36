// BERT fine-tuning through the CLI: `qkv train --model bert --init-from` (masked-LM continuation)
// and `--task classify`, then `qkv classify`, `qkv eval` and `qkv info` on the classifier. The
// models and folders are made with the library itself (no Python).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BertForMaskedLM, Generator, trainWordPiece } from "../../src/index.js";
import { readPretrainedDir, savePretrained } from "../../src/node.js";
import { qkv } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-bertcls-"));
const hf = join(dir, "bert-hf"); // a masked-LM BERT folder with a WordPiece tokenizer.json
const text = join(dir, "text.txt");
const trainTsv = join(dir, "train.tsv");
const testTsv = join(dir, "test.tsv");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectCleanFailure(r: { code: number | null; stderr: string }, message: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
}

/**
 * Rows whose label is the colour word somewhere in the text, among filler words: "sky" 50%,
 * "sun" 30%, "sea" 20%, so always answering "sky" scores 50%.
 */
function labelledRows(n: number, seed: number): string[] {
  const g = new Generator(seed);
  const filler = ["a", "big", "old", "cat", "ran", "to", "the", "hill", "and", "saw"];
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const u = g.random();
    const label = u < 0.5 ? "sky" : u < 0.8 ? "sun" : "sea";
    const words = Array.from({ length: 3 + g.randint(0, 3) }, () => filler[g.randint(0, filler.length)]);
    words.splice(g.randint(0, words.length + 1), 0, label);
    rows.push(`${words.join(" ")}\t${label}`);
  }
  return rows;
}

/** `qkv train` that must succeed; returns its result. */
function train(args: string[], out: string) {
  const r = qkv(["train", "--model", "bert", ...args, "--out-dir", out, "--quiet"]);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

const TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "24"];
const LR0 = ["--lr", "0", "--min-lr", "0", "--weight-decay", "0", "--max-iters", "1", "--eval-iters", "1"];

describe("BERT fine-tuning in the CLI", () => {
  beforeAll(async () => {
    const rows = labelledRows(240, 1);
    writeFileSync(trainTsv, `${rows.join("\n")}\n`);
    writeFileSync(testTsv, `${labelledRows(60, 2).join("\n")}\n`);
    const words = rows.map((r) => r.split("\t")[0]).join("\n");
    writeFileSync(text, `${words}\n`.repeat(3));
    const tok = trainWordPiece(words, { vocabSize: 60 });
    const mlm = new BertForMaskedLM(
      {
        vocabSize: tok.vocabSize,
        hiddenSize: 16,
        numHiddenLayers: 1,
        numAttentionHeads: 2,
        intermediateSize: 32,
        maxPositionEmbeddings: 32,
        typeVocabSize: 2,
        hiddenAct: "gelu",
        hiddenDropoutProb: 0.1,
        attentionProbsDropoutProb: 0.1,
        layerNormEps: 1e-12,
      },
      { generator: new Generator(3) },
    );
    await savePretrained(mlm, hf);
    writeFileSync(join(hf, "tokenizer.json"), JSON.stringify(tok.toJSON()));
  });

  test("a classifier trained on a labelled TSV beats the majority baseline; classify, eval and info read it", async () => {
    const out = join(dir, "scratch");
    const r = train(
      [
        "--task",
        "classify",
        "--data",
        trainTsv,
        "--val-data",
        testTsv,
        ...TINY,
        "--max-iters",
        "200",
        "--lr-decay-iters",
        "200",
        "--warmup-iters",
        "10",
        "--lr",
        "3e-3",
        "--batch-size",
        "16",
        "--eval-interval",
        "100",
        "--eval-iters",
        "2",
        "--dropout",
        "0",
      ],
      out,
    );
    const m =
      /validation accuracy: ([\d.]+)%, macro-F1: ([\d.]+) on 60 rows \(majority-class baseline: ([\d.]+)%\)/.exec(
        r.stdout,
      );
    expect(m, r.stdout).not.toBeNull();
    const [acc, f1, base] = [Number(m![1]), Number(m![2]), Number(m![3])];
    const testLabels = readFileSync(testTsv, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split("\t")[1]);
    // The majority class of train.tsv ("sky"), scored on test.tsv.
    expect(base).toBeCloseTo((100 * testLabels.filter((l) => l === "sky").length) / testLabels.length, 1);
    expect(acc).toBeGreaterThan(base + 20);
    // Always answering "sky" has macro-F1 (2/3 + 0 + 0) / 3 ≈ 0.22.
    expect(f1).toBeGreaterThan(0.4);
    console.log(`[bert-classify] accuracy ${acc}%, macro-F1 ${f1}, majority baseline ${base}%`);
    // The evaluations are recorded with the classification metrics.
    const evals = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === "eval");
    expect(evals.map((e) => e.iter)).toEqual([0, 100, 200]);
    expect(Object.keys(evals[2].metrics).sort()).toEqual(["accuracy", "macroF1", "majorityBaseline"]);
    expect(evals[2].metrics.accuracy).toBeCloseTo(acc / 100, 3);

    // HF layout: BertForSequenceClassification with its labels, weights under bert.* and classifier.*.
    const last = join(out, "last");
    const config = JSON.parse(readFileSync(join(last, "config.json"), "utf8"));
    expect(config.architectures).toEqual(["BertForSequenceClassification"]);
    expect(config.id2label).toEqual({ 0: "sea", 1: "sky", 2: "sun" });
    expect(config.label2id).toEqual({ sea: 0, sky: 1, sun: 2 });
    expect(config.num_labels).toBe(3);
    const names = [...(await readPretrainedDir(last)).tensors.keys()];
    expect(
      names.every((n) => n.startsWith("bert.") || n.startsWith("classifier.")),
      names.join(", "),
    ).toBe(true);
    for (const n of [
      "classifier.weight",
      "classifier.bias",
      "bert.pooler.dense.weight",
      "bert.embeddings.word_embeddings.weight",
    ])
      expect(names).toContain(n);

    // qkv classify: one label and probability per row, then accuracy and macro-F1 on stderr.
    const one = qkv(["classify", "--checkpoint", last, "--text", "a big sun ran"]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^sun\t(0|1)\.\d{4}\n$/);
    const all = qkv(["classify", "--checkpoint", last, "--data", testTsv]);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trim().split("\n");
    expect(lines).toHaveLength(60);
    const predicted = lines.map((l) => l.split("\t")[0]);
    const hits = predicted.filter((p, i) => p === testLabels[i]).length;
    expect(all.stderr).toContain(`accuracy ${((100 * hits) / 60).toFixed(1)}%`);
    expect(all.stderr).toMatch(/macro-F1 [\d.]+ on 60 labelled rows/);
    expect((100 * hits) / 60).toBeCloseTo(acc, 1);

    // qkv eval: the same accuracy, a loss, and macro-F1.
    const ev = qkv(["eval", "--checkpoint", last, "--data", testTsv]);
    expect(ev.code, ev.stderr).toBe(0);
    const j = JSON.parse(ev.stdout.trim());
    expect(j.rows).toBe(60);
    expect(j.accuracy).toBeCloseTo(hits / 60, 5);
    expect(j.macroF1).toBeCloseTo(f1, 3);
    expect(j.loss).toBeGreaterThan(0);
    expect(j.loss).toBeLessThan(Math.log(3));

    const info = qkv(["info", "--checkpoint", last]);
    expect(info.stdout).toMatch(/BERT sequence classifier: 1 layers/);
    expect(info.stdout).toMatch(/labels: 3 \(0 sea, 1 sky, 2 sun\)/);

    // The run folder itself is not a checkpoint: the error points at best/ and last/.
    expectCleanFailure(
      qkv(["classify", "--checkpoint", out, "--text", "x"]),
      /it looks like a run folder: pass one of its checkpoints, .*best or .*last/,
    );
  }, 240_000);

  test("--init-from a HF BERT folder: masked-LM continuation uses its tokenizer; lr 0 keeps every weight", async () => {
    const out = join(dir, "mlm-same");
    const r = qkv([
      "train",
      "--model",
      "bert",
      "--init-from",
      hf,
      "--data",
      text,
      ...LR0,
      "--block-size",
      "16",
      "--batch-size",
      "4",
      "--out-dir",
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /BERT masked-LM continuing from .*bert-hf \(1 layers, 2 heads, 16 wide, context 16\)/,
    );
    const a = await readPretrainedDir(hf);
    const b = await readPretrainedDir(join(out, "last"));
    expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
    for (const [k, t] of a.tensors)
      expect(Array.from(b.tensors.get(k)?.data ?? []), k).toEqual(Array.from(t.data));
    expect(JSON.parse(readFileSync(join(out, "last", "tokenizer.json"), "utf8"))).toEqual(
      JSON.parse(readFileSync(join(hf, "tokenizer.json"), "utf8")),
    );
  });

  test("--task classify --init-from: encoder weights bit-identical with lr 0, a fresh classifier head drawn from --seed", async () => {
    const run = (name: string, seed: string) => {
      const out = join(dir, name);
      train(["--task", "classify", "--init-from", hf, "--data", trainTsv, ...LR0, "--seed", seed], out);
      return readPretrainedDir(join(out, "last"));
    };
    const src = await readPretrainedDir(hf);
    const a = await run("cls-a", "5");
    for (const [k, t] of src.tensors) {
      if (!k.startsWith("bert.")) continue; // cls.* is the masked-LM head, not part of a classifier
      expect(Array.from(a.tensors.get(`${k}`)?.data ?? []), k).toEqual(Array.from(t.data));
    }
    expect(a.tensors.get("classifier.weight")?.shape).toEqual([3, 16]);
    const again = await run("cls-a2", "5");
    const other = await run("cls-b", "6");
    const w = (c: typeof a) => Array.from(c.tensors.get("classifier.weight")?.data ?? []);
    expect(w(again)).toEqual(w(a));
    expect(w(other)).not.toEqual(w(a));
    expect(w(a).some((v) => v !== 0)).toBe(true);
    // Held out: a seeded 10% of the 240 rows.
    expect(JSON.parse(readFileSync(join(dir, "cls-a", "last", "config.json"), "utf8")).id2label).toEqual({
      0: "sea",
      1: "sky",
      2: "sun",
    });
  });

  test("fine-tuning from a qkv bert checkpoint, then --resume of the classifier", () => {
    const mlm = join(dir, "mlm");
    train(
      [
        "--init-from",
        hf,
        "--data",
        text,
        "--max-iters",
        "4",
        "--eval-interval",
        "2",
        "--eval-iters",
        "1",
        "--block-size",
        "16",
        "--batch-size",
        "4",
      ],
      mlm,
    );
    const cls = join(dir, "cls-from-qkv");
    const args = [
      "--task",
      "classify",
      "--data",
      trainTsv,
      "--eval-interval",
      "2",
      "--eval-iters",
      "1",
      "--batch-size",
      "8",
    ];
    const r = qkv([
      "train",
      "--model",
      "bert",
      "--init-from",
      join(mlm, "last"),
      ...args,
      "--max-iters",
      "2",
      "--out-dir",
      cls,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /BERT sequence classification from .*mlm.last \(1 layers.*216 train \/ 24 validation rows \(24 rows held out/,
    );
    const res = qkv(["train", "--resume", "--max-iters", "4", "--out-dir", cls]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/resumed from .* at iteration 2/);
    expect(res.stdout).toMatch(/validation accuracy: [\d.]+%/);
  }, 120_000);

  test("flags that disagree with the folder or the model are refused by name", () => {
    const bad = (name: string, args: string[], message: RegExp) =>
      expectCleanFailure(qkv(["train", ...args, "--out-dir", join(dir, name)]), message);
    bad(
      "f1",
      ["--model", "bert", "--init-from", hf, "--data", text, "--n-layer", "3"],
      /--n-layer: .* has nLayer 1/,
    );
    bad(
      "f2",
      ["--model", "bert", "--init-from", hf, "--data", text, "--n-embd", "32"],
      /--n-embd: .* has nEmbd 16/,
    );
    bad(
      "f3",
      ["--model", "bert", "--init-from", hf, "--data", text, "--block-size", "64"],
      /--block-size: 64 is more than the max_position_embeddings .* \(32\)/,
    );
    bad(
      "f4",
      ["--model", "bert", "--init-from", hf, "--data", text, "--tokenizer", "char"],
      /--tokenizer: --init-from uses the tokenizer/,
    );
    bad("f5", ["--model", "gpt", "--task", "classify"], /--task: task "classify" is for --model bert/);
    bad("f6", ["--model", "bert", "--task", "classify"], /--data: --task classify needs a TSV/);
    bad(
      "f7",
      ["--model", "bert", "--val-data", testTsv, "--data", text],
      /--val-data: valData is for --model bert --task classify/,
    );
    expect(qkv(["train", "--model", "bert", "--task", "ner"]).stderr).toMatch(/--task.*ner/);
  });

  test("bad TSV rows name the file and line", () => {
    const write = (name: string, body: string) => {
      const p = join(dir, name);
      writeFileSync(p, body);
      return p;
    };
    const noTab = write("no-tab.tsv", "a sky\tsky\nb sun\tsun\njust text\n");
    const twoTabs = write("two-tabs.tsv", "a sky\tsky\na\tb\tc\n");
    const emptyLabel = write("empty.tsv", "a sky\tsky\n\nb sun\t \n");
    const cls = ["train", "--model", "bert", "--task", "classify", ...TINY, "--max-iters", "1"];
    expectCleanFailure(
      qkv([...cls, "--data", noTab, "--out-dir", join(dir, "t1")]),
      /--data: .*no-tab\.tsv line 3: expected "text<TAB>label", found no tab/,
    );
    expectCleanFailure(
      qkv([...cls, "--data", twoTabs, "--out-dir", join(dir, "t2")]),
      /--data: .*two-tabs\.tsv line 2: .*found 2 tabs/,
    );
    expectCleanFailure(
      qkv([...cls, "--data", emptyLabel, "--out-dir", join(dir, "t3")]),
      /--data: .*empty\.tsv line 3: empty label/,
    );
    const unseen = write("unseen.tsv", "a sky\tsky\na cloud\tcloud\n");
    expectCleanFailure(
      qkv([...cls, "--data", trainTsv, "--val-data", unseen, "--out-dir", join(dir, "t4")]),
      /--val-data: .*unseen\.tsv line 2: label "cloud" is not one of the labels of/,
    );
    const ck = join(dir, "scratch", "last");
    mkdirSync(join(dir, "x"), { recursive: true });
    expectCleanFailure(
      qkv(["classify", "--checkpoint", ck, "--data", unseen]),
      /--data: .*unseen\.tsv line 2: label "cloud" is not one of the classifier's labels \(sea, sky, sun\)/,
    );
    expectCleanFailure(qkv(["eval", "--checkpoint", ck, "--data", noTab]), /--data: .*no-tab\.tsv line 3/);
    expectCleanFailure(
      qkv(["classify", "--checkpoint", ck]),
      /give one of --data <file\.tsv> or --text <text>/,
    );
    expectCleanFailure(
      qkv(["classify", "--checkpoint", hf, "--text", "x"]),
      /qkv classify needs a BERT classifier/,
    );
  });
});
