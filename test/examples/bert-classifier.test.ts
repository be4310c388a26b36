/** examples/bert-classifier.ts: it beats the majority-class baseline, on its template set, a user TSV, and from a saved BERT folder. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { score, split, templateExamples } from "../../examples/bert-classifier.js";
import { BertForMaskedLM, Generator, trainWordPiece } from "../../src/index.js";
import { savePretrained } from "../../src/node.js";
import { numbersAfter, runExample } from "./run-example.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-ex-bert-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** [accuracy, macro-F1, baseline accuracy, baseline macro-F1] from the script's last line. */
function scores(stdout: string): number[] {
  const acc = numbersAfter(stdout, "accuracy");
  const f1 = numbersAfter(stdout, "macro-F1");
  expect(acc).toHaveLength(2);
  return [acc[0], f1[0], acc[1], f1[1]];
}

describe("examples/bert-classifier", () => {
  it("scores by hand-checkable numbers", () => {
    // Class 0: tp 1, fp 1, fn 0 → F1 2/3; class 1: tp 2, fp 0, fn 1 → F1 4/5.
    const s = score([0, 0, 1, 1], [0, 1, 1, 1], 2);
    expect(s.accuracy).toBe(0.75);
    expect(s.macroF1).toBeCloseTo((2 / 3 + 4 / 5) / 2, 12);
  });

  it("builds an unbalanced template set and a disjoint split", () => {
    const rows = templateExamples(100, new Generator(0));
    expect(rows.filter((r) => r.label === "sports")).toHaveLength(50);
    expect(rows.filter((r) => r.label === "food")).toHaveLength(20);
    const { train, test } = split(rows, 0.2, new Generator(1));
    expect([train.length, test.length]).toEqual([80, 20]);
    expect(new Set([...train, ...test])).toEqual(new Set(rows));
  });

  it("from scratch on the template set: held-out accuracy and macro-F1 well above the majority baseline", () => {
    const r = runExample("bert-classifier.ts", ["--epochs", "6", "--hidden", "32", "--seed", "0"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [acc, f1, base, baseF1] = scores(r.stdout);
    expect(base).toBeGreaterThan(0.35); // the largest class is half the set
    expect(acc).toBeGreaterThan(base + 0.2);
    expect(f1).toBeGreaterThan(baseF1 + 0.2);
    const losses = numbersAfter(r.stdout, "train loss");
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
  }, 120_000);

  it("on a user TSV, starting from a saved BERT folder with its WordPiece tokenizer.json", async () => {
    const g = new Generator(3);
    const pos = ["good", "great", "lovely", "superb", "fine"];
    const neg = ["bad", "awful", "poor", "dreadful", "grim"];
    const lines: string[] = [];
    for (let i = 0; i < 160; i++) {
      const isPos = i % 3 !== 0; // two thirds positive
      const w = (isPos ? pos : neg)[g.randint(0, 5)];
      lines.push(`the film was ${w} and the music too\t${isPos ? "pos" : "neg"}`);
    }
    const data = join(dir, "reviews.tsv");
    writeFileSync(data, `${lines.join("\n")}\n`);
    const tok = trainWordPiece(lines.map((l) => l.split("\t")[0]).join("\n"), { vocabSize: 120 });
    const bert = join(dir, "bert");
    const config = {
      vocabSize: tok.vocabSize,
      hiddenSize: 32,
      numHiddenLayers: 1,
      numAttentionHeads: 2,
      intermediateSize: 64,
      hiddenAct: "gelu" as const,
      hiddenDropoutProb: 0.1,
      attentionProbsDropoutProb: 0.1,
      maxPositionEmbeddings: 64,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
    };
    await savePretrained(new BertForMaskedLM(config, { generator: new Generator(5) }), bert);
    writeFileSync(join(bert, "tokenizer.json"), JSON.stringify(tok.toJSON()));
    const r = runExample("bert-classifier.ts", [
      "--data",
      data,
      "--init-from",
      bert,
      "--epochs",
      "5",
      "--lr",
      "3e-3",
    ]);
    // The loader says which weights the MLM checkpoint lacked, as Hugging Face does.
    expect(r.stderr).toMatch(/newly initialised.*classifier\.weight/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`started from ${bert}`);
    expect(r.stdout).toMatch(/labels: neg, pos/);
    const [acc, , base] = scores(r.stdout);
    expect(acc).toBeGreaterThan(base);
  }, 120_000);

  it("names a malformed TSV line", () => {
    const bad = join(dir, "bad.tsv");
    writeFileSync(bad, "fine\tpos\nno label here\n");
    const r = runExample("bert-classifier.ts", ["--data", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.tsv line 2: expected "source<TAB>target"/);
  }, 60_000);
});
