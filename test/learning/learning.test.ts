// Learning checks that take minutes, not seconds: run by `npm run test:learning` (and in CI),
// kept out of `npm test` so the everyday suite stays under two minutes. They train through the
// CLI, as a user would, on the native backend when it is available.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadNativeBackend, nativeLoadError } from "../../src/backends/native/index.js";
import { qkv, ROOT } from "../cli/run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-learn-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { QKV_BACKEND: "native" };
// On the reference backend these runs take hours, so they need the native addon.
const native = loadNativeBackend() !== null;
if (!native) console.warn(`[test/learning] skipped: ${nativeLoadError()}`);

describe.skipIf(!native)("learning", () => {
  test("the encoder-decoder learns to reverse strings of up to 12 symbols (≥ 99% exact match, greedy)", () => {
    const r = qkv(
      [
        "train",
        "--model",
        "seq2seq",
        "--data",
        "reverse",
        "--max-iters",
        "1500",
        "--out-dir",
        join(dir, "s2s"),
        "--quiet",
      ],
      {
        env,
        timeoutMs: 900_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const m = /greedy exact match on (\d+) held-out pairs: ([\d.]+)%/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(1000);
    expect(Number(m![2])).toBeGreaterThanOrEqual(99);
  }, 900_000);

  test("masked-LM pretraining of BERT on Shakespeare beats the frequency baseline by a wide margin", () => {
    const r = qkv(
      [
        "train",
        "--model",
        "bert",
        "--max-iters",
        "1000",
        "--lr-decay-iters",
        "1000",
        "--eval-interval",
        "500",
        "--out-dir",
        join(dir, "bert"),
        "--quiet",
      ],
      { env, timeoutMs: 900_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const m =
      /masked-token accuracy on held-out text: ([\d.]+)% \(always predicting the most frequent token: ([\d.]+)%\)/.exec(
        r.stdout,
      );
    expect(m, r.stdout).not.toBeNull();
    const [acc, base] = [Number(m![1]), Number(m![2])];
    // Char-level MLM with absolute positions first learns the unigram distribution, then context;
    // by 1000 iterations it is ~1.5× the baseline (22% vs 14% measured).
    expect(acc).toBeGreaterThan(1.35 * base);
  }, 900_000);

  test("BERT pretrained briefly (masked-LM on the review texts), then fine-tuned to classify them, beats the majority class", () => {
    // data/classify (scripts/gen-classify-data.ts): positive / negative / neutral reviews where
    // "not" flips a clause and after "but" only the second clause counts.
    const trainTsv = join(ROOT, "data/classify/train.tsv");
    const testTsv = join(ROOT, "data/classify/test.tsv");
    const texts = join(dir, "review-texts.txt");
    const rows = readFileSync(trainTsv, "utf8").trim().split("\n");
    writeFileSync(texts, `${rows.map((r) => r.split("\t")[0]).join("\n")}\n`);
    const size = [
      "--n-layer",
      "2",
      "--n-head",
      "4",
      "--n-embd",
      "64",
      "--block-size",
      "80",
      "--batch-size",
      "32",
    ];
    const pre = qkv(
      [
        "train",
        "--model",
        "bert",
        "--data",
        texts,
        ...size,
        "--max-iters",
        "800",
        "--lr-decay-iters",
        "800",
        "--eval-interval",
        "400",
        "--eval-iters",
        "10",
        "--out-dir",
        join(dir, "bert-pre"),
        "--quiet",
      ],
      { env, timeoutMs: 900_000 },
    );
    expect(pre.code, pre.stderr).toBe(0);
    const ft = qkv(
      [
        "train",
        "--model",
        "bert",
        "--task",
        "classify",
        "--init-from",
        join(dir, "bert-pre", "last"),
        "--data",
        trainTsv,
        "--val-data",
        testTsv,
        "--batch-size",
        "32",
        "--max-iters",
        "600",
        "--lr-decay-iters",
        "600",
        "--warmup-iters",
        "50",
        "--lr",
        "5e-4",
        "--eval-interval",
        "200",
        "--eval-iters",
        "4",
        "--out-dir",
        join(dir, "bert-cls"),
        "--quiet",
      ],
      { env, timeoutMs: 900_000 },
    );
    expect(ft.code, ft.stderr).toBe(0);
    const m =
      /validation accuracy: ([\d.]+)%, macro-F1: ([\d.]+) on 200 rows \(majority-class baseline: ([\d.]+)%\)/.exec(
        ft.stdout,
      );
    expect(m, ft.stdout).not.toBeNull();
    const [acc, f1, base] = [Number(m![1]), Number(m![2]), Number(m![3])];
    console.log(
      `[test/learning] review classification: accuracy ${acc}%, macro-F1 ${f1}, majority-class baseline ${base}%`,
    );
    // Measured (native, 2 threads): 54.5% accuracy, macro-F1 0.54, against a 40.5% baseline
    // (train.tsv's majority label, negative, on test.tsv); across seeds 54.5–62.5%
    // (scripts/compare-classify.sh). The margins leave room for other CPUs' rounding.
    expect(acc).toBeGreaterThanOrEqual(base + 10);
    expect(f1).toBeGreaterThanOrEqual(0.5);
    // HF Trainer fine-tuning the same kind of qkv-pretrained folder on the same data with the same
    // settings (scripts/compare-classify.sh, 3 seeds): 54.8% mean accuracy, against qkv's 57.2%
    // in the same run. qkv must stay within 5 points of it.
    const hf = JSON.parse(readFileSync(join(ROOT, "test/fixtures/classify/hf-trainer.json"), "utf8")) as {
      hf_mean_accuracy: number;
      majority_accuracy: number;
    };
    expect(hf.majority_accuracy).toBe(base); // the same data and the same baseline
    expect(acc).toBeGreaterThanOrEqual(hf.hf_mean_accuracy - 5);
  }, 900_000);
});
