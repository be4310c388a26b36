/**
 * One configuration of bench/wasm.ts in its own Node process (so its peak RSS is its own):
 * `--runner qkv|tfjs --backend native|wasm --threads N`. It builds the model, then answers the
 * parent's IPC messages: {cmd: "round", steps} → per-step ms and losses; {cmd: "generate",
 * tokens} → tokens/s; {cmd: "stats"} → peak RSS; {cmd: "exit"}.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadTfjsNode } from "./tfjs-bundle.js";
import { type QkvBackendName, useQkvBackend } from "./wasm-backends.js";
import { type BenchRunner, qkvRunner, tfjsRunner } from "./wasm-model.js";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const send = (m: unknown) => process.send!(m);

async function main(): Promise<void> {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const text = readFileSync(join(root, "data/tinyshakespeare.txt"), "utf8");
  const threads = Number(flag("threads", "1"));
  let runner: BenchRunner;
  let what: string;
  if (flag("runner", "qkv") === "tfjs") {
    const tfjs = await loadTfjsNode(threads);
    what = `tfjs ${tfjs.tf.getBackend()} (${tfjs.getThreadsCount()} thread(s))`;
    runner = tfjsRunner(tfjs, text);
  } else {
    what = await useQkvBackend(flag("backend", "native") as QkvBackendName, threads);
    runner = qkvRunner(text);
  }
  send({ ready: true, what, paramCount: runner.paramCount });
  process.on("message", (m: { cmd: string; steps?: number; tokens?: number }) => {
    try {
      if (m.cmd === "round") {
        const ms: number[] = [];
        const losses: number[] = [];
        for (let i = 0; i < m.steps!; i++) {
          const t0 = performance.now();
          losses.push(runner.step());
          ms.push(performance.now() - t0);
        }
        send({ ms, losses });
      } else if (m.cmd === "generate") {
        send({ tps: runner.generate ? runner.generate(m.tokens!) : null });
      } else if (m.cmd === "stats") {
        send({ peakRssMiB: process.resourceUsage().maxRSS / 1024 });
      } else if (m.cmd === "exit") {
        process.exit(0);
      }
    } catch (e) {
      send({ error: String((e as Error)?.stack ?? e) });
    }
  });
}

main().catch((e) => {
  send({ error: String((e as Error)?.stack ?? e) });
  process.exit(1);
});
