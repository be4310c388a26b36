/**
 * qkv's WebAssembly backend side by side with native, with itself in Chromium, and with tfjs's
 * wasm backend, on bench/train.ts's small GPT training step (4 layers, 4 heads, 128 wide, block
 * 64, batch 12, AdamW, same data and seed), all in one run: every configuration lives in its own
 * process (a Node child, or a Chromium whose page trains in a worker), and the rounds interleave
 * them, rotating who goes first, so each sees the same machine. It prints ms/step (median and
 * quartiles), the ratios issue #11 sets targets for (per-round ratios: median and range), peak
 * memory, whether every loss fell, and batch-1 KV-cache generation tokens/s.
 *
 *   npm run bench:wasm -- [--rounds 8] [--steps 3] [--tfjs-steps 1] [--threads 1,2]
 *     [--tfjs-threads 1] [--no-browser] [--no-tfjs] [--only node-native-1,chromium-wasm-2,...] [--tokens 256]
 *     [--browser-backend wasm|cpu] [--json out.json] [--quick]
 *
 * Configurations that cannot run here (no addon, no wasm backend, no Chromium, no tfjs) are
 * reported as skipped with the reason. --browser-backend cpu exercises the page path without wasm.
 */
import { type ChildProcess, fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type BrowserBench,
  type BrowserSession,
  browserMissing,
  startBrowserBench,
} from "./browser-harness.js";
import { tfjsMissing } from "./tfjs-bundle.js";

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const quick = argv.includes("--quick");
const rounds = Number(flag("rounds", quick ? "3" : "8"));
const qkvSteps = Number(flag("steps", quick ? "2" : "3"));
const tfjsSteps = Number(flag("tfjs-steps", "1"));
const qkvWarmup = 5;
const tfjsWarmup = 2;
const threadList = flag("threads", "1,2").split(",").map(Number);
// tfjs 4.22's threaded build reports one XNNPACK thread in headless Chromium here whatever it is
// asked (and Node has no threaded build), so by default it runs once, at 1 thread.
const tfjsThreads = flag("tfjs-threads", "1").split(",").map(Number);
const tokens = Number(flag("tokens", "256"));
const genRounds = quick ? 2 : 5;
const browserBackend = flag("browser-backend", "wasm");
const only = argv.includes("--only") ? new Set(flag("only", "").split(",")) : null;

/** One configuration: where it runs and what it answers. */
interface Config {
  id: string;
  label: string;
  kind: "qkv" | "tfjs";
  where: "node" | "chromium";
  backend: string;
  threads: number;
  steps: number;
  warmup: number;
  call(msg: Record<string, unknown>): Promise<Record<string, unknown>>;
  peakMiB(): Promise<number>;
  close(): Promise<void>;
  what?: string;
  paramCount?: number;
  ms: number[][]; // per round, per step
  losses: number[];
  tps: number[];
  /** Console and page errors (Chromium). */
  errors?: string[];
}

type Reply = Record<string, unknown>;
function check(r: Reply, what: string): Reply {
  if (r.error) throw new Error(`${what}: ${r.error}`);
  return r;
}

/** A Node child running one configuration (bench/wasm-child.ts). */
function nodeConfig(
  id: string,
  args: string[],
  opts: { execArgv?: string[]; env?: Record<string, string> } = {},
): Pick<Config, "call" | "peakMiB" | "close"> & { started: Promise<Reply> } {
  const child: ChildProcess = fork(join(here, "wasm-child.ts"), args, {
    execArgv: [...(opts.execArgv ?? []), "--import", "tsx"],
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiting: ((r: Reply) => void)[] = [];
  child.on("message", (m) => waiting.shift()?.(m as Reply));
  child.on("exit", (code) => {
    for (const w of waiting.splice(0)) w({ error: `${id}: child exited with code ${code}` });
  });
  const next = () => new Promise<Reply>((resolve) => waiting.push(resolve));
  const started = next();
  const call = (msg: Record<string, unknown>) => {
    const r = next();
    child.send(msg);
    return r;
  };
  return {
    started,
    call,
    async peakMiB() {
      return Number((await call({ cmd: "stats" })).peakRssMiB);
    },
    async close() {
      if (child.exitCode === null) {
        child.send({ cmd: "exit" });
        await new Promise((resolve) => child.once("exit", resolve));
      }
    },
  };
}

const median = (a: number[]) => {
  const s = [...a].sort((u, v) => u - v);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quantile = (a: number[], p: number) => {
  const s = [...a].sort((u, v) => u - v);
  const i = (s.length - 1) * p;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
};
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

async function main(): Promise<void> {
  // The machine may be shared: its load is part of the result.
  const load = () =>
    loadavg()
      .map((v) => v.toFixed(1))
      .join(" ");
  const loadBefore = load();
  const skipped: string[] = [];
  const configs: Config[] = [];
  const wanted = (id: string) => !only || only.has(id);
  const add = (c: Omit<Config, "ms" | "losses" | "tps">) =>
    configs.push({ ...c, ms: [], losses: [], tps: [] });

  // Node children: qkv on native and wasm at each thread count, tfjs (single-threaded in Node).
  // "wasm" is the relaxed-SIMD module, which Chromium and Node ≥ 22 pick by themselves and Node 20
  // runs behind a V8 flag; "wasm-simd" is the plain SIMD128 module Node 20 picks without it.
  const variants: Record<
    string,
    { backend: string; label: string; execArgv?: string[]; env: Record<string, string> }
  > = {
    native: { backend: "native", label: "native", env: {} },
    wasm: {
      backend: "wasm",
      label: "wasm relaxed",
      execArgv: ["--experimental-wasm-relaxed-simd"],
      env: { QKV_WASM_SIMD: "relaxed" },
    },
    "wasm-simd": { backend: "wasm", label: "wasm simd128", env: { QKV_WASM_SIMD: "simd" } },
  };
  const starting: { id: string; started: Promise<Reply> }[] = [];
  for (const [name, v] of Object.entries(variants)) {
    for (const t of threadList) {
      const id = `node-${name}-${t}`;
      if (!wanted(id)) continue;
      const args = ["--runner", "qkv", "--backend", v.backend, "--threads", String(t)];
      const n = nodeConfig(id, args, { execArgv: v.execArgv, env: v.env });
      starting.push({ id, started: n.started });
      const backend = v.backend;
      add({
        id,
        label: `Node  qkv ${v.label} ${t}T`,
        kind: "qkv",
        where: "node",
        backend,
        threads: t,
        steps: qkvSteps,
        warmup: qkvWarmup,
        ...n,
      });
    }
  }
  const noTfjs = argv.includes("--no-tfjs") ? "--no-tfjs" : tfjsMissing();
  if (noTfjs) skipped.push(`tfjs: ${noTfjs}`);
  else if (wanted("node-tfjs-1")) {
    const n = nodeConfig("node-tfjs-1", ["--runner", "tfjs", "--threads", "1"]);
    starting.push({ id: "node-tfjs-1", started: n.started });
    add({
      id: "node-tfjs-1",
      label: "Node  tfjs wasm 1T",
      kind: "tfjs",
      where: "node",
      backend: "tfjs-wasm",
      threads: 1,
      steps: tfjsSteps,
      warmup: tfjsWarmup,
      ...n,
    });
  }

  // Chromium: one browser per configuration, each page training in a worker.
  let bench: BrowserBench | null = null;
  const noBrowser = argv.includes("--no-browser") ? "--no-browser" : await browserMissing();
  if (noBrowser) skipped.push(`Chromium: ${noBrowser}`);
  else {
    const browserConfigs: [string, "qkv" | "tfjs", number][] = [];
    for (const t of threadList) browserConfigs.push([`chromium-${browserBackend}-${t}`, "qkv", t]);
    if (!noTfjs) for (const t of tfjsThreads) browserConfigs.push([`chromium-tfjs-${t}`, "tfjs", t]);
    const picked = browserConfigs.filter(([id]) => wanted(id));
    if (picked.length) bench = await startBrowserBench();
    for (const [id, kind, t] of picked) {
      const s: BrowserSession = await bench!.open();
      // tfjs's pthreads start only from a page's main thread; qkv trains in a worker.
      const thread = kind === "tfjs" ? "main" : "worker";
      const init = { cmd: "init", runner: kind, backend: browserBackend, threads: t, thread };
      starting.push({ id, started: s.call(init) });
      add({
        id,
        label: `Chrom ${kind === "qkv" ? `qkv ${browserBackend}` : "tfjs wasm"} ${t}T`,
        kind,
        where: "chromium",
        backend: kind === "qkv" ? browserBackend : "tfjs-wasm",
        threads: t,
        steps: kind === "qkv" ? qkvSteps : tfjsSteps,
        warmup: kind === "qkv" ? qkvWarmup : tfjsWarmup,
        call: (msg) => s.call({ ...msg, thread }),
        peakMiB: async () => s.rendererPeakMiB(),
        errors: s.errors,
        close: s.close,
      });
    }
  }

  // Every configuration has loaded before the first timed step.
  const live: Config[] = [];
  for (const { id, started } of starting) {
    const c = configs.find((x) => x.id === id)!;
    const r = await started;
    if (r.error) {
      skipped.push(`${id}: ${String(r.error).split("\n")[0]}`);
      await c.close().catch(() => {});
      continue;
    }
    c.what = String(r.what);
    c.paramCount = Number(r.paramCount);
    if (c.where === "chromium" && r.crossOriginIsolated !== true)
      throw new Error(`${id}: the page is not cross-origin isolated; threads need COOP/COEP`);
    live.push(c);
  }
  if (!live.length) {
    console.log(`nothing to run:\n  ${skipped.join("\n  ")}`);
    await bench?.close();
    return;
  }
  // A benchmark of two different models is worthless: the parameter counts must agree.
  const counts = new Set(live.map((c) => c.paramCount));
  if (counts.size !== 1)
    throw new Error(`parameter counts differ: ${live.map((c) => `${c.id} ${c.paramCount}`).join(", ")}`);

  for (const c of live)
    c.losses.push(...(check(await c.call({ cmd: "round", steps: c.warmup }), c.id).losses as number[]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < live.length; k++) {
      const c = live[(k + r) % live.length]; // rotate who goes first
      const res = check(await c.call({ cmd: "round", steps: c.steps }), c.id);
      c.ms.push(res.ms as number[]);
      c.losses.push(...(res.losses as number[]));
    }
  }
  const peak = new Map<string, number>();
  for (const c of live) peak.set(c.id, await c.peakMiB());
  const decoders = live.filter((c) => c.kind === "qkv");
  for (let r = 0; r < genRounds; r++) {
    for (let k = 0; k < decoders.length; k++) {
      const c = decoders[(k + r) % decoders.length];
      c.tps.push(Number(check(await c.call({ cmd: "generate", tokens }), c.id).tps));
    }
  }
  for (const c of live) await c.close();
  await bench?.close();
  const loadAfter = load();

  // ---- report ----
  const pad = (s: string, n: number) => s.padEnd(n);
  const lpad = (s: string, n: number) => s.padStart(n);
  const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "n/a");
  console.log(
    `\nmachine: ${cpus().length} CPUs (${cpus()[0]?.model}); load average (1, 5, 15 min) ${loadBefore} at the start, ${loadAfter} at the end; Node ${process.version}`,
  );
  console.log(
    `\n== small GPT training step: 4 layers, 4 heads, 128 wide, block 64, batch 12, AdamW; ${live[0].paramCount} parameters ==`,
  );
  console.log(
    `${rounds} interleaved rounds (qkv ${qkvSteps} steps, tfjs ${tfjsSteps} per round, after ${qkvWarmup}/${tfjsWarmup} warm-up steps)`,
  );
  console.log("peak MiB: the Node process's max RSS, or the Chromium renderer's VmHWM");
  console.log(
    `${pad("configuration", 24)}${lpad("ms/step", 10)}${lpad("p25–p75", 18)}${lpad("peak MiB", 10)}  loss first→last   runs`,
  );
  const firstLast = (c: Config) => {
    const k = Math.max(1, Math.min(3, Math.floor(c.losses.length / 3)));
    return { first: mean(c.losses.slice(0, k)), last: mean(c.losses.slice(-k)) };
  };
  const summary: Record<string, unknown>[] = [];
  for (const c of live) {
    const all = c.ms.flat();
    const { first, last } = firstLast(c);
    console.log(
      `${pad(c.label, 24)}${lpad(f(median(all)), 10)}${lpad(`${f(quantile(all, 0.25))}–${f(quantile(all, 0.75))}`, 18)}${lpad(f(peak.get(c.id)!, 0), 10)}  ${f(first, 3)}→${f(last, 3)}    ${c.what}`,
    );
    summary.push({
      id: c.id,
      what: c.what,
      medianMs: median(all),
      p25: quantile(all, 0.25),
      p75: quantile(all, 0.75),
      peakMiB: peak.get(c.id),
      lossFirst: first,
      lossLast: last,
      tps: c.tps,
    });
  }

  // Ratios of per-round medians, paired round by round.
  const byId = new Map(live.map((c) => [c.id, c]));
  const ratio = (a: string, b: string) => {
    const A = byId.get(a);
    const B = byId.get(b);
    if (!A || !B) return null;
    const rs = A.ms.map((m, r) => median(m) / median(B.ms[r]));
    return { med: median(rs), lo: Math.min(...rs), hi: Math.max(...rs) };
  };
  console.log(`\n== ratios of ms/step (per-round: median [min–max]) ==`);
  console.log(`${pad("ratio", 40)}${pad("measured", 22)}target`);
  const ratios: Record<string, unknown>[] = [];
  const show = (name: string, a: string, b: string, target: string, ok: ((v: number) => boolean) | null) => {
    const r = ratio(a, b);
    const text = r ? `${f(r.med, 2)}× [${f(r.lo, 2)}–${f(r.hi, 2)}]` : "n/a";
    const verdict = r && ok ? (ok(r.med) ? "  met" : "  NOT met") : "";
    console.log(`${pad(name, 40)}${pad(text, 22)}${target}${verdict}`);
    if (r) ratios.push({ name, a, b, ...r, target });
  };
  for (const t of threadList)
    show(`wasm / native, Node, ${t}T`, `node-wasm-${t}`, `node-native-${t}`, "≤ 2.5×", (v) => v <= 2.5);
  for (const t of threadList)
    show(
      `wasm simd128 / native, Node, ${t}T`,
      `node-wasm-simd-${t}`,
      `node-native-${t}`,
      "≤ 2.5×",
      (v) => v <= 2.5,
    );
  for (const t of threadList)
    show(
      `Chromium / Node, ${browserBackend} ${t}T`,
      `chromium-${browserBackend}-${t}`,
      `node-${browserBackend}-${t}`,
      "≤ 1.3×",
      (v) => v <= 1.3,
    );
  show("tfjs-wasm / qkv-wasm, Node, 1T", "node-tfjs-1", "node-wasm-1", "≥ 10×", (v) => v >= 10);
  for (const t of tfjsThreads)
    show(
      `tfjs-wasm / qkv-${browserBackend}, Chromium, ${t}T`,
      `chromium-tfjs-${t}`,
      `chromium-${browserBackend}-${t}`,
      "≥ 10×",
      (v) => v >= 10,
    );
  show("tfjs-wasm / qkv-native, Node, 1T", "node-tfjs-1", "node-native-1", "(no target)", null);

  // Same init and batches on every qkv backend: their losses must agree step by step.
  console.log(`\n== checks ==`);
  const failures: string[] = [];
  for (const c of live) {
    const { first, last } = firstLast(c);
    // At init the prediction is near uniform, so batch-to-batch noise in the loss is far below 0.02.
    const fell = last < first - 0.02;
    if (!fell) failures.push(`${c.id}: loss did not fall (${f(first, 3)} → ${f(last, 3)})`);
  }
  const ref = live.find((c) => c.kind === "qkv");
  if (ref) {
    for (const c of live) {
      if (c === ref) continue;
      const n = Math.min(c.losses.length, ref.losses.length);
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(c.losses[i] - ref.losses[i]));
      console.log(`max |loss − ${ref.id}| over ${n} steps: ${c.id} ${worst.toExponential(2)}`);
      if (worst > 1e-2) failures.push(`${c.id}: losses drift from ${ref.id} by ${worst.toExponential(2)}`);
    }
  }
  console.log(
    `parameter count ${live[0].paramCount} in every configuration; every loss fell: ${failures.length ? "NO" : "yes"}`,
  );

  if (decoders.length) {
    console.log(
      `\n== generation: greedy, batch 1, KV cache, ${tokens} new tokens (tok/s, median [min–max] of ${genRounds}) ==`,
    );
    for (const c of decoders)
      console.log(
        `${pad(c.label, 24)}${lpad(f(median(c.tps), 0), 8)}  [${f(Math.min(...c.tps), 0)}–${f(Math.max(...c.tps), 0)}]`,
      );
    const gen = (a: string, b: string) => {
      const A = byId.get(a);
      const B = byId.get(b);
      return A && B ? f(median(A.tps) / median(B.tps), 2) : "n/a";
    };
    for (const t of threadList)
      console.log(
        `native / wasm tok/s, Node, ${t}T: relaxed ${gen(`node-native-${t}`, `node-wasm-${t}`)}, simd128 ${gen(`node-native-${t}`, `node-wasm-simd-${t}`)}; Chromium/Node wasm tok/s ${gen(`chromium-wasm-${t}`, `node-wasm-${t}`)}`,
      );
  }
  for (const c of live)
    if (c.errors?.length) console.log(`\n${c.id}: page console errors:\n  ${c.errors.join("\n  ")}`);
  if (skipped.length) console.log(`\nskipped:\n  ${skipped.join("\n  ")}`);
  const out = flag("json", "");
  if (out)
    writeFileSync(
      out,
      `${JSON.stringify({ rounds, qkvSteps, tfjsSteps, summary, ratios, skipped, failures }, null, 2)}\n`,
    );
  if (failures.length) {
    console.log(`\nFAILED checks:\n  ${failures.join("\n  ")}`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
