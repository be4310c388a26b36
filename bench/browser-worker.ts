/**
 * The page side of bench/wasm.ts: a module Web Worker (bundled by bench/browser-harness.ts) that
 * runs one configuration, answering the same messages as bench/wasm-child.ts does in Node. It
 * trains in a worker, as the playground does, because a page's main thread may not block on the
 * atomics that the thread pools wait on.
 */
import * as tfEntry from "./tfjs-entry.js";
import { type QkvBackendName, useQkvBackend } from "./wasm-backends.js";
import { type BenchRunner, qkvRunner, tfjsRunner } from "./wasm-model.js";

type Msg = {
  cmd: string;
  runner?: string;
  backend?: string;
  threads?: number;
  steps?: number;
  tokens?: number;
};
const scope = globalThis as unknown as {
  onmessage: ((e: { data: Msg }) => void) | null;
  postMessage(m: unknown): void;
  crossOriginIsolated?: boolean;
};
let runner: BenchRunner | null = null;

async function init(m: Msg): Promise<unknown> {
  const text = await (await fetch("/data/tinyshakespeare.txt")).text();
  const threads = m.threads ?? 1;
  let what: string;
  if (m.runner === "tfjs") {
    tfEntry.setWasmPaths("/tfjs/");
    tfEntry.setThreadsCount(threads);
    await tfEntry.tf.setBackend("wasm");
    await tfEntry.tf.ready();
    what = `tfjs ${tfEntry.tf.getBackend()} (${tfEntry.getThreadsCount()} thread(s))`;
    runner = tfjsRunner(tfEntry, text);
  } else {
    what = await useQkvBackend((m.backend ?? "wasm") as QkvBackendName, threads);
    runner = qkvRunner(text);
  }
  return { ready: true, what, paramCount: runner.paramCount, crossOriginIsolated: scope.crossOriginIsolated };
}

async function handle(m: Msg): Promise<unknown> {
  if (m.cmd === "init") return init(m);
  if (!runner) throw new Error(`"${m.cmd}" before "init"`);
  if (m.cmd === "round") {
    const ms: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < m.steps!; i++) {
      const t0 = performance.now();
      losses.push(runner.step());
      ms.push(performance.now() - t0);
    }
    return { ms, losses };
  }
  if (m.cmd === "generate") return { tps: runner.generate ? runner.generate(m.tokens!) : null };
  throw new Error(`unknown command "${m.cmd}"`);
}

scope.onmessage = (e) => {
  handle(e.data).then(
    (r) => scope.postMessage(r),
    (err) => scope.postMessage({ error: String((err as Error)?.stack ?? err) }),
  );
};
