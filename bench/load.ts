/**
 * Load time and memory of `fromPretrained(GPT, dir)` next to HF's
 * `GPT2LMHeadModel.from_pretrained(dir)` (bench/load_torch.py), each measurement in a fresh child
 * process (bench/load-child.mjs) so its RSS is its own. Rounds alternate qkv and torch; medians
 * are reported. A child reports the load's wall time, VmRSS and VmHWM right after it, then the
 * first forward's time (8 tokens), VmRSS after it and the logits' sum.
 *
 *   flock /tmp/bench.lock node --import tsx bench/load.ts /tmp/gpt2-small [--rounds 3] [--from dist|src] [--backend native|cpu] [--no-torch]
 *
 * `--root DIR` measures the library in DIR instead (DIR/bench/load-child.mjs, DIR/dist), e.g. an
 * earlier commit extracted and built there.
 * `--from dist` (the default) runs the compiled library (`npx tsc -p tsconfig.build.json` first)
 * with no TypeScript loader in the child, as a user's process would; `--from src` runs src/ under tsx.
 */
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const python = process.env.QKV_BENCH_PYTHON ?? "/work/venv/bin/python";
const argv = process.argv.slice(2);
const valued = new Set(["--rounds", "--from", "--backend", "--root"]);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const dir = argv.find((a, i) => !a.startsWith("--") && !valued.has(argv[i - 1]));
if (!dir)
  throw new Error(
    "usage: bench/load.ts DIR [--rounds 3] [--from dist|src] [--backend native|cpu] [--no-torch]",
  );
const rounds = Number(flag("rounds", "3"));
const from = flag("from", "dist");
const backend = flag("backend", "native");
const noTorch = argv.includes("--no-torch");

/** Where the measured library lives: this checkout, or `--root DIR` (e.g. an older commit's build). */
const qkvRoot = flag("root", root);

function run(cmd: string, args: string[], cwd = root): Record<string, number> {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000, cwd });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "");
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const med = (xs: Record<string, number>[], k: string) => median(xs.map((x) => x[k]));
const mib = (v: number) => `${v.toFixed(0)} MiB`;

const qkvArgs = [...(from === "src" ? ["--import", "tsx"] : []), "bench/load-child.mjs", dir, from, backend];
const q: Record<string, number>[] = [];
const t: Record<string, number>[] = [];
for (let r = 0; r < rounds; r++) {
  q.push(run(process.execPath, qkvArgs, qkvRoot));
  if (!noTorch) t.push(run(python, ["bench/load_torch.py", dir]));
  console.log(`round ${r + 1}: qkv ${JSON.stringify(q[r])}`);
  if (!noTorch) console.log(`         torch ${JSON.stringify(t[r])}`);
}
const file = statSync(join(dir, "model.safetensors")).size / 2 ** 20;
const qLoad = med(q, "load_s");
const qRss = med(q, "rss_mib");
console.log(
  `qkv (${qkvRoot === root ? "" : `${qkvRoot}, `}${from}, ${backend}): load ${qLoad.toFixed(3)} s (CPU ${med(q, "load_cpu_s").toFixed(3)} s); RSS before ${mib(med(q, "rss_before_mib"))}, after load ${mib(qRss)} ` +
    `(${(qRss / file).toFixed(2)}× the ${file.toFixed(0)} MiB file), HWM ${mib(med(q, "hwm_mib"))}, after the first forward ` +
    `${mib(med(q, "rss_after_forward_mib"))}; first forward ${med(q, "forward_s").toFixed(3)} s; logits sum ${q[0].checksum.toFixed(4)}`,
);
if (!noTorch) {
  const tLoad = med(t, "load_s");
  console.log(
    `torch: load ${tLoad.toFixed(3)} s (CPU ${med(t, "load_cpu_s").toFixed(3)} s); RSS before ${mib(med(t, "rss_before_mib"))}, after load ${mib(med(t, "rss_mib"))}, ` +
      `HWM ${mib(med(t, "hwm_mib"))}, after the first forward ${mib(med(t, "rss_after_forward_mib"))}; first forward ` +
      `${med(t, "forward_s").toFixed(3)} s; logits sum ${t[0].checksum.toFixed(4)}`,
  );
  console.log(`qkv / torch load time: ${(qLoad / tLoad).toFixed(2)}×`);
}
