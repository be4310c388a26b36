// Run-folder safety: every command repairs a checkpoint left mid-swap and removes temp folders
// of killed writers; a lock keeps a second writer out and is taken over when its holder is dead;
// a fresh train never replaces an earlier run without --overwrite.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { qkv, qkvSpawn } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-runs-"));
const text = join(dir, "small.txt");
const base = join(dir, "base");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const train = (out: string, ...more: string[]) => [
  "train",
  "--preset",
  "tiny",
  "--data",
  text,
  "--eval-iters",
  "1",
  "--sample-tokens",
  "0",
  "--quiet",
  "--out-dir",
  out,
  ...more,
];

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "0"]);
  return r.pid as number;
}

function copyRun(name: string): string {
  const run = join(dir, name);
  cpSync(base, run, { recursive: true });
  return run;
}

beforeAll(() => {
  writeFileSync(text, "First Citizen:\nBefore we proceed any further, hear me speak.\n".repeat(200));
  const r = qkv(train(base, "--max-iters", "2", "--eval-interval", "1"));
  if (r.code !== 0) throw new Error(`base run failed: ${r.stderr}`);
}, 120_000);

describe("mid-swap checkpoints are recovered by every command (defect 8)", () => {
  const commands: [string, (ck: string) => string[]][] = [
    ["info", (ck) => ["info", "--checkpoint", ck]],
    ["tokenizer encode", (ck) => ["tokenizer", "encode", "--tokenizer", ck, "First"]],
    ["sample", (ck) => ["sample", "--checkpoint", ck, "--max-new-tokens", "3"]],
    ["eval", (ck) => ["eval", "--checkpoint", ck, "--data", text, "--max-batches", "1"]],
  ];
  for (const [name, args] of commands) {
    test(`${name} on last/ moved to last.qkv-old and best/ to best.qkv-old`, () => {
      const run = copyRun(`swap-${name.replace(" ", "-")}`);
      renameSync(join(run, "last"), join(run, "last.qkv-old"));
      renameSync(join(run, "best"), join(run, "best.qkv-old"));
      const r = qkv(args(join(run, "last")));
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(join(run, "last", "model.safetensors"))).toBe(true);
      expect(existsSync(join(run, "best", "model.safetensors"))).toBe(true);
      expect(readdirSync(run).filter((n) => n.includes("qkv-old"))).toEqual([]);
    }, 120_000);
  }

  test("a leftover .qkv-old beside a complete folder is removed", () => {
    const run = copyRun("swap-leftover");
    cpSync(join(run, "last"), join(run, "last.qkv-old"), { recursive: true });
    expect(qkv(["info", "--checkpoint", join(run, "last")]).code).toBe(0);
    expect(existsSync(join(run, "last.qkv-old"))).toBe(false);
  }, 120_000);
});

describe("temp folders of killed writes are removed (defect 9)", () => {
  test("info removes a dead writer's temp folders and files, and keeps a live one's", () => {
    const run = copyRun("temps");
    const dead = deadPid();
    mkdirSync(join(run, `.last.tmp-${dead}-0-3`));
    writeFileSync(join(run, `.last.tmp-${dead}-0-3`, "config.json"), "{");
    mkdirSync(join(run, `.best.tmp-${dead}-0-1`));
    writeFileSync(join(run, "cache", `.abc.bin.tmp-${dead}-0-2`), "x");
    writeFileSync(join(run, `.qkv-lock.tmp-${dead}`), "x");
    mkdirSync(join(run, `.last.tmp-${process.pid}-0-9`)); // this test process is alive
    const r = qkv(["info", "--checkpoint", join(run, "best")]);
    expect(r.code, r.stderr).toBe(0);
    expect(
      readdirSync(run)
        .filter((n) => n.includes(".tmp-"))
        .sort(),
    ).toEqual([`.last.tmp-${process.pid}-0-9`]);
    expect(readdirSync(join(run, "cache")).filter((n) => n.includes(".tmp-"))).toEqual([]);
  }, 120_000);
});

describe("the run-folder lock (defect 9)", () => {
  test("a stale lock (holder killed) is taken over, and released at the end", () => {
    const run = copyRun("stale");
    writeFileSync(
      join(run, ".qkv-lock"),
      JSON.stringify({ pid: deadPid(), host: hostname(), started: "x", command: "qkv train" }),
    );
    const r = qkv(train(run, "--resume", "--max-iters", "3"));
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(run, ".qkv-lock"))).toBe(false);
  }, 120_000);

  test("a second writer is refused while the first holds the lock, naming its pid", async () => {
    const run = join(dir, "two");
    const pauseFile = join(dir, "two.paused");
    // The first writer pauses inside its first checkpoint write (after model.safetensors).
    const first = qkvSpawn(train(run, "--max-iters", "4", "--eval-interval", "2"), {
      QKV_PAUSE_AT: "model",
      QKV_PAUSE_FILE: pauseFile,
    });
    try {
      const deadline = Date.now() + 100_000;
      while (!existsSync(pauseFile)) {
        if (Date.now() > deadline || first.exitCode !== null) throw new Error("first writer never paused");
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const args of [train(run, "--resume"), train(run, "--overwrite")]) {
        const r = qkv(args);
        expect(r.code).toBe(4);
        expect(r.stderr).toMatch(
          new RegExp(`in use by another qkv process \\(qkv train, pid ${first.pid} on `),
        );
      }
      // The reader leaves the writer's temp folder alone while the lock is live.
      expect(readdirSync(run).some((n) => n.startsWith(".best.tmp-"))).toBe(true);
      expect(qkv(["info", "--checkpoint", join(run, "best")]).code).toBe(3); // not written yet
      expect(readdirSync(run).some((n) => n.startsWith(".best.tmp-"))).toBe(true);
    } finally {
      first.kill("SIGKILL");
      await new Promise((r) => first.once("exit", r));
    }
    // Killed holder: the next writer takes over, cleans up and trains.
    const r = qkv(train(run, "--overwrite", "--max-iters", "2"));
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(run).filter((n) => n.includes(".tmp-") || n.startsWith(".qkv-lock"))).toEqual([]);
  }, 200_000);
});

describe("an existing run is never replaced silently (defect 3)", () => {
  test("--overwrite replaces checkpoints and metrics; nothing of the earlier run remains", () => {
    const run = copyRun("over");
    const before = readFileSync(join(run, "metrics.jsonl"), "utf8");
    const refused = qkv(train(run, "--max-iters", "1"));
    expect(refused.code).toBe(4);
    expect(readFileSync(join(run, "metrics.jsonl"), "utf8")).toBe(before); // untouched
    const r = qkv(train(run, "--max-iters", "1", "--overwrite"));
    expect(r.code, r.stderr).toBe(0);
    const evals = readFileSync(join(run, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === "eval")
      .map((e) => e.iter);
    expect(evals).toEqual([0, 1]); // only the new 1-iteration run (the old one evaluated at 0, 1, 2)
    expect(JSON.parse(readFileSync(join(run, "last", "trainer_state.json"), "utf8")).iter).toBe(1);
  }, 120_000);
});
