/**
 * Where the small GPT's training step spends its time, kernel by kernel, on wasm next to native
 * (bench/profile.ts's method: every backend call is timed, GEMMs grouped by shape and
 * transposes). Each backend runs in its own child process, alternately for --rounds rounds; the
 * table is sorted by the wasm time and shows wasm/native per kernel, so the kernels that miss
 * the 2.5× target stand out. The step is bench/wasm-model.ts's (bench/train.ts's config).
 *
 *   node --import tsx bench/wasm-profile.ts [--threads 1] [--steps 10] [--rounds 2] [--backends native,wasm] [--top 25]
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend } from "../src/backend/backend.js";
import { backend, setBackend } from "../src/backend/select.js";
import { type QkvBackendName, useQkvBackend } from "./wasm-backends.js";
import { qkvRunner } from "./wasm-model.js";

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const threads = Number(flag("threads", "1"));
const steps = Number(flag("steps", "10"));
type Stats = Record<string, { n: number; ms: number }>;

/** Wraps the selected backend so every kernel call is timed under a descriptive key. */
function timedBackend(inner: Backend, stats: Stats): Backend {
  const timed = Object.create(Object.getPrototypeOf(inner)) as Record<string, unknown>;
  for (const [k, f] of Object.entries(inner)) {
    if (typeof f !== "function") {
      timed[k] = f;
      continue;
    }
    timed[k] = (...args: unknown[]) => {
      const t = performance.now();
      const r = (f as (...a: unknown[]) => unknown).apply(inner, args);
      const ms = performance.now() - t;
      let key = k;
      if (k === "gemm") {
        const g = args[0] as { M: number; N: number; K: number; transA: boolean; transB: boolean };
        key = `gemm ${g.M}×${g.N}×${g.K} ${g.transA ? "T" : "N"}${g.transB ? "T" : "N"}`;
      } else if (["unary", "unaryBackward", "binary", "reduce"].includes(k))
        key = `${k} ${(args[0] as { op: string }).op}`;
      const s = stats[key] ?? (stats[key] = { n: 0, ms: 0 });
      s.n++;
      s.ms += ms;
      return r;
    };
  }
  return timed as unknown as Backend;
}

/** Child: profile `steps` steps on one backend and print {stepMs, stats} as JSON. */
async function child(name: QkvBackendName): Promise<void> {
  await useQkvBackend(name, threads);
  const stats: Stats = {};
  setBackend(timedBackend(backend(), stats));
  const text = readFileSync(join(here, "../data/tinyshakespeare.txt"), "utf8");
  const runner = qkvRunner(text);
  for (let i = 0; i < 3; i++) runner.step();
  for (const k of Object.keys(stats)) delete stats[k];
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) runner.step();
  const stepMs = (performance.now() - t0) / steps;
  console.log(JSON.stringify({ stepMs, stats }));
}

function parent(): void {
  const names = flag("backends", "native,wasm").split(",");
  const rounds = Number(flag("rounds", "2"));
  const acc = new Map<string, { stepMs: number[]; stats: Stats }>();
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length];
      const res = spawnSync(
        process.execPath,
        // relaxed SIMD (the module Chromium and Node ≥ 22 pick) is behind a flag in Node 20
        [
          "--experimental-wasm-relaxed-simd",
          "--import",
          "tsx",
          fileURLToPath(import.meta.url),
          "--child",
          name,
          ...argv,
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
      );
      const line = res.stdout.trim().split("\n").pop() ?? "";
      if (res.status !== 0 || !line.startsWith("{")) {
        console.log(`${name}: failed (${res.status}) ${line}`);
        continue;
      }
      const { stepMs, stats } = JSON.parse(line) as { stepMs: number; stats: Stats };
      const a = acc.get(name) ?? { stepMs: [], stats: {} };
      a.stepMs.push(stepMs);
      for (const [key, s] of Object.entries(stats)) {
        const t = a.stats[key] ?? (a.stats[key] = { n: 0, ms: 0 });
        t.n += s.n;
        t.ms += s.ms;
      }
      acc.set(name, a);
    }
  }
  const present = names.filter((n) => acc.has(n));
  if (!present.length) return;
  const per = (name: string, key: string) => {
    const a = acc.get(name)!;
    const s = a.stats[key];
    return s ? s.ms / (steps * a.stepMs.length) : 0;
  };
  const calls = (name: string, key: string) => {
    const a = acc.get(name)!;
    return (a.stats[key]?.n ?? 0) / (steps * a.stepMs.length);
  };
  const sortBy = present[present.length - 1];
  const keys = [...new Set(present.flatMap((n) => Object.keys(acc.get(n)!.stats)))].sort(
    (a, b) => per(sortBy, b) - per(sortBy, a),
  );
  console.log(
    `\n== per-kernel time of one training step, ${threads} thread(s), ${steps} steps × ${rounds} rounds ==`,
  );
  for (const n of present) {
    const a = acc.get(n)!;
    const step = a.stepMs.reduce((s, v) => s + v, 0) / a.stepMs.length;
    const inK = keys.reduce((s, k) => s + per(n, k), 0);
    console.log(
      `${n.padEnd(8)} ${step.toFixed(1)} ms/step: ${inK.toFixed(1)} in kernels, ${(step - inK).toFixed(1)} outside`,
    );
  }
  const ratioCol = present.length === 2;
  console.log(
    `${present.map((n) => `${n} ms`.padStart(11)).join("")}${ratioCol ? `${present[1]}/${present[0]}`.padStart(13) : ""}  calls/step  kernel`,
  );
  for (const k of keys.slice(0, Number(flag("top", "25")))) {
    const cols = present.map((n) => per(n, k).toFixed(2).padStart(11)).join("");
    const ratio =
      ratioCol && per(present[0], k) > 0 ? `${(per(present[1], k) / per(present[0], k)).toFixed(2)}×` : "";
    console.log(
      `${cols}${ratioCol ? ratio.padStart(13) : ""}  ${String(calls(sortBy, k)).padStart(10)}  ${k}`,
    );
  }
}

const childName = argv.includes("--child") ? flag("child", "") : "";
if (childName) await child(childName as QkvBackendName);
else parent();
