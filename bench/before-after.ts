/**
 * Before/after: runs bench/train.ts of two qkv checkouts in one session, alternating rounds
 * (base, current, then current, base, …) so that drift in machine load hits both sides alike,
 * and prints the median training-step time and generation speed of each with current/base ratios.
 * PyTorch's twin is skipped; both trees need their native addon built (node scripts/build-native.mjs).
 *
 *   node --import tsx bench/before-after.ts --base ../qkv-before [--current .] [--rounds 3]
 *     [--steps 30] [--threads 1,2] [--memory]
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const base = resolve(flag("base", ""));
const current = resolve(flag("current", here));
const rounds = Number(flag("rounds", "3"));
const steps = flag("steps", "30");
const threads = flag("threads", "1,2");
const memory = argv.includes("--memory");

if (!flag("base", "") || !Number.isInteger(rounds) || rounds < 1) {
  console.error(
    "usage: bench/before-after.ts --base <qkv checkout> [--current <checkout>] [--rounds 3] [--steps 30] [--threads 1,2] [--memory]",
  );
  process.exit(2);
}
for (const tree of [base, current]) {
  if (!existsSync(join(tree, "bench/train.ts"))) {
    console.error(`${tree} has no bench/train.ts`);
    process.exit(2);
  }
}

/** One run's figures: ms/step per thread count, generation tok/s, peak RSS (MiB) when measured. */
interface Figures {
  msPerStep: Map<number, number>;
  tokPerSec: number;
  peakMiB?: number;
}

/** Parses the tables bench/train.ts prints; throws with its output if a figure is missing. */
function parseTrainOutput(out: string): Figures {
  const msPerStep = new Map<number, number>();
  let inTable = false;
  for (const line of out.split("\n")) {
    if (line.startsWith("threads")) inTable = true;
    else if (inTable) {
      const m = /^(\d+)\s+([\d.]+)\s/.exec(line);
      if (m) msPerStep.set(Number(m[1]), Number(m[2]));
      else inTable = false;
    }
  }
  const gen = /^qkv ([\d.]+) tok\/s/m.exec(out);
  const mem = /^peak RSS ([\d.]+) MiB/m.exec(out);
  if (msPerStep.size === 0 || !gen) throw new Error(`could not read bench/train.ts output:\n${out}`);
  return { msPerStep, tokPerSec: Number(gen[1]), peakMiB: mem ? Number(mem[1]) : undefined };
}

function revision(tree: string): string {
  const git = (args: string[]) => spawnSync("git", ["-C", tree, ...args], { encoding: "utf8" }).stdout.trim();
  const rev = git(["rev-parse", "--short", "HEAD"]) || "?";
  return git(["status", "--porcelain", "--untracked-files=no"]) ? `${rev}+changes` : rev;
}

function runTree(tree: string): Figures {
  const args = [
    "--import",
    "tsx",
    join(tree, "bench/train.ts"),
    "--no-torch",
    "--steps",
    steps,
    "--threads",
    threads,
  ];
  if (!memory) args.push("--no-memory", "--quick");
  // Trees older than --no-torch / --no-memory ignore them: a missing interpreter makes their
  // PyTorch twin report n/a instead of running, and --quick shortens their memory run to 100 steps.
  const env = { ...process.env, QKV_BENCH_PYTHON: "/nonexistent/qkv-before-after-skips-torch" };
  const r = spawnSync(process.execPath, args, { cwd: tree, env, encoding: "utf8", timeout: 1_200_000 });
  if (r.status !== 0)
    throw new Error(`bench/train.ts in ${tree} exited with ${r.status}:\n${r.stdout}${r.stderr}`);
  if (/native backend unavailable/.test(r.stdout))
    throw new Error(`${tree}: ${r.stdout.trim()} (run node scripts/build-native.mjs there)`);
  return parseTrainOutput(r.stdout);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const runs: Record<"base" | "current", Figures[]> = { base: [], current: [] };
const t0 = performance.now();
for (let r = 0; r < rounds; r++) {
  const order: ("base" | "current")[] = r % 2 === 0 ? ["base", "current"] : ["current", "base"];
  for (const side of order) {
    const f = runTree(side === "base" ? base : current);
    runs[side].push(f);
    const ms = [...f.msPerStep].map(([t, v]) => `${t}t ${v.toFixed(1)} ms/step`).join(", ");
    console.log(`round ${r + 1} ${side.padEnd(7)}: ${ms}, ${f.tokPerSec.toFixed(0)} tok/s`);
  }
}

const rows: { label: string; pick: (f: Figures) => number | undefined; better: "lower" | "higher" }[] = [
  ...threads.split(",").map((t) => ({
    label: `train ms/step, ${t} thread${t === "1" ? "" : "s"}`,
    pick: (f: Figures) => f.msPerStep.get(Number(t)),
    better: "lower" as const,
  })),
  { label: "generate tok/s (batch 1, KV cache, 1 thread)", pick: (f) => f.tokPerSec, better: "higher" },
];
if (memory) rows.push({ label: "peak RSS MiB (training run)", pick: (f) => f.peakMiB, better: "lower" });

const pad = (s: string, n: number) => s.padEnd(n);
console.log(
  `\n== before/after: bench/train.ts (native, --steps ${steps}), ${rounds} alternating round(s), medians, ${((performance.now() - t0) / 1000).toFixed(0)} s ==`,
);
console.log(`base    ${base} @ ${revision(base)}`);
console.log(`current ${current} @ ${revision(current)}`);
console.log(
  `${pad("figure", 46)}${pad("base", 9)}${pad("current", 9)}${pad("current/base", 14)}${pad("better", 8)}range base | current`,
);
for (const row of rows) {
  const values = (side: "base" | "current") =>
    runs[side].map(row.pick).filter((x): x is number => x !== undefined);
  const b = values("base");
  const c = values("current");
  const mb = b.length ? median(b) : Number.NaN;
  const mc = c.length ? median(c) : Number.NaN;
  const range = (xs: number[]) =>
    xs.length ? `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}` : "n/a";
  console.log(
    `${pad(row.label, 46)}${pad(mb.toFixed(1), 9)}${pad(mc.toFixed(1), 9)}${pad((mc / mb).toFixed(3), 14)}${pad(row.better, 8)}${range(b)} | ${range(c)}`,
  );
}
