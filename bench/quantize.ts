/**
 * Weight-only quantization (quantize(model, { dtype })): what it costs in accuracy and what it buys
 * in decoding speed and memory.
 *
 *   accuracy: a trained checkpoint (a `qkv train` run folder's best/ or last/) against the last 10% of
 *     its text: validation perplexity of fp32, bf16 and int8, and how often the quantized model's
 *     next-token argmax equals fp32's (top-1 agreement), over --windows windows of blockSize tokens.
 *
 *       node --import tsx bench/quantize.ts accuracy --checkpoint /tmp/quant-run/best [--data file] [--windows 256]
 *
 *   speed: greedy decoding (KV cache, native backend) of --new-tokens after an 8-token prompt from an HF
 *     GPT-2 folder, fp32 / bf16 / int8 at each --threads count, each configuration in a fresh child
 *     (its RSS its own), in --rounds alternating rounds beside Hugging Face's `generate` in fp32
 *     (bench/torch_scale.py, the same prompt); medians reported, the greedy ids compared with HF's.
 *
 *       node --import tsx bench/quantize.ts speed --dir /tmp/gpt2-small [--threads 1,2] [--rounds 3] [--new-tokens 32] [--backend native|wasm] [--no-torch]
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gptOf, openCheckpoint } from "../cli/checkpoint.js";
import { loadNativeBackend, setNumThreads } from "../src/backends/native/index.js";
import { loadWasmBackend, setWasmThreads } from "../src/backends/wasm/index.js";
import {
  argmax,
  crossEntropy,
  GPT,
  generate,
  gptStepModel,
  quantize,
  reshape,
  setBackend,
  tensor,
  withNoGrad,
} from "../src/index.js";
import { fromPretrained } from "../src/node.js";
import { lcgTokens, median } from "./scale.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
type DType = "fp32" | "bf16" | "int8";
const DTYPES: DType[] = ["fp32", "bf16", "int8"];

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith("--")) throw new Error(`quantize bench: --${name} needs a value`);
  return v;
};

function useBackend(threads: number, name = "native"): void {
  if (name === "wasm") {
    const wasm = loadWasmBackend();
    if (!wasm) throw new Error("quantize bench: the wasm backend did not load");
    setBackend(wasm);
    setWasmThreads(threads);
    return;
  }
  const native = loadNativeBackend();
  if (!native)
    throw new Error("quantize bench: the native backend did not load (node scripts/build-native.mjs)");
  setBackend(native);
  setNumThreads(threads);
}

function applyDtype(model: GPT, dtype: DType): GPT {
  if (dtype !== "fp32") quantize(model, { dtype: dtype === "bf16" ? "bfloat16" : "int8" });
  return model;
}

// ---- accuracy -------------------------------------------------------------------------------------

async function accuracy(): Promise<void> {
  const dir = flag("checkpoint", "/tmp/quant-run/best");
  const dataFile = flag("data", join(root, "data/tinyshakespeare.txt"));
  const nWin = Number(flag("windows", "256"));
  useBackend(Number(flag("threads", "1")));
  const text = readFileSync(dataFile, "utf8");
  const val = text.slice(Math.floor(text.length * 0.9));
  const load = async () => {
    const ck = await openCheckpoint(dir);
    return { model: gptOf(ck, "bench").eval(), tok: ck.tokenizer };
  };
  const { tok } = await load();
  const ids = Int32Array.from(tok.encode(val));
  const probe = (await load()).model;
  const T = probe.config.blockSize;
  const span = T + 1;
  const count = Math.min(nWin, Math.floor(ids.length / span));
  const stride = Math.floor(ids.length / count);
  const B = 16;
  // per dtype: summed loss, positions, argmax ids in order
  const results = new Map<DType, { nll: number; n: number; top: Int32Array }>();
  for (const dtype of DTYPES) {
    const model = applyDtype((await load()).model, dtype);
    const top = new Int32Array(count * T);
    let nll = 0;
    let n = 0;
    for (let w0 = 0; w0 < count; w0 += B) {
      const nb = Math.min(B, count - w0);
      const xs = new Int32Array(nb * T);
      const ys = new Int32Array(nb * T);
      for (let b = 0; b < nb; b++) {
        const at = (w0 + b) * stride;
        xs.set(ids.subarray(at, at + T), b * T);
        ys.set(ids.subarray(at + 1, at + 1 + T), b * T);
      }
      withNoGrad(() => {
        const logits = model.forward(tensor(xs, { shape: [nb, T] })).logits;
        const V = logits.shape[2];
        const flat = reshape(logits, [nb * T, V]);
        nll += crossEntropy(flat, tensor(ys)).item() * nb * T;
        n += nb * T;
        top.set(argmax(flat, -1).toArray() as Int32Array, w0 * T);
      });
    }
    results.set(dtype, { nll, n, top });
  }
  const ref = results.get("fp32")!;
  const ppl0 = Math.exp(ref.nll / ref.n);
  console.log(
    `accuracy: ${dir}, ${count} windows of ${T} tokens from the last 10% of ${dataFile} (${ref.n} positions)`,
  );
  for (const dtype of DTYPES) {
    const r = results.get(dtype)!;
    const ppl = Math.exp(r.nll / r.n);
    let same = 0;
    for (let i = 0; i < r.top.length; i++) same += r.top[i] === ref.top[i] ? 1 : 0;
    console.log(
      `  ${dtype.padEnd(4)} val loss ${(r.nll / r.n).toFixed(4)}  perplexity ${ppl.toFixed(4)} (relative change vs fp32 ${((ppl - ppl0) / ppl0).toExponential(2)})  top-1 agreement with fp32 ${((same / r.top.length) * 100).toFixed(2)}%`,
    );
  }
}

// ---- speed ----------------------------------------------------------------------------------------

interface Child {
  side: string;
  dtype: string;
  threads: number;
  msMedian: number;
  tokPerS: number;
  ids: number[];
  rssMiB: number;
  peakRssMiB: number;
}

/** One configuration in this process: load, quantize, decode warmup + steps times. */
async function child(spec: {
  dir: string;
  dtype: DType;
  threads: number;
  newTokens: number;
  steps: number;
  backend: string;
}) {
  useBackend(spec.threads, spec.backend);
  const model = applyDtype((await fromPretrained(GPT, spec.dir)).eval(), spec.dtype);
  (globalThis as { gc?: () => void }).gc?.();
  const prompt = Array.from(lcgTokens(8, model.config.vocabSize, 1337));
  let ids: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < 1 + spec.steps; i++) {
    const t0 = performance.now();
    ids = generate(gptStepModel(model), prompt, { maxNewTokens: spec.newTokens, temperature: 0 }).ids;
    if (i > 0) ms.push(performance.now() - t0);
  }
  const m = median(ms);
  const out: Child = {
    side: "qkv",
    dtype: spec.dtype,
    threads: spec.threads,
    msMedian: m,
    tokPerS: spec.newTokens / (m / 1000),
    ids,
    rssMiB: process.memoryUsage().rss / 2 ** 20,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  console.log(JSON.stringify(out));
}

function lastJson(cmd: string, args: string[]): Record<string, unknown> | string {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    env: { ...process.env, HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1", TRANSFORMERS_VERBOSITY: "error" },
  });
  const last = r.stdout?.trim().split("\n").pop() ?? "";
  if (r.status !== 0) return (r.stderr ?? "").trim().split("\n").pop() ?? `exit ${r.status}`;
  try {
    return JSON.parse(last);
  } catch {
    return `unparseable: ${last.slice(0, 80)}`;
  }
}

async function speed(): Promise<void> {
  const dir = flag("dir", "/tmp/gpt2-small");
  const threads = flag("threads", "1,2").split(",").map(Number);
  const rounds = Number(flag("rounds", "3"));
  const newTokens = Number(flag("new-tokens", "32"));
  const steps = Number(flag("steps", "3"));
  const python = flag("python", process.env.QKV_BENCH_PYTHON ?? "/work/venv/bin/python");
  const torch = !argv.includes("--no-torch");
  const backend = flag("backend", "native");
  const rows = new Map<string, Child[]>();
  const hf = new Map<number, { ms: number[]; ids: number[] }>();
  for (let r = 0; r < rounds; r++) {
    for (const t of threads) {
      for (const dtype of DTYPES) {
        const spec = JSON.stringify({ dir, dtype, threads: t, newTokens, steps, backend });
        const res = lastJson(process.execPath, [
          "--expose-gc",
          "--import",
          "tsx",
          join(here, "quantize.ts"),
          "child",
          spec,
        ]);
        if (typeof res === "string") throw new Error(`qkv ${dtype} thr${t}: ${res}`);
        const key = `${dtype} thr${t}`;
        rows.set(key, [...(rows.get(key) ?? []), res as unknown as Child]);
      }
      if (torch) {
        const res = lastJson(python, [
          join(here, "torch_scale.py"),
          "generate",
          "--dir",
          dir,
          "--threads",
          String(t),
          "--new-tokens",
          String(newTokens),
          "--warmup",
          "1",
          "--steps",
          String(steps),
        ]);
        if (typeof res === "string") console.log(`HF thr${t}: ${res}`);
        else {
          const h = hf.get(t) ?? { ms: [], ids: [] };
          h.ms.push(res.msMedian as number);
          h.ids = res.ids as number[];
          hf.set(t, h);
        }
      }
    }
  }
  console.log(
    `speed: greedy decoding of ${newTokens} tokens after an 8-token prompt, ${dir}, ${backend} backend, median of ${rounds} alternating rounds (each a median of ${steps} runs)`,
  );
  for (const t of threads) {
    const h = hf.get(t);
    const hfTps = h ? newTokens / (median(h.ms) / 1000) : Number.NaN;
    if (h) console.log(`  HF generate fp32 thr${t}: ${hfTps.toFixed(1)} tok/s`);
    for (const dtype of DTYPES) {
      const rs = rows.get(`${dtype} thr${t}`) ?? [];
      const tps = median(rs.map((x) => x.tokPerS));
      const same = h ? rs[0].ids.filter((id, i) => id === h.ids[i]).length : Number.NaN;
      const fp = rows.get(`fp32 thr${t}`)?.[0].ids ?? [];
      const sameFp = rs[0].ids.filter((id, i) => id === fp[i]).length;
      console.log(
        `  qkv ${dtype.padEnd(4)} thr${t}: ${tps.toFixed(1)} tok/s (${(tps / hfTps).toFixed(2)}× HF fp32), RSS ${median(rs.map((x) => x.rssMiB)).toFixed(0)} MiB after loading (peak ${median(rs.map((x) => x.peakRssMiB)).toFixed(0)}), greedy ids = HF's at ${same}/${newTokens}, = qkv fp32's at ${sameFp}/${newTokens}`,
      );
    }
  }
}

const mode = argv[0];
if (mode === "accuracy") await accuracy();
else if (mode === "speed") await speed();
else if (mode === "child") await child(JSON.parse(argv[1]));
else {
  console.error("usage: bench/quantize.ts accuracy|speed [flags] (see the header)");
  process.exit(2);
}
