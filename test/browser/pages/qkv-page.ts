/**
 * The page of test/browser/qkv.test.ts: the bundled library with spec.ts's computations exposed on
 * `globalThis.qkvPage` for page.evaluate. The checkpoint files are fetched from /ck/<name>.
 */
import {
  backendInfo,
  full,
  GPT,
  getBackendName,
  initWasm,
  listBackends,
  matmul,
  ones,
  ready,
  setBackend,
  wasmInfo,
} from "../../../src/index.js";
import { forwardLogits, sampleFromFiles, trainLosses } from "./spec.js";

const api = {
  backendName: () => getBackendName(),
  backendInfo: () => backendInfo(),
  listBackends: () => listBackends(),
  ready: () => ready(),
  setBackend: (name: string) => setBackend(name).name,
  /** Starts the wasm backend with `threads` threads (asynchronously, as a main thread must) and selects it. */
  async useWasm(threads: number) {
    setBackend(await initWasm({ threads }));
    return wasmInfo();
  },
  wasmInfo: () => wasmInfo(),
  /**
   * Starts wasm with `threads` threads and makes a parallel GEMM its very first kernel (the pool
   * threads then reach the micro-kernel tables together), returning the sum of A·B's entries.
   */
  async firstKernelGemm(threads: number, n: number) {
    setBackend(await initWasm({ threads }));
    const a = ones([n, n]);
    const b = full([n, n], 0.5);
    return matmul(a, b).sum().item();
  },
  isolated: () => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
  forwardLogits,
  trainLosses,
  /** Fetches the named checkpoint files, as a page that downloads a model would, and samples. */
  async sampleFromServer(names: string[], prompt: string) {
    const files = new Map<string, ArrayBuffer>();
    for (const n of names) {
      const r = await fetch(`/ck/${n}`);
      if (!r.ok) throw new Error(`GET /ck/${n}: ${r.status}`);
      files.set(n, await r.arrayBuffer());
    }
    return sampleFromFiles(files, prompt);
  },
  /** The same, with File objects (what a folder pick or a drop hands the page). */
  async sampleFromFileObjects(names: string[], prompt: string) {
    const files: File[] = [];
    for (const n of names)
      files.push(new File([new Uint8Array(await (await fetch(`/ck/${n}`)).arrayBuffer())], n));
    return sampleFromFiles(files, prompt);
  },
  fromPretrainedError(): { name: string; message: string } | null {
    try {
      GPT.fromPretrained("gpt2");
      return null;
    } catch (e) {
      return { name: (e as Error).name, message: (e as Error).message };
    }
  },
};

(globalThis as { qkvPage?: typeof api }).qkvPage = api;
