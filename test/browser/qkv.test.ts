// The bundled library in a real page (Debian's chromium): the same seeded computations as in Node
// must give the same numbers, training must lower the loss, a checkpoint made in Node must load
// from bytes and sample the same tokens, and the default backend must be the fastest that loads.
// Skipped, with the reason printed, only where /usr/bin/chromium is absent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CharTokenizer, Generator, GPT, pretrainedFiles } from "../../src/index.js";
import { bundle, chromiumMissing, type OpenPage, openPage, type Served } from "./harness.js";
import { CONFIG, forwardLogits, sampleFromFiles, trainLosses } from "./pages/spec.js";

const missing = chromiumMissing();
if (missing) console.warn(`test/browser/qkv.test.ts: ${missing}`);

type PageApi = Record<string, (...a: never[]) => unknown>;

const TEXT = "to be or not to be, that is the question. ";
const PROMPT = "to be";

/** A checkpoint made in Node: a seeded GPT over a character vocabulary, as the CLI's files. */
function nodeCheckpoint(): Map<string, Uint8Array> {
  const tok = CharTokenizer.fromText(TEXT);
  const model = new GPT({ ...CONFIG, vocabSize: tok.vocabSize }, { generator: new Generator(21) }).eval();
  return pretrainedFiles(model, { tokenizer: tok, trainConfig: { model: "gpt" } });
}

describe.skipIf(missing !== null)("qkv in chromium", () => {
  let page: OpenPage;
  const ck = nodeCheckpoint();
  const call = <T>(fn: string, ...args: unknown[]): Promise<T> =>
    page.page.evaluate(
      ([f, a]) => (globalThis as unknown as { qkvPage: PageApi }).qkvPage[f as string](...(a as never[])),
      [fn, args] as const,
    ) as Promise<T>;

  beforeAll(async () => {
    const files: Record<string, Served> = {};
    for (const [n, b] of ck) files[`/ck/${n}`] = { body: b };
    page = await openPage({ script: await bundle("test/browser/pages/qkv-page.ts"), files });
  }, 60_000);
  afterAll(async () => {
    await page?.close();
  });

  it("the page is cross-origin isolated and GPT.fromPretrained names the browser API", async () => {
    expect(await call("isolated")).toBe(true);
    const err = await call<{ name: string; message: string }>("fromPretrainedError");
    expect(err.name).toBe("QkvError");
    expect(err.message).toMatch(/Node-only.*loadPretrained\(GPT, files\) from "qkv"/);
  });

  it("before ready() the page computes on cpu; ready() picks the fastest that loads", async () => {
    expect(await call("backendName")).toBe("cpu");
    const info = await call<{ skipped: { name: string; reason: string }[] }>("backendInfo");
    expect(info.skipped[0]).toEqual({ name: "native", reason: "not running on Node.js" });
    // With the wasm backend in this build, a page's default after ready() is wasm; without it, cpu.
    const expected = (await call<string[]>("listBackends")).includes("wasm") ? "wasm" : "cpu";
    expect(await call<string>("ready")).toBe(expected);
    expect(await call("backendInfo")).toMatchObject({ name: expected, chosenBy: "auto" });
    await call("setBackend", "cpu");
  });

  it("forward logits on cpu equal Node's for the same seed, bit for bit", async () => {
    await call("setBackend", "cpu");
    const mine = forwardLogits(3);
    const theirs = await call<number[]>("forwardLogits", 3);
    expect(theirs.length).toBe(2 * CONFIG.blockSize * CONFIG.vocabSize);
    expect(theirs).toEqual(mine);
  });

  it("training a few steps in the page lowers the loss, as in Node", async () => {
    await call("setBackend", "cpu");
    const theirs = await call<number[]>("trainLosses", 4, 12);
    expect(theirs.at(-1)!).toBeLessThan(theirs[0] * 0.7);
    expect(theirs).toEqual(trainLosses(4, 12));
  });

  it("a checkpoint made in Node, fetched as bytes or given as File objects, samples Node's tokens", async () => {
    await call("setBackend", "cpu");
    const names = [...ck.keys()];
    const mine = await sampleFromFiles(ck, PROMPT);
    expect(mine.ids.length).toBe(24);
    expect(await call("sampleFromServer", names, PROMPT)).toEqual(mine);
    expect(await call("sampleFromFileObjects", names, PROMPT)).toEqual(mine);
  });

  it("the page logged no errors", () => {
    expect(page.errors).toEqual([]);
  });
});
