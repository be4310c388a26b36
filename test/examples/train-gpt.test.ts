/** examples/train-gpt.ts run as a user runs it: the loss falls, and the saved folder reloads and samples. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseFlags } from "../../examples/flags.js";
import { DEFAULTS, sampleFolder } from "../../examples/train-gpt.js";
import { numbersAfter, runExample } from "./run-example.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-ex-gpt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TINY = ["--steps", "60", "--eval-every", "20", "--eval-iters", "2", "--chars", "20000"];
const SMALL_MODEL = ["--block-size", "32", "--n-embd", "32", "--max-new-tokens", "30", "--prompt", "ROMEO:"];

describe("examples/train-gpt", () => {
  it("trains a char GPT on the bundled text: val loss falls, the folder reloads and samples what it printed", async () => {
    const out = join(dir, "char");
    const r = runExample("train-gpt.ts", [...TINY, ...SMALL_MODEL, "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const val = numbersAfter(r.stdout, "val loss");
    expect(val).toHaveLength(4); // steps 0, 20, 40, 60
    expect(val[0]).toBeGreaterThan(3.5); // ≈ ln(vocab) at init
    expect(val[3]).toBeLessThan(val[0] - 0.5);
    for (const f of ["config.json", "model.safetensors", "tokenizer.json"])
      expect(existsSync(join(out, f))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).model_type).toBe("gpt2");
    // The same seed through the library directly gives the sample the script printed.
    const o = { ...DEFAULTS, prompt: "ROMEO:", maxNewTokens: 30 };
    const text = await sampleFolder(out, o, () => {});
    expect(text.length).toBeGreaterThan(0);
    expect(r.stdout).toContain(`ROMEO:${text}\n`);
  }, 120_000);

  it("trains a BPE GPT on the user's file", () => {
    const data = join(dir, "text.txt");
    writeFileSync(data, "the cat sat on the mat and the dog sat on the log. ".repeat(200));
    const out = join(dir, "bpe");
    const r = runExample("train-gpt.ts", [
      ...TINY,
      ...SMALL_MODEL,
      "--data",
      data,
      "--tokenizer",
      "bpe",
      "--vocab-size",
      "300",
      "--prompt",
      "the cat",
      "--out",
      out,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/bpe tokens, vocab \d+/);
    const val = numbersAfter(r.stdout, "val loss");
    expect(val.at(-1)!).toBeLessThan(val[0] / 2);
    expect(JSON.parse(readFileSync(join(out, "tokenizer.json"), "utf8")).model.type).toBe("BPE");
  }, 120_000);

  it("names a bad flag", () => {
    expect(() => parseFlags(["--stepz", "3"], DEFAULTS)).toThrow(/unknown flag --stepz.*--steps/);
    expect(() => parseFlags(["--steps", "many"], DEFAULTS)).toThrow(/--steps must be a number/);
    const r = runExample("train-gpt.ts", ["--tokenizer", "words"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--tokenizer must be char or bpe/);
  }, 60_000);
});
