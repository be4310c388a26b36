/** examples/seq2seq.ts: on reversal the held-out loss falls and decodes beat chance; a user TSV trains too. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CharVocab } from "../../examples/seq2seq.js";
import { numbersAfter, runExample } from "./run-example.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-ex-s2s-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TINY = [
  "--examples",
  "600",
  "--max-len",
  "5",
  "--d-model",
  "32",
  "--layers",
  "1",
  "--eval-every",
  "100",
];

describe("examples/seq2seq", () => {
  it("keeps three special ids before the characters and round-trips text", () => {
    const v = new CharVocab(["cab", "bca"]);
    expect(v.size).toBe(6);
    expect(v.encode("abc")).toEqual([3, 4, 5]);
    expect(v.decode([1, 5, 4, 2, 0])).toBe("cb");
    expect(() => v.encode("abz")).toThrow(/"z" is not in the training data/);
  });

  it("learns reversal: val loss falls, greedy and beam decodes beat chance by far", () => {
    const r = runExample("seq2seq.ts", [...TINY, "--steps", "200", "--beam", "3", "--show", "3"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const vocab = numbersAfter(r.stdout, "vocab")[0];
    expect(vocab).toBe(13); // 10 letters + pad, bos, eos
    const val = numbersAfter(r.stdout, "val loss");
    expect(val).toHaveLength(3); // steps 0, 100, 200
    expect(val[2]).toBeLessThan(val[0] / 2);
    const tokenAcc = numbersAfter(r.stdout, "token accuracy");
    expect(tokenAcc).toHaveLength(2); // greedy, beam
    for (const a of tokenAcc) expect(a).toBeGreaterThan(3 / vocab); // chance is 1/vocab
    expect(r.stdout).toMatch(/beam 3: exact match [\d.]+/);
    expect(r.stdout.match(/^ {2}\w+ → /gm)).toHaveLength(3);
  }, 240_000);

  it("trains on a user TSV and names a malformed line", () => {
    const lines = ["ab\tAB", "ba\tBA", "abba\tABBA", "baab\tBAAB", "aab\tAAB", "bba\tBBA"];
    const data = join(dir, "upper.tsv");
    writeFileSync(data, `${Array.from({ length: 20 }, () => lines.join("\n")).join("\n")}\n`);
    const r = runExample("seq2seq.ts", [
      "--data",
      data,
      ...TINY,
      "--steps",
      "100",
      "--eval-every",
      "50",
      "--beam",
      "1",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/120 pairs \(108 train, 12 held out\), vocab 7, e\.g\. ab → AB/);
    const val = numbersAfter(r.stdout, "val loss");
    expect(val.at(-1)!).toBeLessThan(val[0]);
    expect(r.stdout).not.toMatch(/beam/);
    const bad = join(dir, "bad.tsv");
    writeFileSync(bad, "ab\tAB\nab\tA\tB\n");
    const b = runExample("seq2seq.ts", ["--data", bad]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/bad\.tsv line 2: .*found 2 tabs/);
  }, 240_000);
});
