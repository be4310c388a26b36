/**
 * The wasm backend's worker pool. Each worker instantiates the same compiled module on the same
 * shared memory, gets its own stack and TLS block (allocated here, in the module's heap), and then
 * stays inside `qkv_worker_loop` (native/pool_wasm.cc), waiting on an atomic for jobs.
 *
 * Browser: Web Workers from a Blob URL (so a bundle needs no worker file), in cross-origin-isolated
 * pages. Node: worker_threads, reached through `process.getBuiltinModule` (no `node:` import, so the
 * library still bundles for a browser); the workers are unref'd, so they never keep a process alive.
 */
import { STACK_BYTES, type WasmRuntime } from "./runtime.js";

/** The body of every worker: instantiate, take the given stack and TLS, enter the loop. */
const WORKER_BODY = `
function qkvRun(d) {
  const stub = () => 52;
  const inst = new WebAssembly.Instance(d.module, {
    env: { memory: d.memory },
    wasi_snapshot_preview1: { fd_close: stub, fd_seek: stub, fd_write: stub },
  });
  const ex = inst.exports;
  ex.__stack_pointer.value = d.stack;
  ex.__wasm_init_tls(d.tls);
  ex.qkv_worker_loop(d.tid);
}`;
const NODE_WORKER = `${WORKER_BODY}
qkvRun(require("worker_threads").workerData);
`;
const WEB_WORKER = `${WORKER_BODY}
self.onmessage = (e) => { self.onmessage = null; qkvRun(e.data); self.postMessage("done"); };
`;

interface AnyWorker {
  terminate(): unknown;
}
interface NodeWorkerThreads {
  Worker: new (
    code: string,
    opts: { eval: boolean; workerData: unknown; execArgv: string[] },
  ) => AnyWorker & { unref(): void; on(ev: string, f: (e: unknown) => void): void };
}

type Env = {
  process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown };
  Worker?: new (
    url: string,
  ) => AnyWorker & {
    postMessage(m: unknown): void;
    onerror: ((e: unknown) => void) | null;
  };
  crossOriginIsolated?: boolean;
  SharedArrayBuffer?: unknown;
  Blob?: new (parts: string[], opts: { type: string }) => unknown;
  URL?: { createObjectURL(b: unknown): string };
};

const workers: { w: AnyWorker; stack: number; tls: number }[] = [];
let lastError: string | null = null;

function nodeThreads(): NodeWorkerThreads | null {
  const g = globalThis as Env;
  if (!g.process?.versions?.node) return null;
  return (g.process.getBuiltinModule?.("node:worker_threads") as NodeWorkerThreads | undefined) ?? null;
}

/** null when worker threads can run here, else why not. */
export function threadSupport(): string | null {
  const g = globalThis as Env;
  if (typeof g.SharedArrayBuffer !== "function") return "no SharedArrayBuffer";
  if (g.process?.versions?.node) {
    return nodeThreads()
      ? null
      : "node:worker_threads unavailable (process.getBuiltinModule needs Node ≥ 20.16)";
  }
  if (g.crossOriginIsolated === false) return "the page is not cross-origin isolated (COOP/COEP headers)";
  if (typeof g.Worker !== "function") return "no Worker";
  return null;
}

/** Workers started so far (they join the pool as soon as they reach their loop). */
export function workerCount(): number {
  return workers.length;
}

/** The last worker error, or null. */
export function workerError(): string | null {
  return lastError;
}

function spawn(rt: WasmRuntime, tid: number): AnyWorker {
  const ex = rt.exports;
  const stack = rt.malloc(STACK_BYTES) + STACK_BYTES;
  const tls = rt.alignedAlloc(ex.__tls_size.value as number, ex.__tls_align.value as number);
  const data = { module: rt.module, memory: rt.memory, tid, stack, tls };
  const wt = nodeThreads();
  let w: AnyWorker;
  if (wt) {
    // no inherited options: the body is a CommonJS script even under --input-type=module or loaders
    const nw = new wt.Worker(NODE_WORKER, { eval: true, workerData: data, execArgv: [] });
    nw.unref();
    nw.on("error", (e) => {
      lastError = e instanceof Error ? e.message : String(e);
    });
    w = nw;
  } else {
    const g = globalThis as Env;
    if (!g.Worker || !g.Blob || !g.URL) throw new Error("no Worker");
    const url = g.URL.createObjectURL(new g.Blob([WEB_WORKER], { type: "text/javascript" }));
    const ww = new g.Worker(url);
    ww.onerror = (e) => {
      lastError = String((e as { message?: string }).message ?? e);
    };
    ww.postMessage(data);
    w = ww;
  }
  workers.push({ w, stack: stack - STACK_BYTES, tls });
  return w;
}

/**
 * Starts workers until `count` exist, then waits until they are in their loops: blocking (Node and
 * workers may block) or by polling (a page's main thread may not).
 */
export function startWorkers(rt: WasmRuntime, count: number, sync: true): void;
export function startWorkers(rt: WasmRuntime, count: number, sync: false): Promise<void>;
export function startWorkers(rt: WasmRuntime, count: number, sync: boolean): void | Promise<void> {
  rt.exports.qkv_pool_resume();
  while (workers.length < count) spawn(rt, workers.length + 1);
  const online = () => rt.exports.qkv_pool_online();
  const addr = rt.exports.qkv_pool_online_addr() >> 2;
  const deadline = Date.now() + 20000;
  if (sync) {
    while (online() < count && Date.now() < deadline) {
      const i32 = rt.views().i32;
      const seen = Atomics.load(i32, addr);
      if (seen >= count) break;
      Atomics.wait(i32, addr, seen, 50);
    }
    return;
  }
  return (async () => {
    while (online() < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  })();
}

/** Asks the workers to leave their loops, then ends them. */
export function stopWorkers(rt: WasmRuntime): void {
  rt.exports.qkv_pool_stop();
  const deadline = Date.now() + 2000;
  const addr = rt.exports.qkv_pool_online_addr() >> 2;
  const canWait = !!(globalThis as Env).process?.versions?.node;
  while (rt.exports.qkv_pool_online() > 0 && Date.now() < deadline) {
    const i32 = rt.views().i32;
    const seen = Atomics.load(i32, addr);
    if (seen === 0) break;
    if (canWait) Atomics.wait(i32, addr, seen, 20);
  }
  const left = rt.exports.qkv_pool_online() === 0;
  for (const { w, stack, tls } of workers.splice(0)) {
    void w.terminate();
    // a worker that left its loop no longer uses its stack and TLS
    if (left) {
      rt.free(stack);
      if (tls) rt.free(tls);
    }
  }
}
