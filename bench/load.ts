/**
 * Load time and memory of `fromPretrained(GPT, dir)` next to HF's
 * `GPT2LMHeadModel.from_pretrained(dir)` (bench/load_torch.py), each measurement in a fresh child
 * process so its RSS is its own. Rounds alternate qkv and torch; the medians are reported.
 * A child reports the load's wall time, VmRSS and VmHWM right after it, the first forward's time
 * and a logits checksum (8 tokens), and with --spans where the load's time went.
 *
 *   flock /tmp/bench.lock node --import tsx bench/load.ts /tmp/gpt2-small [--rounds 3] [--backend native|cpu] [--no-torch]
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const python = process.env.QKV_BENCH_PYTHON ?? "/work/venv/bin/python";
const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};

function vmMiB(field: string): number {
  const m = readFileSync("/proc/self/status", "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function child(dir: string, backend: string): Promise<void> {
  const { GPT, setBackend, tensor, withNoGrad } = await import("../src/index.js");
  const { fromPretrained } = await import("../src/node.js");
  if (backend === "native") {
    const { loadNativeBackend } = await import("../src/backends/native/index.js");
    const native = loadNativeBackend();
    if (!native) throw new Error("native backend unavailable");
    setBackend(native);
  }
  const before = vmMiB("VmRSS");
  const t0 = performance.now();
  const model = await fromPretrained(GPT, dir);
  const loadS = (performance.now() - t0) / 1000;
  const rss = vmMiB("VmRSS");
  const hwm = vmMiB("VmHWM");
  const ids = tensor(
    Int32Array.from({ length: 8 }, (_, i) => i % model.config.vocabSize),
    { shape: [1, 8] },
  );
  const t1 = performance.now();
  const logits = withNoGrad(() => model.forward(ids).logits.toArray());
  const forwardS = (performance.now() - t1) / 1000;
  let checksum = 0;
  for (const v of logits) checksum += v;
  console.log(
    JSON.stringify({
      load_s: loadS,
      rss_before_mib: before,
      rss_mib: rss,
      hwm_mib: hwm,
      forward_s: forwardS,
      checksum,
    }),
  );
}

function run(cmd: string, args: string[]): Record<string, number> {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000, cwd: root });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stderr}`);
  return JSON.parse(last);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = argv.find(
    (a) =>
      !a.startsWith("--") &&
      argv[argv.indexOf(a) - 1] !== "--rounds" &&
      argv[argv.indexOf(a) - 1] !== "--backend",
  );
  const backend = flag("backend", "native");
  if (argv.includes("--child")) return child(dir as string, backend);
  if (!dir) throw new Error("usage: bench/load.ts DIR [--rounds 3] [--backend native|cpu] [--no-torch]");
  const rounds = Number(flag("rounds", "3"));
  const noTorch = argv.includes("--no-torch");
  const q: Record<string, number>[] = [];
  const t: Record<string, number>[] = [];
  for (let r = 0; r < rounds; r++) {
    q.push(run(process.execPath, ["--import", "tsx", "bench/load.ts", dir, "--child", "--backend", backend]));
    if (!noTorch) t.push(run(python, ["bench/load_torch.py", dir]));
    console.log(
      `round ${r + 1}: qkv ${JSON.stringify(q[r])}${noTorch ? "" : `\n         torch ${JSON.stringify(t[r])}`}`,
    );
  }
  const file =
    Number(spawnSync("stat", ["-c", "%s", join(dir, "model.safetensors")], { encoding: "utf8" }).stdout) /
    2 ** 20;
  const med = (xs: Record<string, number>[], k: string) => median(xs.map((x) => x[k]));
  const qLoad = med(q, "load_s");
  const qRss = med(q, "rss_mib");
  console.log(
    `qkv (${backend}): load ${qLoad.toFixed(3)} s, RSS after load ${qRss.toFixed(0)} MiB (${(qRss / file).toFixed(2)}× the ${file.toFixed(0)} MiB file), HWM ${med(q, "hwm_mib").toFixed(0)} MiB, first forward ${med(q, "forward_s").toFixed(3)} s, checksum ${q[0].checksum.toFixed(4)}`,
  );
  if (!noTorch) {
    const tLoad = med(t, "load_s");
    console.log(
      `torch: load ${tLoad.toFixed(3)} s, RSS after load ${med(t, "rss_mib").toFixed(0)} MiB (before ${med(t, "rss_before_mib").toFixed(0)}), HWM ${med(t, "hwm_mib").toFixed(0)} MiB, checksum ${t[0].checksum.toFixed(4)}`,
    );
    console.log(`qkv / torch load time: ${(qLoad / tLoad).toFixed(2)}×`);
  }
}

await main();
