/**
 * Cost versus model size, qkv (native backend) beside Hugging Face's GPT-2 in PyTorch
 * (bench/torch_scale.py), in alternating rounds, each configuration in a fresh child process so
 * its peak RSS is its own:
 *
 *   node --import tsx bench/scale.ts --sizes small,gpt2 --seq 64,128 --batch 4 --threads 1,2 \
 *     --rounds 3 --anchors eager,compile --workload train,load,generate --steps 5 --json out.json
 *
 * Both sides build the model from the same config (GPT-2 layout with biases, dropout 0, tied head,
 * N(0, 0.02) init with residual projections at 0.02/√(2L)) and train on identical token batches
 * (lcgTokens). `train` is forward + cross-entropy + backward + AdamW; `load` is
 * fromPretrained (qkv/node) against from_pretrained of a folder HF's save_pretrained wrote once
 * into --cache-dir; `generate` is greedy decoding of --new-tokens after an 8-token prompt from that
 * folder, the ids compared. The machine peak is the best native GEMM trial in the same run.
 * Python: --python, else $QKV_BENCH_PYTHON, else .venv/bin/python, else /usr/bin/python3
 * (bench/setup-torch.sh makes the venv); without torch the torch columns read n/a.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadNativeBackend, nativeInfo, setNumThreads } from "../src/backends/native/index.js";
import {
  Generator,
  GPT,
  type GPTConfig,
  generate,
  gptStepModel,
  optim,
  setBackend,
  tensor,
  tidy,
} from "../src/index.js";
import { fromPretrained, savePretrained } from "../src/node.js";
import { makeNativeGemmTrial } from "./shared.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");

/** The model sizes, with bench/torch_scale.py's SIZES: tiny is for tests only. */
export const SIZES: Record<
  string,
  { nLayer: number; nHead: number; nEmbd: number; vocabSize: number; blockSize: number }
> = {
  tiny: { nLayer: 2, nHead: 2, nEmbd: 32, vocabSize: 64, blockSize: 16 },
  small: { nLayer: 4, nHead: 4, nEmbd: 128, vocabSize: 65, blockSize: 64 },
  gpt2: { nLayer: 12, nHead: 12, nEmbd: 768, vocabSize: 50257, blockSize: 1024 },
  "gpt2-medium": { nLayer: 24, nHead: 16, nEmbd: 1024, vocabSize: 50257, blockSize: 1024 },
};
export const WORKLOADS = ["train", "load", "generate"] as const;
export const ANCHORS = ["eager", "compile"] as const;
export type Workload = (typeof WORKLOADS)[number];
export type Anchor = (typeof ANCHORS)[number];

/** The GPTConfig of a size at sequence length T (blockSize grows to T when T is longer). */
export function gptConfig(size: string, T: number): GPTConfig {
  const s = SIZES[size];
  if (!s) throw new Error(`scale: unknown size "${size}" (known: ${Object.keys(SIZES).join(", ")})`);
  return { ...s, blockSize: Math.max(s.blockSize, T), dropout: 0, bias: true };
}

/**
 * Training FLOPs of one step (forward + backward = 3× the forward's):
 * 6·B·T·(12·L·C² + V·C) + 12·L·B·T²·C. The first term is the matmul weights (q/k/v, attention
 * out, MLP up and down per layer, and the tied head) at 2 FLOPs per weight per token forward;
 * the second is QKᵀ and A·V (2·B·T²·C each forward), counted over the full T×T square although
 * half of it is masked. Embedding lookups, biases, LayerNorm, GELU, softmax and AdamW are not counted.
 */
export function trainFlops(
  c: { nLayer: number; nEmbd: number; vocabSize: number },
  B: number,
  T: number,
): number {
  const { nLayer: L, nEmbd: C, vocabSize: V } = c;
  return 6 * B * T * (12 * L * C * C + V * C) + 12 * L * B * T * T * C;
}

/** n ids in [0, vocab) from s ← 1664525·s + 1013904223 mod 2³², as torch_scale.py's lcg_tokens. */
export function lcgTokens(n: number, vocab: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % vocab;
  }
  return out;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface ScaleOptions {
  sizes: string[];
  seq: number[];
  batch: number[];
  threads: number[];
  rounds: number;
  anchors: Anchor[];
  workloads: Workload[];
  steps: number;
  warmup: number;
  newTokens: number;
  seed: number;
  backend: "native" | "cpu";
  python: string;
  cacheDir: string;
  json: string | null;
}

const FLAGS: Record<string, string> = {
  sizes: "comma list of sizes",
  seq: "comma list of sequence lengths",
  batch: "comma list of batch sizes",
  threads: "comma list of thread counts",
  rounds: "rounds",
  anchors: "comma list of eager,compile",
  workload: "comma list of train,load,generate",
  steps: "timed steps per child",
  warmup: "untimed steps per child",
  "new-tokens": "tokens to generate",
  seed: "seed",
  backend: "native or cpu",
  python: "python with torch and transformers",
  "cache-dir": "folder for the saved checkpoints",
  json: "file for the JSON results",
};

function defaultPython(): string {
  if (process.env.QKV_BENCH_PYTHON) return process.env.QKV_BENCH_PYTHON;
  const venv = join(root, ".venv/bin/python");
  return existsSync(venv) ? venv : "/usr/bin/python3";
}

/** Parses the command line; every malformed flag throws an Error that names it. */
export function parseScaleArgs(argv: readonly string[]): ScaleOptions {
  const v = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`scale: unexpected argument "${a}" (flags are --name value)`);
    const name = a.slice(2);
    if (!(name in FLAGS))
      throw new Error(
        `scale: unknown flag --${name} (known: ${Object.keys(FLAGS)
          .map((f) => `--${f}`)
          .join(" ")})`,
      );
    const value = argv[i + 1];
    if (value === undefined || value.startsWith("--"))
      throw new Error(`scale: --${name} needs a value (${FLAGS[name]})`);
    v.set(name, value);
    i++;
  }
  const ints = (name: string, fallback: string): number[] => {
    const raw = v.get(name) ?? fallback;
    return raw.split(",").map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`scale: --${name} takes positive integers, got "${x}" in "${raw}"`);
      return n;
    });
  };
  const int = (name: string, fallback: number, min = 1): number => {
    const raw = v.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`scale: --${name} takes an integer ≥ ${min}, got "${raw}"`);
    return n;
  };
  const oneOf = <T extends string>(name: string, fallback: string, allowed: readonly T[]): T[] => {
    const raw = v.get(name) ?? fallback;
    return raw.split(",").map((x) => {
      if (!allowed.includes(x as T))
        throw new Error(`scale: --${name} takes ${allowed.join(", ")}; got "${x}"`);
      return x as T;
    });
  };
  const sizes = oneOf("sizes", "small", Object.keys(SIZES));
  const backend = oneOf("backend", "native", ["native", "cpu"] as const);
  if (backend.length !== 1) throw new Error(`scale: --backend takes one of native, cpu`);
  return {
    sizes,
    seq: ints("seq", "64"),
    batch: ints("batch", "12"),
    threads: ints("threads", "1,2"),
    rounds: int("rounds", 3),
    anchors: oneOf("anchors", "eager", ANCHORS),
    workloads: oneOf("workload", "train", WORKLOADS),
    steps: int("steps", 5),
    warmup: int("warmup", 2, 0),
    newTokens: int("new-tokens", 32),
    seed: int("seed", 1337, 0),
    backend: backend[0],
    python: v.get("python") ?? defaultPython(),
    cacheDir: v.get("cache-dir") ?? "/tmp/qkv-scale-cache",
    json: v.get("json") ?? null,
  };
}

/** One configuration, as a child process gets it. */
export interface ChildSpec {
  workload: Workload;
  size: string;
  seq: number;
  batch: number;
  threads: number;
  steps: number;
  warmup: number;
  seed: number;
  newTokens: number;
  backend: "native" | "cpu";
  /** The HF folder of load and generate. */
  dir: string;
}

/** What a child prints as its last line. */
export interface ChildResult {
  side: string;
  msMedian: number;
  ms: number[];
  peakRssMiB: number;
  ids?: number[];
  firstLoss?: number;
  params?: number;
  [k: string]: unknown;
}

function useBackend(spec: ChildSpec): void {
  if (spec.backend === "native") {
    const native = loadNativeBackend();
    if (!native) throw new Error("scale: the native backend did not load; build it or pass --backend cpu");
    setBackend(native);
    setNumThreads(spec.threads);
  } else {
    setBackend("cpu");
  }
}

function timeSteps(fn: () => void, warmup: number, steps: number): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const ms: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** The qkv side of one configuration, in this process. */
export async function runQkvChild(spec: ChildSpec): Promise<ChildResult> {
  useBackend(spec);
  const out: ChildResult = { side: "qkv", msMedian: Number.NaN, ms: [], peakRssMiB: 0 };
  if (spec.workload === "train") {
    const cfg = gptConfig(spec.size, spec.seq);
    const model = new GPT(cfg, { generator: new Generator(spec.seed, { algorithm: "mt19937" }) });
    model.train();
    const { batch: B, seq: T } = spec;
    const ids = lcgTokens(B * (T + 1), cfg.vocabSize, spec.seed); // (B, T + 1)
    const xs = new Int32Array(B * T);
    const ys = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      xs.set(ids.subarray(b * (T + 1), b * (T + 1) + T), b * T);
      ys.set(ids.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
    }
    const x = tensor(xs, { shape: [B, T] });
    const y = tensor(ys, { shape: [B, T] });
    const opt = new optim.AdamW(model.parameters(), { lr: 1e-4, betas: [0.9, 0.95], weightDecay: 0.1 });
    const losses: number[] = [];
    const step = () => {
      tidy(() => {
        const loss = model.forward(x, y).loss!;
        loss.backward();
        losses.push(loss.item());
      });
      opt.step();
      opt.zeroGrad();
    };
    out.ms = timeSteps(step, spec.warmup, spec.steps);
    out.firstLoss = losses[0];
    out.params = model.parameters().reduce((n, p) => n + p.numel(), 0);
  } else if (spec.workload === "load") {
    out.ms = [];
    for (let i = 0; i < spec.warmup + spec.steps; i++) {
      const t0 = performance.now();
      await fromPretrained(GPT, spec.dir);
      if (i >= spec.warmup) out.ms.push(performance.now() - t0);
    }
  } else {
    const model = (await fromPretrained(GPT, spec.dir)).eval();
    const prompt = Array.from(lcgTokens(8, model.config.vocabSize, spec.seed));
    let ids: number[] = [];
    out.ms = timeSteps(
      () => {
        ids = generate(gptStepModel(model), prompt, { maxNewTokens: spec.newTokens, temperature: 0 }).ids;
      },
      spec.warmup,
      spec.steps,
    );
    out.ids = ids;
  }
  out.msMedian = median(out.ms);
  out.peakRssMiB = process.resourceUsage().maxRSS / 1024;
  return out;
}

/** Runs a child and returns its last stdout line as JSON, or the reason it failed. */
function runChild(cmd: string, args: string[], timeoutS = 1800): ChildResult | string {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    timeout: timeoutS * 1000,
    maxBuffer: 64 << 20,
    env: { ...process.env, HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1", TRANSFORMERS_VERBOSITY: "error" },
  });
  if (r.error) return `${cmd}: ${r.error.message}`;
  const last = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0) {
    const err = r.stderr.trim().split("\n").filter(Boolean).pop() ?? `exit ${r.status ?? r.signal}`;
    return `${err}`.slice(0, 200);
  }
  try {
    return JSON.parse(last) as ChildResult;
  } catch {
    return `unparseable child output: ${last.slice(0, 80)}`;
  }
}

const qkvChild = (spec: ChildSpec) =>
  runChild(process.execPath, [
    "--import",
    "tsx",
    fileURLToPath(import.meta.url),
    "--child",
    JSON.stringify(spec),
  ]);

function torchArgs(spec: ChildSpec, anchor: Anchor): string[] {
  return [
    join(here, "torch_scale.py"),
    spec.workload,
    ...["--size", spec.size, "--seq", String(spec.seq), "--batch", String(spec.batch)],
    ...["--threads", String(spec.threads), "--anchor", anchor, "--steps", String(spec.steps)],
    ...["--warmup", String(spec.warmup), "--seed", String(spec.seed), "--new-tokens", String(spec.newTokens)],
    ...(spec.dir ? ["--dir", spec.dir] : []),
  ];
}

/** Null when `python` imports torch and transformers, else why not. */
export function torchMissing(python: string): string | null {
  if (!existsSync(python)) return `${python} not found`;
  const r = spawnSync(python, ["-c", "import torch, transformers"], { encoding: "utf8", timeout: 120_000 });
  if (r.status === 0) return null;
  return (r.stderr.trim().split("\n").pop() ?? "import failed").slice(0, 200);
}

/** The HF folder of a size: written once by save_pretrained, or by qkv's savePretrained without torch. */
async function checkpointDir(o: ScaleOptions, size: string, haveTorch: boolean): Promise<string> {
  const dir = join(o.cacheDir, `${size}-seed${o.seed}`);
  if (existsSync(join(dir, "model.safetensors")) && existsSync(join(dir, "config.json"))) return dir;
  mkdirSync(dir, { recursive: true });
  if (haveTorch) {
    const r = runChild(o.python, [
      join(here, "torch_scale.py"),
      "save",
      "--size",
      size,
      "--seed",
      String(o.seed),
      "--dir",
      dir,
    ]);
    if (typeof r === "string") throw new Error(`scale: save_pretrained of ${size} failed: ${r}`);
  } else {
    const cfg = gptConfig(size, 1);
    await savePretrained(new GPT(cfg, { generator: new Generator(o.seed, { algorithm: "mt19937" }) }), dir);
  }
  return dir;
}

/** A row of the results: one configuration, every side's round medians. */
export interface ScaleRow {
  workload: Workload;
  size: string;
  seq: number;
  batch: number;
  threads: number;
  flops: number;
  /** Per side ("qkv", "torch-eager", "torch-compile"): each round's median ms, peak RSS, errors. */
  sides: Record<
    string,
    { ms: number[]; rssMiB: number[]; errors: string[]; ids?: number[]; firstStepMs?: number[] }
  >;
}

/** Every configuration the options ask for, in table order (cost grows down the table). */
export function configurations(o: ScaleOptions): Omit<ChildSpec, "dir">[] {
  const base = { steps: o.steps, warmup: o.warmup, seed: o.seed, newTokens: o.newTokens, backend: o.backend };
  const out: Omit<ChildSpec, "dir">[] = [];
  for (const workload of o.workloads)
    for (const size of o.sizes)
      for (const threads of o.threads) {
        if (workload !== "train") {
          out.push({ ...base, workload, size, seq: 0, batch: 1, threads });
          continue;
        }
        for (const seq of o.seq)
          for (const batch of o.batch) out.push({ ...base, workload, size, seq, batch, threads });
      }
  const order = (w: Workload) => WORKLOADS.indexOf(w);
  return out.sort(
    (a, b) =>
      order(a.workload) - order(b.workload) ||
      Object.keys(SIZES).indexOf(a.size) - Object.keys(SIZES).indexOf(b.size) ||
      a.seq - b.seq ||
      a.batch - b.batch ||
      a.threads - b.threads,
  );
}

const fmtMs = (ms: number[]) => {
  if (ms.length === 0) return "n/a";
  const m = median(ms);
  const d = m >= 100 ? 0 : 1;
  return ms.length > 1
    ? `${m.toFixed(d)} (${Math.min(...ms).toFixed(d)}–${Math.max(...ms).toFixed(d)})`
    : m.toFixed(d);
};

/**
 * The cost-versus-size table, as Markdown: per configuration, each side's median ms per step
 * over the rounds (and their range), qkv/torch per anchor, GFLOP/s with its share of the GEMM
 * peak at that thread count (train only), and peak RSS.
 */
export function formatScaleTable(rows: ScaleRow[], anchors: Anchor[], peak: Record<number, number>): string {
  const head = ["workload", "size", "T", "B", "thr", "qkv ms"];
  for (const a of anchors) head.push(`torch ${a} ms`, `qkv/${a}`);
  head.push("qkv GF/s (% peak)", "torch GF/s (% peak)", "qkv RSS MiB", "torch RSS MiB");
  const lines = [head, head.map(() => "---")];
  for (const r of rows) {
    const q = r.sides.qkv;
    const cell = [
      r.workload,
      r.size,
      r.seq ? String(r.seq) : "–",
      String(r.batch),
      String(r.threads),
      fmtMs(q?.ms ?? []),
    ];
    for (const a of anchors) {
      const t = r.sides[`torch-${a}`];
      if (r.workload !== "train" && a !== "eager") {
        cell.push("–", "–"); // torch.compile is timed on training only
        continue;
      }
      if (!t) {
        cell.push("n/a", "n/a"); // no torch
        continue;
      }
      cell.push(t.ms.length ? fmtMs(t.ms) : t.errors.length ? "error" : "n/a");
      cell.push(q?.ms.length && t.ms.length ? `${(median(q.ms) / median(t.ms)).toFixed(2)}×` : "n/a");
    }
    const gf = (ms: number[] | undefined) => {
      if (r.workload !== "train" || !ms?.length) return "–";
      const g = r.flops / (median(ms) / 1000) / 1e9;
      const p = peak[r.threads];
      return p ? `${g.toFixed(1)} (${((100 * g) / p).toFixed(0)}%)` : g.toFixed(1);
    };
    cell.push(gf(q?.ms), gf(r.sides["torch-eager"]?.ms));
    const rss = (s?: { rssMiB: number[] }) => (s?.rssMiB.length ? Math.max(...s.rssMiB).toFixed(0) : "n/a");
    cell.push(rss(q), rss(r.sides["torch-eager"]));
    lines.push(cell);
  }
  return lines.map((l) => `| ${l.join(" | ")} |`).join("\n");
}

/** The machine peak: the best native GEMM trial (1024³ and a GPT-2 MLP shape) at each thread count. */
function measurePeak(threads: number[]): Record<number, number> {
  const peak: Record<number, number> = {};
  const shapes = [
    { M: 1024, N: 1024, K: 1024, transA: false, transB: false },
    { M: 512, N: 3072, K: 768, transA: false, transB: false },
  ];
  for (const t of threads) {
    setNumThreads(t);
    let best = 0;
    for (const s of shapes) {
      const trial = makeNativeGemmTrial(s, 0.1);
      for (let i = 0; i < 5; i++) best = Math.max(best, trial());
    }
    peak[t] = best;
  }
  return peak;
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "--child") {
    console.log(JSON.stringify(await runQkvChild(JSON.parse(argv[1]) as ChildSpec)));
    return;
  }
  let o: ScaleOptions;
  try {
    o = parseScaleArgs(argv);
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 2;
    return;
  }
  const load0 = loadavg();
  const missing = torchMissing(o.python);
  const haveTorch = missing === null;
  console.log(`torch: ${haveTorch ? `via ${o.python}` : `n/a (${missing})`}`);
  let peak: Record<number, number> = {};
  if (o.backend === "native") {
    if (!loadNativeBackend())
      throw new Error("scale: the native backend did not load; build it or pass --backend cpu");
    peak = measurePeak(o.threads);
    console.log(
      `native ${nativeInfo()?.isa}; GEMM peak ${o.threads.map((t) => `${peak[t].toFixed(1)} GFLOP/s at ${t} thread${t > 1 ? "s" : ""}`).join(", ")}`,
    );
  }
  const dirs = new Map<string, string>();
  for (const size of o.sizes)
    if (o.workloads.some((w) => w !== "train")) dirs.set(size, await checkpointDir(o, size, haveTorch));
  const specs = configurations(o).map((s) => ({ ...s, dir: dirs.get(s.size) ?? "" }));
  const rows: ScaleRow[] = specs.map((s) => ({
    workload: s.workload,
    size: s.size,
    seq: s.workload === "generate" ? s.newTokens : s.seq,
    batch: s.batch,
    threads: s.threads,
    flops: s.workload === "train" ? trainFlops(gptConfig(s.size, s.seq), s.batch, s.seq) : 0,
    sides: {},
  }));
  const record = (row: ScaleRow, side: string, r: ChildResult | string) => {
    row.sides[side] ??= { ms: [], rssMiB: [], errors: [] };
    const s = row.sides[side];
    if (typeof r === "string") {
      s.errors.push(r);
      console.log(`  ${side}: ${r}`);
      return;
    }
    s.ms.push(r.msMedian);
    s.rssMiB.push(r.peakRssMiB);
    if (r.ids) s.ids = r.ids;
    // torch's first training step, timed apart: with torch.compile it holds the compilation.
    if (typeof r.firstStepMs === "number") (s.firstStepMs ??= []).push(r.firstStepMs);
  };
  for (let round = 0; round < o.rounds; round++) {
    specs.forEach((spec, i) => {
      const row = rows[i];
      const anchors = spec.workload === "train" ? o.anchors : (["eager"] as Anchor[]);
      const torchSide = (a: Anchor) => () =>
        haveTorch ? record(row, `torch-${a}`, runChild(o.python, torchArgs(spec, a))) : undefined;
      const order = [() => record(row, "qkv", qkvChild(spec)), ...anchors.map(torchSide)];
      if (round % 2 === 1) order.reverse(); // alternate who goes first
      for (const run of order) run();
      const ms = (k: string) => row.sides[k]?.ms.at(-1)?.toFixed(1) ?? "n/a";
      console.log(
        `round ${round + 1}/${o.rounds} ${spec.workload} ${spec.size} T${spec.seq} B${spec.batch} thr${spec.threads}: qkv ${ms("qkv")} ms, ${anchors.map((a) => `torch ${a} ${ms(`torch-${a}`)} ms`).join(", ")}`,
      );
    });
  }
  console.log("");
  console.log(formatScaleTable(rows, o.anchors, peak));
  for (const r of rows.filter((x) => x.workload === "generate")) {
    const a = r.sides.qkv?.ids;
    const b = r.sides["torch-eager"]?.ids;
    if (a && b) {
      const same = a.filter((id, i) => id === b[i]).length;
      console.log(
        `generate ${r.size} thr${r.threads}: qkv and HF greedy ids agree at ${same}/${b.length} positions`,
      );
    }
  }
  const load1 = loadavg();
  console.log(
    `FLOPs per train step = 6·B·T·(12·L·C² + V·C) + 12·L·B·T²·C; load average ${load0.map((x) => x.toFixed(2)).join(" ")} at the start, ${load1.map((x) => x.toFixed(2)).join(" ")} at the end`,
  );
  if (o.json) {
    const machine = {
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      node: process.version,
      loadavgStart: load0,
      loadavgEnd: load1,
    };
    writeFileSync(o.json, `${JSON.stringify({ options: o, machine, peakGflops: peak, rows }, null, 2)}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  await main(process.argv.slice(2));
