/**
 * The long fuzz run (`npm run fuzz`): every target of test/fuzz/targets.ts over ≥ 100,000
 * generated inputs, each target in its own child process so that an abort, an out-of-memory kill
 * or a hang is observed and counted instead of ending the run. Prints the table of issue 12: per
 * target, inputs tried, loaded, named, unnamed, hang, crash (and the child's peak RSS).
 *
 *   npm run fuzz                                 # 100,000 inputs per target, seed 12
 *   npm run fuzz -- --runs 5000 --seed 3 --only safetensors --json out.json --jobs 4 --unit 25000
 *
 * A child runs under --max-old-space-size=2048; an input that takes more than 2 s is a hang, and
 * one still running after 30 s is killed (a hang) and the child restarted after it. Failing inputs
 * are printed with their index; `inputAt(target, seed, index)` regenerates any of them.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type FuzzCounts, type FuzzFailure, runRange, zeroCounts } from "../test/fuzz/run.js";
import { allTargets } from "../test/fuzz/targets.js";

const KILL_MS = 30_000;
/** Scratch files live in memory where the OS offers it: the file targets are I/O bound otherwise. */
const SCRATCH = process.env.QKV_FUZZ_DIR ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Child: runs target `index` over [start, end), reporting progress lines on stdout. */
async function child(): Promise<void> {
  const index = Number(arg("child", "0"));
  const seed = Number(arg("seed", "12"));
  const start = Number(arg("start", "0"));
  const end = Number(arg("end", "100000"));
  const cursor = arg("cursor", "");
  const skip = new Set(
    arg("skip", "")
      .split(",")
      .filter((x) => x !== "")
      .map(Number),
  );
  const dir = mkdtempSync(join(SCRATCH, "qkv-fuzz-"));
  const target = (await allTargets(dir))[index];
  let peak = 0;
  const report = (counts: FuzzCounts, at: number, failures: FuzzFailure[], done: boolean) => {
    peak = Math.max(peak, process.memoryUsage().rss);
    writeSync(1, `${JSON.stringify({ at, counts, failures, peakRss: peak, done })}\n`);
  };
  // Progress lines carry the counts so far and the failures since the previous line, so a
  // child that dies loses nothing it reported.
  let reported = 0;
  const { counts, failures } = await runRange(target, seed, start, end, {
    skip,
    before: (i) => {
      if (cursor) writeFileSync(cursor, String(i));
    },
    after: (c, i, fails) => {
      if ((i - start + 1) % 500 === 0) {
        report(c, i + 1, fails.slice(reported), false);
        reported = fails.length;
      }
    },
  });
  report(counts, end, failures.slice(reported), true);
  rmSync(dir, { recursive: true, force: true });
}

interface Row {
  name: string;
  owner: string;
  counts: FuzzCounts;
  failures: FuzzFailure[];
  peakRss: number;
  seconds: number;
}

interface ChildResult {
  at: number;
  counts: FuzzCounts;
  failures: FuzzFailure[];
  peakRss: number;
  done: boolean;
  code: number | null;
  signal: string | null;
  killed: boolean;
}

/** Runs one child over [start, end) minus `skip`, killing it when the input it is on exceeds KILL_MS. */
function runChild(
  self: string,
  t: number,
  seed: number,
  start: number,
  end: number,
  cursor: string,
  skip: number[],
): Promise<ChildResult> {
  return new Promise((resolve) => {
    const p = spawn(
      process.execPath,
      [
        "--max-old-space-size=2048",
        "--import",
        "tsx",
        self,
        "--child",
        String(t),
        "--seed",
        String(seed),
        "--start",
        String(start),
        "--end",
        String(end),
        "--cursor",
        cursor,
        "--skip",
        skip.join(","),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const acc = { at: start, counts: zeroCounts(), failures: [] as FuzzFailure[], peakRss: 0, done: false };
    let buf = "";
    let killed = false;
    p.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { at: number; counts: FuzzCounts; failures: FuzzFailure[]; peakRss: number; done: boolean };
        try {
          msg = JSON.parse(line);
        } catch {
          continue; // a target printed something of its own
        }
        acc.at = msg.at;
        acc.counts = msg.counts;
        acc.failures.push(...msg.failures);
        acc.peakRss = msg.peakRss;
        acc.done = msg.done;
      }
    });
    p.stderr.on("data", () => {});
    let lastCursor = -1;
    let since = Date.now();
    const watchdog = setInterval(() => {
      let at = lastCursor;
      try {
        at = Number(readFileSync(cursor, "utf8"));
      } catch {
        // being rewritten: try again next tick
      }
      if (at !== lastCursor) {
        lastCursor = at;
        since = Date.now();
      } else if (Date.now() - since > KILL_MS) {
        killed = true;
        p.kill("SIGKILL");
      }
    }, 1000);
    p.on("exit", (code, signal) => {
      clearInterval(watchdog);
      resolve({ ...acc, code, signal, killed });
    });
  });
}

/** Runs inputs [start, end) of target `t` into `row`, restarting past any input that killed or hung a child. */
async function runUnit(
  self: string,
  scratch: string,
  seed: number,
  t: number,
  start0: number,
  end: number,
  row: Row,
): Promise<void> {
  let start = start0;
  const skip: number[] = [];
  const cursor = join(scratch, `cursor-${t}-${start0}`);
  while (start < end) {
    writeFileSync(cursor, String(start));
    const result = await runChild(self, t, seed, start, end, cursor, skip);
    for (const k of Object.keys(row.counts) as (keyof FuzzCounts)[]) row.counts[k] += result.counts[k];
    row.failures.push(...result.failures);
    row.peakRss = Math.max(row.peakRss, result.peakRss);
    if (result.done && result.code === 0) return;
    // The child died or hung at the input the cursor names. Its last progress line covered
    // [start, result.at); rerun from there in a fresh child that skips the fatal input, which
    // is counted here.
    const at = Number(readFileSync(cursor, "utf8"));
    const kind = result.killed ? "hang" : "crash";
    row.counts.tried++;
    row.counts[kind]++;
    row.failures.push({
      index: at,
      kind,
      error: result.killed
        ? `no progress for ${KILL_MS / 1000} s (killed)`
        : `child exited with ${result.signal ?? `code ${result.code}`}`,
      input: "(regenerate with inputAt(target, seed, index))",
    });
    skip.push(at);
    start = Math.max(result.at, start);
  }
}

/** Parent: work units over every target, in parallel children; prints the table. */
async function parent(): Promise<void> {
  const runs = Number(arg("runs", "100000"));
  const seed = Number(arg("seed", "12"));
  const only = arg("only", "");
  const jsonOut = arg("json", "");
  const scratch = mkdtempSync(join(SCRATCH, "qkv-fuzz-parent-"));
  const targets = await allTargets(scratch);
  const self = fileURLToPath(import.meta.url);
  const jobs = Math.max(1, Number(arg("jobs", "4")));
  const unit = Math.max(1000, Number(arg("unit", "25000")));
  const rows: Row[] = [];
  // Work units of `unit` inputs, `jobs` children at a time: the file targets mostly wait on
  // I/O, so several children overlap even on two cores.
  const units: { row: Row; t: number; start: number; end: number }[] = [];
  for (let t = 0; t < targets.length; t++) {
    const target = targets[t];
    if (only && !target.name.includes(only)) continue;
    const row: Row = {
      name: target.name,
      owner: target.owner,
      counts: zeroCounts(),
      failures: [],
      peakRss: 0,
      seconds: 0,
    };
    rows.push(row);
    for (let s0 = 0; s0 < runs; s0 += unit) units.push({ row, t, start: s0, end: Math.min(runs, s0 + unit) });
  }
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < units.length) {
      const u = units[next++];
      await runUnit(self, scratch, seed, u.t, u.start, u.end, u.row);
      u.row.seconds = (performance.now() - t0) / 1000;
      process.stderr.write(
        `${u.row.name} [${u.start}, ${u.end}) done: ${JSON.stringify(u.row.counts)} at ${u.row.seconds.toFixed(0)} s\n`,
      );
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  rmSync(scratch, { recursive: true, force: true });

  const header = [
    "target",
    "owner",
    "tried",
    "loaded",
    "named",
    "unnamed",
    "hang",
    "crash",
    "peak RSS MiB",
    "done at s",
  ];
  const lines = rows.map((r) => [
    r.name,
    r.owner,
    ...(["tried", "loaded", "named", "unnamed", "hang", "crash"] as const).map((k) =>
      r.counts[k].toLocaleString("en-US"),
    ),
    (r.peakRss / 2 ** 20).toFixed(0),
    r.seconds.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  console.log(`fuzz run: seed ${seed}, ${runs.toLocaleString("en-US")} inputs per target`);
  console.log(fmt(header));
  console.log(
    `|${widths.map((w, i) => (i < 2 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`,
  );
  for (const l of lines) console.log(fmt(l));
  for (const r of rows) {
    if (r.failures.length === 0) continue;
    console.log(`\n${r.name} (${r.owner}): ${r.failures.length} failing input(s); first 10:`);
    for (const f of r.failures.slice(0, 10))
      console.log(`  #${f.index} ${f.kind}: ${f.error}\n      input: ${f.input}`);
  }
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ seed, runs, rows }, null, 2));
  const bad = rows.some((r) => r.counts.unnamed + r.counts.hang + r.counts.crash > 0);
  process.exitCode = bad ? 1 : 0;
}

if (process.argv.includes("--child")) await child();
else await parent();
