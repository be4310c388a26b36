/**
 * `qkv train --model seq2seq --init-from <bart folder>` on a TSV of pairs: the run fine-tunes the
 * BART fixture with its tokenizer.json (loss falls from the first evaluation), and the checkpoint
 * folder is a BART folder again (config, generation_config.json, weights) that qkv reloads.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { BartForConditionalGeneration } from "../../src/index.js";
import { fromPretrained } from "../../src/node.js";
import { qkv } from "../cli/run-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "qkv-bart-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it("fine-tunes a BART folder on TSV pairs and saves a BART folder", async () => {
  // 40 distinct pairs: three words and the same words reversed.
  const words = "the quick brown fox jumps over lazy dog cat sat mat hello".split(" ");
  const lines: string[] = [];
  for (let i = 0; lines.length < 40; i++) {
    const s = [words[i % 12], words[Math.floor(i / 12) % 12], words[(i * 7 + 3) % 12]];
    const line = `${s.join(" ")}\t${[...s].reverse().join(" ")}`;
    if (!lines.includes(line)) lines.push(line);
  }
  const data = join(tmp, "pairs.tsv");
  writeFileSync(data, `${lines.join("\n")}\n`);
  const out = join(tmp, "run");
  const r = qkv(
    [
      "train",
      "--model",
      "seq2seq",
      "--init-from",
      "test/fixtures/bart/tiny",
      "--data",
      data,
      "--max-iters",
      "16",
      "--eval-interval",
      "8",
      "--eval-iters",
      "2",
      "--batch-size",
      "8",
      "--lr",
      "2e-3",
      "--warmup-iters",
      "2",
      "--lr-decay-iters",
      "16",
      "--out-dir",
      out,
      "--quiet",
    ],
    // the native backend when it loads (the reference one is slow for a training run)
    { timeoutMs: 300_000, env: { QKV_BACKEND: "auto" } },
  );
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/greedy exact match on \d+ held-out pairs/);
  const evals = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((e) => e.type === "eval");
  expect(evals.at(-1).trainLoss).toBeLessThan(evals[0].trainLoss * 0.8);
  const cfg = JSON.parse(readFileSync(join(out, "last", "config.json"), "utf8"));
  expect(cfg.model_type).toBe("bart");
  expect(readFileSync(join(out, "last", "config.json"), "utf8")).toMatch(/"attention_dropout": 0\.0/);
  const back = await fromPretrained(BartForConditionalGeneration, join(out, "last"));
  expect(back.generationConfig?.num_beams).toBe(4);
  const tok = JSON.parse(readFileSync(join(out, "last", "tokenizer.json"), "utf8"));
  expect(tok.post_processor.type).toBe("RobertaProcessing");
}, 320_000);

it("refuses --init-from for other model families and non-BART folders", () => {
  const a = qkv(["train", "--model", "gpt", "--init-from", "test/fixtures/bart/tiny", "--max-iters", "1"]);
  expect(a.code).not.toBe(0);
  expect(a.stderr).toMatch(/--init-from/);
  const b = qkv([
    "train",
    "--model",
    "seq2seq",
    "--init-from",
    "test/fixtures/hf/gpt2-tiny",
    "--data",
    "reverse",
    "--max-iters",
    "1",
    "--out-dir",
    join(tmp, "x"),
  ]);
  expect(b.code).not.toBe(0);
  expect(b.stderr).toMatch(/only "bart" folders/);
});
