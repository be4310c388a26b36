// The wasm backend in a real page: by default after `await ready()`, with worker threads in a
// cross-origin-isolated page and on one thread without isolation. At a given thread count the
// kernels are deterministic and the same module runs in Node, so the page's numbers must equal
// Node's wasm numbers exactly, and the reference cpu backend's to float32 rounding.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CharTokenizer,
  Generator,
  GPT,
  listBackends,
  pretrainedFiles,
  setBackend,
  setWasmThreads,
  stopWasmThreads,
  wasmInfo,
} from "../../src/index.js";
import { bundle, chromiumMissing, type OpenPage, openPage, type Served } from "./harness.js";
import { CONFIG, forwardLogits, sampleFromFiles, trainLosses } from "./pages/spec.js";

const missing =
  chromiumMissing() ?? (listBackends().includes("wasm") ? null : "this build has no wasm backend");
if (missing) console.warn(`test/browser/wasm.test.ts skipped: ${missing}`);

type PageApi = Record<string, (...a: never[]) => unknown>;
const THREADS = 2;
const TEXT = "to be or not to be, that is the question. ";
const PROMPT = "to be";

function nodeCheckpoint(): Map<string, Uint8Array> {
  const tok = CharTokenizer.fromText(TEXT);
  const model = new GPT({ ...CONFIG, vocabSize: tok.vocabSize }, { generator: new Generator(21) }).eval();
  return pretrainedFiles(model, { tokenizer: tok, trainConfig: { model: "gpt" } });
}

/** Opens the test page (isolated or not) and returns it with a caller of its API. */
async function open(isolated: boolean, files: Record<string, Served> = {}) {
  const page = await openPage({ script: await bundle("test/browser/pages/qkv-page.ts"), files, isolated });
  const call = <T>(fn: string, ...args: unknown[]): Promise<T> =>
    page.page.evaluate(
      ([f, a]) => (globalThis as unknown as { qkvPage: PageApi }).qkvPage[f as string](...(a as never[])),
      [fn, args] as const,
    ) as Promise<T>;
  return { page, call };
}

/** Max |a - b| / (1 + |b|) over two equal-length arrays. */
function maxRelDiff(a: readonly number[], b: readonly number[]): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
}

describe.skipIf(missing !== null)("qkv on wasm in chromium", () => {
  const ck = nodeCheckpoint();
  const served: Record<string, Served> = {};
  for (const [n, b] of ck) served[`/ck/${n}`] = { body: b };
  let isolated: Awaited<ReturnType<typeof open>>;
  let pages: OpenPage[] = [];

  // Node's reference numbers: cpu, then wasm at the page's thread count.
  const cpu = { logits: [] as number[], losses: [] as number[], sample: { ids: [] as number[], text: "" } };
  const wasm = {
    logits: [] as number[],
    losses: [] as number[],
    sample: { ids: [] as number[], text: "" },
    variant: "",
  };

  beforeAll(async () => {
    setBackend("cpu");
    cpu.logits = forwardLogits(3);
    cpu.losses = trainLosses(4, 12);
    cpu.sample = await sampleFromFiles(ck, PROMPT);
    setBackend("wasm");
    setWasmThreads(THREADS);
    wasm.variant = wasmInfo()!.variant;
    wasm.logits = forwardLogits(3);
    wasm.losses = trainLosses(4, 12);
    wasm.sample = await sampleFromFiles(ck, PROMPT);
    stopWasmThreads();
    setBackend("cpu");
    isolated = await open(true, served);
    pages.push(isolated.page);
  }, 60_000);
  afterAll(async () => {
    for (const p of pages) await p.close();
    pages = [];
  });

  it("after await ready() a cross-origin-isolated page runs wasm by default, with worker threads", async () => {
    const { call } = isolated;
    expect(await call("isolated")).toBe(true);
    expect(await call("backendName")).toBe("cpu");
    expect(await call("ready")).toBe("wasm");
    expect(await call("backendInfo")).toMatchObject({ name: "wasm", chosenBy: "auto" });
    const info = await call<{ threads: number; threadSupport: string | null }>("wasmInfo");
    expect(info.threadSupport).toBeNull();
    expect(info.threads).toBeGreaterThan(1);
  });

  it(`at ${THREADS} threads the page is deterministic and matches Node's wasm run`, async () => {
    const { call } = isolated;
    const info = await call<{ threads: number; variant: string }>("useWasm", THREADS);
    expect(info.threads).toBe(THREADS);
    const logits = await call<number[]>("forwardLogits", 3);
    expect(await call("forwardLogits", 3)).toEqual(logits);
    const losses = await call<number[]>("trainLosses", 4, 12);
    expect(losses.at(-1)!).toBeLessThan(losses[0] * 0.7);
    const sample = await call("sampleFromServer", [...ck.keys()], PROMPT);
    if (info.variant === wasm.variant) {
      // The same module on the same thread split: bit for bit.
      expect(logits).toEqual(wasm.logits);
      expect(losses).toEqual(wasm.losses);
    } else {
      // Chromium has relaxed SIMD (fused multiply-add) where Node 20 has not: the same math,
      // rounded once instead of twice per multiply-add.
      console.info(`wasm variants differ: page ${info.variant}, Node ${wasm.variant}; comparing to rounding`);
      expect(maxRelDiff(logits, wasm.logits)).toBeLessThan(1e-5);
      expect(maxRelDiff(losses, wasm.losses)).toBeLessThan(1e-4);
    }
    expect(sample).toEqual(wasm.sample);
  });

  it("and agree with the reference cpu backend to float32 rounding, sampling the same tokens", () => {
    expect(maxRelDiff(wasm.logits, cpu.logits)).toBeLessThan(1e-5);
    expect(maxRelDiff(wasm.losses, cpu.losses)).toBeLessThan(1e-4);
    expect(wasm.sample).toEqual(cpu.sample);
  });

  it("without cross-origin isolation the page still runs wasm after ready(), on one thread", async () => {
    const plain = await open(false);
    pages.push(plain.page);
    expect(await plain.call("isolated")).toBe(false);
    expect(await plain.call("ready")).toBe("wasm");
    const info = await plain.call<{ threads: number; threadSupport: string | null }>("wasmInfo");
    expect(info.threads).toBe(1);
    expect(info.threadSupport).toMatch(/SharedArrayBuffer|cross-origin isolated/);
    const logits = await plain.call<number[]>("forwardLogits", 3);
    expect(maxRelDiff(logits, cpu.logits)).toBeLessThan(1e-5);
    expect(plain.page.errors).toEqual([]);
  });

  it("a parallel GEMM as a fresh module's first kernel runs (no race to build the kernel tables)", async () => {
    // Before the tables were built at load, two pool threads could meet wasi's single-threaded
    // static guard mid-initialisation and abort ("RuntimeError: unreachable").
    for (let i = 0; i < 3; i++) {
      const fresh = await open(true);
      pages.push(fresh.page);
      expect(await fresh.call("firstKernelGemm", THREADS, 256)).toBe(256 * 256 * 256 * 0.5);
      expect(fresh.page.errors).toEqual([]);
      await fresh.page.close();
      pages = pages.filter((p) => p !== fresh.page);
    }
  });

  it("the isolated page logged no errors", () => {
    expect(isolated.page.errors).toEqual([]);
  });
});
