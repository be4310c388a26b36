// The CLI's bad-input table: each hostile or mistaken invocation must end with one line naming
// the problem (a flag, file or field), the documented exit code (cli/errors.ts EXIT, README) and
// no stack trace. The table is written to $QKV_BAD_INPUT_TABLE (default: the temp folder) and
// printed, so the closing note can quote it.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { qkv } from "./run-cli.js";

// The documented exit codes (README, `qkv --help`, cli/errors.ts EXIT; cli.test.ts checks the
// three agree). Written out here so this file also runs against older code, to show which
// cases failed before the fixes.
const EXIT = { usage: 2, badInput: 3, runFolder: 4, nonFinite: 5 } as const;

const dir = mkdtempSync(join(tmpdir(), "qkv-bad-"));
const text = join(dir, "small.txt");
const base = join(dir, "base"); // a trained run; cases copy it and break one thing
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

/** A copy of the base run with `edit` applied to its last/ checkpoint; returns the run folder. */
function brokenRun(name: string, edit: (last: string) => void): string {
  const run = join(dir, name);
  cpSync(base, run, { recursive: true });
  edit(join(run, "last"));
  return run;
}

function editJson(file: string, f: (v: Record<string, unknown>) => unknown): void {
  writeFileSync(file, JSON.stringify(f(JSON.parse(readFileSync(file, "utf8")))));
}

interface Case {
  name: string;
  /** Arguments, or a function that prepares files and returns them. */
  args: () => string[];
  code: number;
  /** What the message must say: the flag, file or field at fault. */
  names: RegExp;
  /** The issue-12 defect this case is the regression test of. */
  defect?: number;
}

const tiny = ["--preset", "tiny", "--eval-iters", "1", "--sample-tokens", "0"];
const cases: Case[] = [
  // ---- flags (usage, exit 2) ----------------------------------------------------------------
  { name: "unknown flag", args: () => ["train", "--n-layers", "3"], code: EXIT.usage, names: /--n-layers/ },
  { name: "unknown command", args: () => ["fly"], code: EXIT.usage, names: /unknown command 'fly'/ },
  { name: "missing required flag", args: () => ["sample"], code: EXIT.usage, names: /--checkpoint/ },
  {
    name: "non-numeric --lr",
    args: () => ["train", "--lr", "fast"],
    code: EXIT.usage,
    names: /--lr expects a number/,
  },
  {
    name: "fractional --n-layer",
    args: () => ["train", "--n-layer", "2.5"],
    code: EXIT.usage,
    names: /--n-layer expects an integer/,
  },
  {
    name: "--batch-size 2^53+1",
    args: () => ["train", "--batch-size", "9007199254740993"],
    code: EXIT.usage,
    names: /--batch-size is too large/,
    defect: 1,
  },
  {
    name: "--batch-size 100000000",
    args: () => ["train", "--batch-size", "100000000"],
    code: EXIT.usage,
    names: /--batch-size must be ≤ 1048576/,
    defect: 1,
  },
  {
    name: "--max-iters 1e15",
    args: () => ["train", "--max-iters", "1e15"],
    code: EXIT.usage,
    names: /--max-iters must be ≤ 1000000000/,
    defect: 1,
  },
  {
    name: "--sample-tokens 1e308",
    args: () => ["train", "--sample-tokens", "1e308"],
    code: EXIT.usage,
    names: /--sample-tokens is too large/,
    defect: 12,
  },
  {
    name: "run too big for memory",
    args: () => ["train", "--batch-size", "4096", "--block-size", "8192", "--out-dir", join(dir, "mem")],
    code: EXIT.usage,
    names: /--(batch-size|block-size): (one tensor of this run|this run needs)/,
    defect: 1,
  },
  {
    name: "--n-layer 50256",
    args: () => ["train", "--n-layer", "50256"],
    code: EXIT.usage,
    names: /--n-layer must be ≤ 1024/,
    defect: 2,
  },
  {
    name: "--n-embd not divisible",
    args: () => ["train", "--n-embd", "30", "--n-head", "4"],
    code: EXIT.usage,
    names: /--n-head: nEmbd \(30\)/,
  },
  {
    name: "--dropout 1.5",
    args: () => ["train", "--dropout", "1.5"],
    code: EXIT.usage,
    names: /--dropout: dropout must be in \[0, 1\)/,
  },
  { name: "--beta2 1", args: () => ["train", "--beta2", "1"], code: EXIT.usage, names: /--beta2/ },
  {
    name: "--bias maybe",
    args: () => ["train", "--bias", "maybe"],
    code: EXIT.usage,
    names: /--bias expects true or false/,
  },
  {
    name: "unknown preset",
    args: () => ["train", "--preset", "huge"],
    code: EXIT.usage,
    names: /--preset: unknown preset "huge"/,
  },
  { name: "unknown model", args: () => ["train", "--model", "rnn"], code: EXIT.usage, names: /--model.*rnn/ },
  {
    name: "unknown backend",
    args: () => ["train", "--backend", "gpu"],
    code: EXIT.usage,
    names: /--backend must be auto, native, wasm, cpu; got "gpu"/,
  },
  {
    name: "--threads 0",
    args: () => ["train", "--threads", "0"],
    code: EXIT.usage,
    names: /--threads must be ≥ 1/,
  },
  { name: "--on-nan maybe", args: () => ["train", "--on-nan", "maybe"], code: EXIT.usage, names: /--on-nan/ },
  {
    name: "--resume with --overwrite",
    args: () => ["train", "--resume", "--overwrite"],
    code: EXIT.usage,
    names: /--resume and --overwrite/,
  },
  {
    name: "--resume changing --n-layer",
    args: () => ["train", "--resume", "--out-dir", brokenRun("chg", () => {}), "--n-layer", "3"],
    code: EXIT.usage,
    names: /--n-layer: cannot change nLayer when resuming/,
  },
  {
    name: "--top-p 0",
    args: () => ["sample", "--checkpoint", join(base, "last"), "--top-p", "0"],
    code: EXIT.usage,
    names: /--top-p must be in \(0, 1\]/,
    defect: 12,
  },
  {
    name: "--top-p 1.5",
    args: () => ["sample", "--checkpoint", join(base, "last"), "--top-p", "1.5"],
    code: EXIT.usage,
    names: /--top-p must be in \(0, 1\]/,
  },
  {
    name: "--repetition-penalty 0",
    args: () => ["sample", "--checkpoint", join(base, "last"), "--repetition-penalty", "0"],
    code: EXIT.usage,
    names: /--repetition-penalty must be in \(0, /,
    defect: 12,
  },
  {
    name: "--max-new-tokens 0",
    args: () => ["sample", "--checkpoint", join(base, "last"), "--max-new-tokens", "0"],
    code: EXIT.usage,
    names: /--max-new-tokens must be ≥ 1/,
  },
  {
    name: "--dtype int4",
    args: () => ["sample", "--checkpoint", join(base, "last"), "--dtype", "int4"],
    code: EXIT.usage,
    names: /--dtype <type>' argument 'int4' is invalid\. Allowed choices are fp32, bf16, int8/,
  },
  {
    name: "--temperature -1",
    args: () => ["sample", "--checkpoint", join(base, "last"), "--temperature", "-1"],
    code: EXIT.usage,
    names: /--temperature must be in \[0, /,
  },
  {
    name: "eval --batch-size 0",
    args: () => ["eval", "--checkpoint", join(base, "last"), "--data", text, "--batch-size", "0"],
    code: EXIT.usage,
    names: /--batch-size must be ≥ 1/,
  },
  {
    name: "tokenizer --vocab-size 100",
    args: () => ["tokenizer", "train", "--data", text, "--out", join(dir, "t.json"), "--vocab-size", "100"],
    code: EXIT.usage,
    names: /--vocab-size must be ≥ 257/,
  },
  {
    name: "decode id out of range",
    args: () => ["tokenizer", "decode", "--tokenizer", join(base, "last"), "99999"],
    code: EXIT.usage,
    names: /token id "99999"/,
  },
  {
    name: "--config with an out-of-range field",
    args: () => {
      writeFileSync(join(dir, "big.json"), '{"batchSize": 9007199254740993}');
      return ["train", "--config", join(dir, "big.json")];
    },
    code: EXIT.usage,
    names: /--batch-size: batchSize must be ≤ .*big\.json/,
    defect: 1,
  },
  {
    name: "--config with a prototype key",
    args: () => {
      writeFileSync(join(dir, "proto.json"), '{"constructor": 1}');
      return ["train", "--config", join(dir, "proto.json")];
    },
    code: EXIT.usage,
    names: /unknown config field "constructor"/,
    defect: 5,
  },
  {
    name: "--config with an unknown field",
    args: () => {
      writeFileSync(join(dir, "unk.json"), '{"nLayers": 2}');
      return ["train", "--config", join(dir, "unk.json")];
    },
    code: EXIT.usage,
    names: /unknown config field "nLayers"/,
  },
  // ---- files (bad input, exit 3) ------------------------------------------------------------
  {
    name: "--config not JSON",
    args: () => {
      writeFileSync(join(dir, "bad.json"), "{ nLayer: 2 ");
      return ["train", "--config", join(dir, "bad.json")];
    },
    code: EXIT.badInput,
    names: /--config: .*bad\.json is not valid JSON/,
  },
  {
    name: "--config nested 5000 deep",
    args: () => {
      writeFileSync(join(dir, "deep.json"), `{"a":${deep(5000)}}`);
      return ["train", "--config", join(dir, "deep.json")];
    },
    code: EXIT.badInput,
    names: /deep\.json: JSON nests deeper than 64 levels/,
    defect: 6,
  },
  {
    name: "--config an array",
    args: () => {
      writeFileSync(join(dir, "arr.json"), "[1]");
      return ["train", "--config", join(dir, "arr.json")];
    },
    code: EXIT.badInput,
    names: /--config: .*arr\.json must hold a JSON object/,
  },
  {
    name: "--config missing",
    args: () => ["train", "--config", join(dir, "nope.json")],
    code: EXIT.badInput,
    names: /--config: cannot read .*nope\.json: it does not exist/,
  },
  {
    name: "--data missing",
    args: () => ["train", ...tiny, "--data", join(dir, "nope.txt"), "--out-dir", join(dir, "nodata")],
    code: EXIT.badInput,
    names: /nope\.txt/,
  },
  {
    name: "--out-dir is a file",
    args: () => {
      writeFileSync(join(dir, "afile"), "x");
      return ["train", "--out-dir", join(dir, "afile")];
    },
    code: EXIT.badInput,
    names: /--out-dir: .*afile .*is a file, not a folder/,
    defect: 12,
  },
  {
    name: "--resume without checkpoint",
    args: () => ["train", "--resume", "--out-dir", join(dir, "empty")],
    code: EXIT.badInput,
    names: /--resume: no checkpoint in/,
  },
  {
    name: "--checkpoint missing",
    args: () => ["sample", "--checkpoint", join(dir, "missing")],
    code: EXIT.badInput,
    names: /--checkpoint: .*missing does not exist/,
  },
  {
    name: "--checkpoint is a file",
    args: () => ["info", "--checkpoint", text],
    code: EXIT.badInput,
    names: /--checkpoint: .*small\.txt is not a folder/,
  },
  {
    name: "eval --data missing",
    args: () => ["eval", "--checkpoint", join(base, "last"), "--data", join(dir, "nope.txt")],
    code: EXIT.badInput,
    names: /--data: .*nope\.txt/,
  },
  {
    name: "config.json n_positions 1e7",
    args: () => [
      "info",
      "--checkpoint",
      join(
        brokenRun("npos", (l) =>
          editJson(join(l, "config.json"), (c) => ({ ...c, n_positions: 10_000_000 })),
        ),
        "last",
      ),
    ],
    code: EXIT.badInput,
    names: /config\.json: "n_positions", "n_embd" disagree with the weights/,
    defect: 2,
  },
  {
    name: "config.json n_embd 65536",
    args: () => [
      "info",
      "--checkpoint",
      join(
        brokenRun("nembd", (l) => editJson(join(l, "config.json"), (c) => ({ ...c, n_embd: 65536 }))),
        "last",
      ),
    ],
    code: EXIT.badInput,
    names: /config\.json: "vocab_size", "n_embd" disagree with the weights/,
    defect: 2,
  },
  {
    name: "config.json n_layer 50256",
    args: () => [
      "sample",
      "--checkpoint",
      join(
        brokenRun("nlayer", (l) => editJson(join(l, "config.json"), (c) => ({ ...c, n_layer: 50256 }))),
        "last",
      ),
    ],
    code: EXIT.badInput,
    names: /config\.json: field "n_layer" must be an integer in \[1, 4096\]/,
    defect: 2,
  },
  {
    name: "config.json n_inner 1e400",
    args: () => {
      const run = brokenRun("ninner", (l) => {
        const f = join(l, "config.json");
        writeFileSync(f, readFileSync(f, "utf8").replace('"n_inner": null', '"n_inner": 1e400'));
      });
      return ["info", "--checkpoint", join(run, "last")];
    },
    code: EXIT.badInput,
    names: /config\.json: field "n_inner" must be an integer .* got Infinity/,
    defect: 2,
  },
  {
    name: "config.json nested 5000 deep",
    args: () => [
      "info",
      "--checkpoint",
      join(
        brokenRun("cdeep", (l) => writeFileSync(join(l, "config.json"), deep(5000))),
        "last",
      ),
    ],
    code: EXIT.badInput,
    names: /config\.json: JSON nests deeper than 64 levels/,
    defect: 6,
  },
  {
    name: "tokenizer.json nested 5000 deep",
    args: () => [
      "info",
      "--checkpoint",
      join(
        brokenRun("tdeep", (l) => writeFileSync(join(l, "tokenizer.json"), `{"model":${deep(5000)}}`)),
        "last",
      ),
    ],
    code: EXIT.badInput,
    names: /tokenizer\.json: JSON nests deeper than 64 levels/,
    defect: 6,
  },
  {
    name: "tokenizer encode, deep file",
    args: () => {
      writeFileSync(join(dir, "tokdeep.json"), deep(5000));
      return ["tokenizer", "encode", "--tokenizer", join(dir, "tokdeep.json"), "hi"];
    },
    code: EXIT.badInput,
    names: /--tokenizer: .*tokdeep\.json.*JSON nests deeper than 64 levels/,
    defect: 6,
  },
  {
    name: "trainer_state.json = null",
    args: () => [
      "info",
      "--checkpoint",
      join(
        brokenRun("stnull", (l) => writeFileSync(join(l, "trainer_state.json"), "null")),
        "last",
      ),
    ],
    code: EXIT.badInput,
    names: /trainer_state\.json: field "\(top level\)" must be an object, got null/,
    defect: 5,
  },
  {
    name: 'bestValLoss "low"',
    args: () => [
      "train",
      "--resume",
      "--out-dir",
      brokenRun("stlow", (l) =>
        editJson(join(l, "trainer_state.json"), (s) => ({ ...s, bestValLoss: "low" })),
      ),
    ],
    code: EXIT.badInput,
    names: /trainer_state\.json: field "bestValLoss" must be a number/,
    defect: 5,
  },
  {
    name: "trainer_state.json bad rng",
    args: () => [
      "train",
      "--resume",
      "--out-dir",
      brokenRun("strng", (l) =>
        editJson(join(l, "trainer_state.json"), (s) => ({ ...s, rng: { s: [1, 2, 3] } })),
      ),
    ],
    code: EXIT.badInput,
    names: /trainer_state\.json: field "rng\.s" must be an array of 4 items/,
    defect: 5,
  },
  {
    name: "optimizer.json expAvg = 7",
    args: () => [
      "train",
      "--resume",
      "--out-dir",
      brokenRun("opt7", (l) =>
        editJson(join(l, "optimizer.json"), (o) => {
          (o.state as Record<string, Record<string, unknown>>)["0"].expAvg = 7;
          return o;
        }),
      ),
    ],
    code: EXIT.badInput,
    names: /optimizer\.json: field "state\.0\.expAvg" must be a tensor/,
    defect: 5,
  },
  {
    name: "optimizer.json missing paramGroups",
    args: () => [
      "train",
      "--resume",
      "--out-dir",
      brokenRun("optpg", (l) => editJson(join(l, "optimizer.json"), (o) => ({ state: o.state }))),
    ],
    code: EXIT.badInput,
    names: /optimizer\.json: field "paramGroups" must be an array/,
    defect: 5,
  },
  {
    name: "train_config.json sampleTokens 1e308",
    args: () => [
      "train",
      "--resume",
      "--out-dir",
      brokenRun("tcsample", (l) =>
        editJson(join(l, "train_config.json"), (c) => ({ ...c, sampleTokens: 1e308 })),
      ),
    ],
    code: EXIT.badInput,
    names: /--sample-tokens: sampleTokens must be ≤ 1000000, got 1e\+308 \(from .*train_config\.json\)/,
    defect: 12,
  },
  {
    name: "train_config.json batchSize 2^53",
    args: () => [
      "train",
      "--resume",
      "--out-dir",
      brokenRun("tcbatch", (l) =>
        editJson(join(l, "train_config.json"), (c) => ({ ...c, batchSize: 2 ** 53 })),
      ),
    ],
    code: EXIT.badInput,
    names: /--batch-size: batchSize must be ≤ 1048576, got \d+ \(from .*train_config\.json\)/,
    defect: 1,
  },
  {
    name: "train_config.json model null (info)",
    args: () => [
      "info",
      "--checkpoint",
      join(
        brokenRun("tcmodel", (l) => editJson(join(l, "train_config.json"), (c) => ({ ...c, model: null }))),
        "last",
      ),
    ],
    code: EXIT.badInput,
    names: /train_config\.json: field "model" must be one of "gpt", "bert", "seq2seq", got null/,
    defect: 5,
  },
  {
    name: "tokenizer train --out in a missing folder",
    args: () => ["tokenizer", "train", "--data", text, "--out", join(dir, "no", "such", "tok.json")],
    code: EXIT.badInput,
    names: /--out: the folder .*such does not exist/,
    defect: 12,
  },
  {
    name: "tokenizer train --out a folder",
    args: () => ["tokenizer", "train", "--data", text, "--out", dir],
    code: EXIT.badInput,
    names: /--out: .* is a folder; give a file name/,
    defect: 12,
  },
  // ---- run folders (exit 4) -----------------------------------------------------------------
  {
    name: "fresh train into an existing run",
    args: () => ["train", ...tiny, "--data", text, "--out-dir", brokenRun("exists", () => {})],
    code: EXIT.runFolder,
    names:
      /--out-dir: .*exists already holds a run \(last, best, metrics\.jsonl\); continue it with --resume, replace it with --overwrite/,
    defect: 3,
  },
  {
    name: "run folder locked by a live process",
    args: () => {
      const run = brokenRun("locked", () => {});
      // pid 1 always runs; the lock names it.
      writeFileSync(
        join(run, ".qkv-lock"),
        JSON.stringify({ pid: 1, host: hostname(), started: "2026-01-01T00:00:00Z", command: "qkv train" }),
      );
      return ["train", "--resume", "--out-dir", run];
    },
    code: EXIT.runFolder,
    names: /--out-dir: .*locked is in use by another qkv process \(qkv train, pid 1 on /,
    defect: 9,
  },
  // ---- training (exit 5) --------------------------------------------------------------------
  {
    name: "--lr 1e6 (NaN/Inf)",
    args: () => [
      "train",
      ...tiny,
      "--data",
      text,
      "--lr",
      "1e6",
      "--max-iters",
      "20",
      "--eval-interval",
      "5",
      "--out-dir",
      join(dir, "nan"),
    ],
    code: EXIT.nonFinite,
    names:
      /training stopped: non-finite (loss|gradient of [\w.]+|parameter [\w.]+) at iteration \d+ \(--on-nan stop/,
    defect: 4,
  },
];

const rows: string[] = [];

describe("the CLI's bad-input table", () => {
  beforeAll(() => {
    writeFileSync(text, "First Citizen:\nBefore we proceed any further, hear me speak.\n".repeat(200));
    mkdirSync(join(dir, "empty"));
    const r = qkv([
      "train",
      ...tiny,
      "--data",
      text,
      "--max-iters",
      "2",
      "--eval-interval",
      "1",
      "--out-dir",
      base,
    ]);
    if (r.code !== 0) throw new Error(`training the base run failed: ${r.stderr}`);
  }, 120_000);

  afterAll(() => {
    const table = [
      `| # | case | command | exit | message (first line) |`,
      `|---|---|---|---|---|`,
      ...rows,
    ].join("\n");
    const out = process.env.QKV_BAD_INPUT_TABLE ?? join(tmpdir(), "qkv-bad-input-table.md");
    writeFileSync(out, `${table}\n`);
    console.log(`${rows.length} bad-input cases (table in ${out}):\n${table}`);
  });

  test("at least 40 cases", () => expect(cases.length).toBeGreaterThanOrEqual(40));

  cases.forEach((c, i) => {
    test(`${c.name}${c.defect ? ` (defect ${c.defect})` : ""}`, () => {
      const args = c.args();
      const r = qkv(args, { timeoutMs: 120_000 });
      const first =
        r.stderr.split("\n").find((l) => l.startsWith("qkv: ") || l.startsWith("error: ")) ??
        r.stderr.split("\n")[0];
      const shown = args.map((a) => a.replaceAll(dir, "$TMP")).join(" ");
      rows.push(
        `| ${i + 1} | ${c.name} | \`qkv ${shown.replace(/\|/g, "\\|")}\` | ${r.code} | ${first.replaceAll(dir, "$TMP").replace(/\|/g, "\\|").slice(0, 160)} |`,
      );
      expect(r.code, r.stderr).toBe(c.code);
      expect(r.stderr).toMatch(c.names);
      expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/); // no stack trace
      expect(r.stderr).not.toMatch(/internal error|TypeError|RangeError|Maximum call stack/);
    }, 120_000);
  });
});
