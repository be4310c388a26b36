#!/usr/bin/env node
// The kill -9 matrix: trains a small GPT, pauses it at a chosen phase of its N-th checkpoint
// write (the QKV_PAUSE_AT hook in src/io/node-fs.ts), kills it with SIGKILL there, and checks:
//   corrupted: a best/ or last/ that exists (after the next command's repair) but does not load;
//   leftovers: temp folders, .qkv-old folders or lock files still there after the next command;
//   resume:    `train --resume` (or `--overwrite` when no last/ survived) ends with weights,
//              optimizer state and trainer state byte-identical to an uninterrupted run's.
// Usage: npm run build && node scripts/kill-matrix.mjs [--out table.md] [--repeats 3]
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "bin", "qkv.js");
const { readCheckpoint } = await import(pathToFileURL(join(root, "dist", "src", "node.js")).href);

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const repeats = Number(opt("--repeats", "3"));
const outFile = opt("--out", null);

// Phases of one checkpoint write, in order (see writeCheckpoint and replaceDirAtomic).
const PHASES = [
  ["temp-made", "empty temp folder made"],
  ["config", "config.json written"],
  ["train-config", "train_config.json written"],
  ["tokenizer", "tokenizer.json written"],
  ["file-written", "a .safetensors temp file written, not yet renamed"],
  ["model", "model.safetensors in place"],
  ["optimizer-tensors", "optimizer.safetensors in place"],
  ["optimizer-json", "optimizer.json written"],
  ["trainer-state", "trainer_state.json written (temp folder complete)"],
  ["synced", "temp folder fsynced, swap not begun"],
  ["old-parked", "old folder renamed to .qkv-old (mid-swap)"],
  ["new-in-place", "new folder renamed in, .qkv-old not yet removed"],
  ["swapped", "swap complete"],
];

const work = mkdtempSync(join(tmpdir(), "qkv-kill-"));
const data = join(work, "text.txt");
writeFileSync(
  data,
  "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n".repeat(300),
);
const env = { ...process.env, QKV_BACKEND: "cpu", CI: "true" };
// Dropout on, so the restored generator state matters as well as weights and data position.
const trainArgs = (out) =>
  [
    "train",
    "--preset",
    "tiny",
    "--data",
    data,
    "--out-dir",
    out,
    "--max-iters",
    "8",
    "--eval-interval",
    "2",
  ].concat(["--eval-iters", "1", "--dropout", "0.1", "--sample-tokens", "0", "--quiet"]);

function qkv(args, extraEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...env, ...extraEnv }, encoding: "utf8" });
  return { code: r.status, stderr: r.stderr };
}

/** The bytes that must match: weights, optimizer state, trainer state without the wall clock. */
function fingerprint(ck) {
  const st = JSON.parse(readFileSync(join(ck, "trainer_state.json"), "utf8"));
  delete st.elapsedMs;
  return [
    readFileSync(join(ck, "model.safetensors")).toString("base64"),
    readFileSync(join(ck, "optimizer.safetensors")).toString("base64"),
    readFileSync(join(ck, "optimizer.json"), "utf8"),
    JSON.stringify(st),
  ].join("|");
}

function debris(run) {
  if (!existsSync(run)) return [];
  const names = readdirSync(run).filter(
    (n) => n.includes(".tmp-") || n.endsWith(".qkv-old") || n.startsWith(".qkv-lock"),
  );
  const cache = join(run, "cache");
  if (existsSync(cache))
    names.push(
      ...readdirSync(cache)
        .filter((n) => n.includes(".tmp-"))
        .map((n) => `cache/${n}`),
    );
  return names;
}

async function killAt(run, phase, nth) {
  const pauseFile = `${run}.paused`;
  const child = spawn(process.execPath, [bin, ...trainArgs(run)], {
    env: { ...env, QKV_PAUSE_AT: `${phase}:${nth}`, QKV_PAUSE_FILE: pauseFile },
    stdio: "ignore",
  });
  const exited = new Promise((r) => child.once("exit", r));
  let done = false;
  exited.then(() => {
    done = true;
  });
  while (!existsSync(pauseFile) && !done) await new Promise((r) => setTimeout(r, 20));
  if (done) return false; // the run finished without reaching that phase
  child.kill("SIGKILL");
  await exited;
  return true;
}

const ref = join(work, "reference");
const r0 = qkv(trainArgs(ref));
if (r0.code !== 0) throw new Error(`reference run failed: ${r0.stderr}`);
const want = fingerprint(join(ref, "last"));

const rows = [];
let kills = 0;
let corrupted = 0;
let leftovers = 0;
let mismatches = 0;
for (const [phase, what] of PHASES) {
  for (let nth = 1; nth <= repeats; nth++) {
    const run = join(work, `${phase}-${nth}`);
    const t0 = performance.now();
    if (!(await killAt(run, phase, nth))) {
      rows.push({ phase, nth, what, note: "not reached" });
      continue;
    }
    kills++;
    const afterKill = debris(run);
    const present = ["best", "last", "best.qkv-old", "last.qkv-old"].filter((n) => existsSync(join(run, n)));
    // The next command (a reader) repairs the folder; then every checkpoint present must load.
    const info = qkv(["info", "--checkpoint", join(run, "last")]);
    let bad = 0;
    for (const k of ["best", "last"]) {
      if (!existsSync(join(run, k))) continue;
      try {
        await readCheckpoint(join(run, k));
      } catch {
        bad++;
      }
    }
    corrupted += bad;
    // A reader leaves a dead writer's lock file to the next writer, which takes it over.
    const left = debris(run).filter((n) => n !== ".qkv-lock");
    // Resume (or restart when no last/ survived) and compare with the uninterrupted run.
    const hasLast = existsSync(join(run, "last"));
    const res = qkv(hasLast ? [...trainArgs(run), "--resume"] : [...trainArgs(run), "--overwrite"]);
    left.push(...debris(run).map((n) => `${n} (after resume)`));
    leftovers += left.length;
    const same = res.code === 0 && fingerprint(join(run, "last")) === want;
    if (!same) mismatches++;
    rows.push({
      phase,
      nth,
      what,
      present: present.join(" ") || "-",
      debrisAfterKill: afterKill.length,
      infoCode: info.code,
      corrupted: bad,
      leftovers: left.length,
      resumedBy: hasLast ? "--resume" : "--overwrite",
      resumeCode: res.code,
      bitExact: same ? "yes" : "NO",
      seconds: ((performance.now() - t0) / 1000).toFixed(1),
    });
    process.stderr.write(`${phase}:${nth} ${same ? "ok" : "MISMATCH"} ${res.code !== 0 ? res.stderr : ""}\n`);
  }
}
rmSync(work, { recursive: true, force: true });

const lines = [
  `kill -9 matrix: ${kills} kills, ${corrupted} corrupted, ${leftovers} leftover temp/old/lock entries, ${mismatches} resumes not bit-exact`,
  "",
  "| phase:N (Nth arrival) | state at the kill | folders present after the kill | debris after kill | `info` exit | corrupted | leftovers (after `info`, after resume) | resumed with | exit | bit-exact |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) =>
    r.note
      ? `| ${r.phase}:${r.nth} | ${r.what} | ${r.note} | | | | | | | |`
      : `| ${r.phase}:${r.nth} | ${r.what} | ${r.present} | ${r.debrisAfterKill} | ${r.infoCode} | ${r.corrupted} | ${r.leftovers} | ${r.resumedBy} | ${r.resumeCode} | ${r.bitExact} |`,
  ),
];
const table = `${lines.join("\n")}\n`;
process.stdout.write(table);
if (outFile) writeFileSync(outFile, table);
process.exitCode = corrupted === 0 && leftovers === 0 && mismatches === 0 && kills >= 30 ? 0 : 1;
