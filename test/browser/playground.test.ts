/**
 * The playground end to end in Debian's Chromium: the page is built (scripts/build-playground.mjs)
 * and served by `qkv serve`'s server; it trains a tiny GPT in its worker until the validation loss
 * falls, streams a sample, draws attention maps with hover text, opens a checkpoint folder made by
 * `qkv train` and samples exactly what `qkv sample` prints for the same seed and settings, and
 * downloads its own model as a zip that `qkv sample` opens and continues identically.
 * Screenshots go to /work/shots (or QKV_SHOTS), outside the repository.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../../cli/serve.js";
import { unzip } from "../../playground/zip.js";
import { chromiumMissing, type OpenPage, openUrl, waitUnlessError } from "./harness.js";

const ROOT = resolve(import.meta.dirname, "../..");
const SHOTS = process.env.QKV_SHOTS ?? "/work/shots";
const tmp = mkdtempSync(join(tmpdir(), "qkv-playground-"));

/**
 * `qkv args…` from source, without blocking the event loop; on the reference backend unless
 * `backend` names another (the page is told the same one, so sampled tokens can match exactly).
 */
function qkv(
  args: string[],
  backend = "cpu",
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "cli/entry.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, QKV_BACKEND: backend, CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}

/** Sampling settings typed into the page; the same values go to `qkv sample` as flags. */
const SAMPLE = { prompt: "ROMEO:", seed: 7, temperature: 0.8, topK: 20, topP: 0.9, maxNewTokens: 40 };
const SAMPLE_FLAGS = [
  "--prompt",
  SAMPLE.prompt,
  "--seed",
  String(SAMPLE.seed),
  "--temperature",
  String(SAMPLE.temperature),
  "--top-k",
  String(SAMPLE.topK),
  "--top-p",
  String(SAMPLE.topP),
  "--max-new-tokens",
  String(SAMPLE.maxNewTokens),
];

async function sampleInPage(page: Page): Promise<string> {
  await page.fill("#g-prompt", SAMPLE.prompt);
  await page.fill("#g-seed", String(SAMPLE.seed));
  await page.fill("#g-maxNewTokens", String(SAMPLE.maxNewTokens));
  for (const [id, v] of [
    ["#g-temperature", SAMPLE.temperature],
    ["#g-topK", SAMPLE.topK],
    ["#g-topP", SAMPLE.topP],
  ] as const)
    await page.locator(id).evaluate((el, value) => {
      const input = el as unknown as { value: string; dispatchEvent(e: unknown): boolean };
      input.value = String(value);
      input.dispatchEvent(new Event("input")); // the label beside the slider shows the value
    }, v);
  await page.click("#btn-generate");
  await waitUnlessError(page, '#gen-output[data-state="done"]');
  return (await page.textContent("#gen-output")) ?? "";
}

/** The part of a page's canvas the checks read (Node's types have no DOM). */
interface PageCanvas {
  width: number;
  getContext(kind: "2d"): {
    getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
  };
}

const missing = chromiumMissing();
if (missing) console.warn(`test/browser/playground.test.ts: ${missing}`);

let server: RunningServer;
let opened: OpenPage;
let page: Page;
let downloadedZip: Buffer;
let downloadedText: string;
let cliRun: Promise<{ code: number | null; stdout: string; stderr: string }>;

beforeAll(async () => {
  if (missing) return;
  // A checkpoint from the CLI, trained while the browser works: tiny GPT, 6 steps.
  cliRun = qkv([
    "train",
    "--preset",
    "tiny",
    "--max-iters",
    "6",
    "--eval-interval",
    "6",
    "--eval-iters",
    "2",
    "--sample-tokens",
    "0",
    "--out-dir",
    join(tmp, "cli-run"),
    "--quiet",
  ]);
  const dist = join(tmp, "dist");
  const built = spawnSync(process.execPath, [join(ROOT, "scripts/build-playground.mjs"), dist], {
    encoding: "utf8",
  });
  if (built.status !== 0) throw new Error(`build-playground failed:\n${built.stderr}`);
  server = await startServer({ root: dist, port: 0, host: "127.0.0.1" });
  // The reference backend, as the `qkv` runs compared with it use (the wasm case opens its own page).
  opened = await openUrl(`${server.url}?backend=cpu`);
  page = opened.page;
  // CI machines can be several times slower than a workstation; the tests' own limit is below.
  page.setDefaultTimeout(150_000);
  await page.setViewportSize({ width: 1360, height: 900 });
}, 120_000);

afterAll(async () => {
  await opened?.close();
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(missing !== null)("the playground in Chromium", { timeout: 180_000 }, () => {
  afterEach(async (ctx) => {
    // On a failure, say what the page showed: its error line, step counter and logged errors.
    if (ctx.task.result?.state !== "fail" || !page) return;
    const shown = await page
      .evaluate(`[
      document.getElementById("error").hidden ? "(no error shown)" : document.getElementById("error").textContent,
      "step " + document.getElementById("s-step").textContent,
    ].join("; ")`)
      .catch((e: Error) => `page unreadable: ${e.message}`);
    console.error(
      `playground after "${ctx.task.name}": ${shown}; logged: ${opened.errors.join(" | ") || "none"}`,
    );
  });

  it("loads cross-origin isolated, with the worker ready", async () => {
    const res = await fetch(server.url);
    expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(res.headers.get("cross-origin-embedder-policy")).toBe("require-corp");
    await waitUnlessError(page, '#chip-backend[data-backend="cpu"]');
    expect(await page.evaluate("crossOriginIsolated")).toBe(true);
    expect(await page.textContent("#chip-isolated")).toMatch(/^isolated/);
  });

  it("trains in the worker: the validation loss falls while the page keeps drawing frames", async () => {
    // 40 steps of the tiny preset on Tiny Shakespeare; warmup is a tenth of the steps.
    await page.fill("#f-maxIters", "40");
    await page.fill("#f-lr", "0.004");
    const framesBefore = Number(await page.getAttribute("#ui-meter", "data-frames"));
    await page.click("#btn-train");
    await waitUnlessError(page, "#btn-pause:not([disabled])");
    // Pause: once the page shows Resume, no step runs until it is clicked (a sample is a round trip
    // through the worker's queue, after which the step count must not have moved).
    // The page clicks Pause itself on the frame that shows step 5, so a slow machine's round trip to
    // the test cannot let the run finish first (then Resume would stay disabled).
    await waitUnlessError(page, {
      expression: `(() => {
      if (Number(document.getElementById("s-step").textContent) < 5) return false;
      document.getElementById("btn-pause").click();
      return true;
    })()`,
    });
    await waitUnlessError(page, "#btn-resume:not([disabled])");
    const paused = await page.textContent("#s-step");
    await page.fill("#g-maxNewTokens", "5");
    await page.click("#btn-generate");
    await waitUnlessError(page, '#gen-output[data-state="done"]');
    expect(await page.textContent("#s-step")).toBe(paused);
    expect(Number(paused)).toBeLessThan(40);
    await page.click("#btn-resume");
    // Finished: the final evaluation at step 40 has been drawn and the run stopped.
    await waitUnlessError(page, '#val-history[data-last-iter="40"]');
    await waitUnlessError(page, "#btn-pause[disabled]");
    const first = Number(await page.getAttribute("#val-history", "data-first"));
    const last = Number(await page.getAttribute("#val-history", "data-last"));
    // A fresh char model starts near ln(65) ≈ 4.17 nats; 40 steps of AdamW must improve on that.
    expect(first).toBeGreaterThan(3.9);
    expect(last).toBeLessThan(first - 0.4);
    expect(await page.textContent("#s-step")).toBe("40");
    // The curve is drawn: the chart holds pixels of the smoothed line's colour (#4f46e5).
    const linePixels = await page.locator("#loss-chart").evaluate((el) => {
      const c = el as unknown as PageCanvas & { height: number };
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] === 0x4f && d[i + 1] === 0x46 && d[i + 2] === 0xe5) n++;
      return n;
    });
    expect(linePixels).toBeGreaterThan(100);
    expect(Number((await page.textContent("#s-tps"))!.replace(/,/g, ""))).toBeGreaterThan(0);
    // The page's own thread drew frames throughout (requestAnimationFrame kept running).
    const framesAfter = Number(await page.getAttribute("#ui-meter", "data-frames"));
    expect(framesAfter).toBeGreaterThan(framesBefore + 10);
    expect(await page.isHidden("#error")).toBe(true);
    await shot(page, "playground-train.png");
  });

  it("streams a sample token by token", async () => {
    await page.fill("#g-prompt", "ROMEO:");
    await page.fill("#g-maxNewTokens", "60");
    // Count the updates of the output while it streams.
    // (Code that needs page globals is passed as a string: Node's types have no DOM.)
    await page.evaluate(`
      window.updates = 0;
      new MutationObserver(() => window.updates++).observe(document.getElementById("gen-text"), {
        childList: true, characterData: true, subtree: true,
      });`);
    await page.click("#btn-generate");
    await waitUnlessError(page, '#gen-output[data-state="done"]');
    const text = (await page.textContent("#gen-text")) ?? "";
    expect(Array.from(text)).toHaveLength(60); // one character per token
    expect(await page.evaluate("window.updates")).toBeGreaterThan(10);
    expect(await page.textContent("#gen-stats")).toMatch(/60 tokens/);
  });

  it("draws one attention map per layer and head, with the token pair and weight on hover", async () => {
    await page.fill("#a-prompt", "ROMEO: But soft");
    await page.click("#btn-attention");
    await waitUnlessError(page, "#attn-grid canvas");
    expect(await page.locator("#attn-grid canvas").count()).toBe(2 * 2); // tiny: 2 layers × 2 heads
    // Pixels: the lower triangle (i ≥ j) is coloured from viridis, the masked upper one is the pale fill.
    const px = await page
      .locator("#attn-grid canvas")
      .first()
      .evaluate((el) => {
        const canvas = el as unknown as PageCanvas;
        const g = canvas.getContext("2d");
        const cell = canvas.width / 15;
        const at = (i: number, j: number) =>
          Array.from(g.getImageData(j * cell + 1, i * cell + 1, 1, 1).data);
        return { diag: at(7, 7), below: at(10, 2), above: at(2, 10) };
      });
    expect(px.above.slice(0, 3)).toEqual([0xf1, 0xf2, 0xf7]);
    for (const p of [px.diag, px.below]) {
      expect(p[3]).toBe(255);
      expect(p.slice(0, 3)).not.toEqual([0xf1, 0xf2, 0xf7]);
    }
    // Hover cell (query 10, key 2) of the enlarged map: 22 px of labels, then `cell` px per token.
    const big = page.locator("#attn-big");
    await big.scrollIntoViewIfNeeded();
    const box = (await big.boundingBox())!;
    const width = await big.evaluate((el) => (el as unknown as PageCanvas).width);
    const scale = box.width / width;
    const cell = (width - 22) / 15;
    await big.hover({ position: { x: (22 + 2.5 * cell) * scale, y: (22 + 10.5 * cell) * scale } });
    const readout = (await page.textContent("#attn-readout")) ?? "";
    const m = /^layer 0 · head 0 · query "(.)" \(#10\) → key "(.)" \(#2\): (\d\.\d{4})$/.exec(readout);
    expect(m, readout).not.toBeNull();
    expect([m![1], m![2]]).toEqual(["␣", "M"]); // "ROMEO: But soft"[10] is the space, [2] the "M"
    expect(Number(m![3])).toBeGreaterThan(0);
    expect(Number(m![3])).toBeLessThan(1);
    expect(await page.isVisible("#tooltip")).toBe(true);
    await shot(page, "playground-attention.png");
  });

  it("downloads the trained model as a zip that qkv sample opens and continues identically", async () => {
    const pageText = await sampleInPage(page);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#btn-download")]);
    const zipPath = join(tmp, download.suggestedFilename());
    await download.saveAs(zipPath);
    expect(download.suggestedFilename()).toBe("qkv-playground-step40.zip");
    const folder = join(tmp, "downloaded");
    for (const e of await unzip(readFileSync(zipPath))) {
      mkdirSync(dirname(join(folder, e.name)), { recursive: true });
      writeFileSync(join(folder, e.name), e.data);
    }
    const ck = join(folder, "qkv-playground-step40");
    expect(readdirSync(ck).sort()).toEqual([
      "config.json",
      "model.safetensors",
      "tokenizer.json",
      "train_config.json",
      "trainer_state.json",
    ]);
    const r = await qkv(["sample", "--checkpoint", ck, ...SAMPLE_FLAGS]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pageText}\n`); // qkv sample prints the prompt, the sample, a newline
    const info = await qkv(["info", "--checkpoint", ck]);
    expect(info.code).toBe(0);
    downloadedZip = readFileSync(zipPath);
    downloadedText = pageText;
  });

  it("opens a folder from qkv train and samples exactly what qkv sample prints", async () => {
    const train = await cliRun;
    expect(train.code, train.stderr).toBe(0);
    const dir = join(tmp, "cli-run", "last");
    await page.setInputFiles("#in-folder", dir);
    await waitUnlessError(page, {
      expression: `document.getElementById("ck-line").textContent.startsWith("Opened")`,
    });
    expect(await page.textContent("#ck-line")).toMatch(/trained 6 steps/);
    const [pageText, cli] = await Promise.all([
      sampleInPage(page),
      qkv(["sample", "--checkpoint", dir, ...SAMPLE_FLAGS]),
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(pageText.startsWith(SAMPLE.prompt)).toBe(true);
    expect(Array.from(pageText)).toHaveLength(SAMPLE.prompt.length + SAMPLE.maxNewTokens);
    expect(cli.stdout).toBe(`${pageText}\n`);
    expect(await page.isHidden("#error")).toBe(true);
    await shot(page, "playground-checkpoint.png");
  });

  it("opens a dropped zip of its own download and samples the same text again", async () => {
    expect(downloadedZip, "the download test above must pass first").toBeDefined();
    // A drop as the browser delivers one: a DataTransfer holding the zip as a File.
    await page.evaluate(
      `(async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "qkv-playground-step40.zip", { type: "application/zip" }));
        const drop = document.getElementById("drop");
        drop.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
        drop.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
      })(${JSON.stringify(downloadedZip.toString("base64"))})`,
    );
    await waitUnlessError(page, {
      expression: `document.getElementById("ck-line").textContent.includes("trained 40 steps")`,
    });
    expect(await sampleInPage(page)).toBe(downloadedText);
  });

  it("names the missing files of an incomplete checkpoint", async () => {
    await page.setInputFiles("#in-files", join(tmp, "cli-run", "last", "config.json"));
    await page.waitForSelector("#error:not([hidden])");
    expect(await page.textContent("#error")).toBe(
      "load: the checkpoint lacks model.safetensors, tokenizer.json (a qkv checkpoint folder holds config.json, model.safetensors, tokenizer.json)",
    );
  });

  it("trains on pasted text, with a vocabulary of its characters", async () => {
    await page.check('input[name="data"][value="text"]');
    // 26 letters, the space and the full stop: 28 characters.
    await page.fill("#train-text", "the quick brown fox jumps over the lazy dog. ".repeat(300));
    await page.fill("#f-maxIters", "20");
    await page.click("#btn-train");
    await waitUnlessError(page, '#val-history[data-last-iter="20"]');
    expect(await page.textContent("#model-line")).toMatch(/vocabulary 28 \(char\)/);
    expect(Number(await page.getAttribute("#val-history", "data-last"))).toBeLessThan(
      Number(await page.getAttribute("#val-history", "data-first")),
    );
  });

  it("on the browser's default backend (wasm), samples what qkv sample prints on wasm", async () => {
    const other = await openUrl(server.url);
    try {
      const p = other.page;
      p.setDefaultTimeout(60_000);
      await waitUnlessError(p, "#chip-backend[data-backend]");
      expect(await p.getAttribute("#chip-backend", "data-backend")).toBe("wasm");
      const dir = join(tmp, "cli-run", "last");
      await p.setInputFiles("#in-folder", dir);
      await waitUnlessError(p, {
        expression: `document.getElementById("ck-line").textContent.startsWith("Opened")`,
      });
      const [pageText, cli] = await Promise.all([
        sampleInPage(p),
        qkv(["sample", "--checkpoint", dir, ...SAMPLE_FLAGS], "wasm"),
      ]);
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout).toBe(`${pageText}\n`);
      expect(other.errors).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it("logged no errors (console, uncaught, failed requests)", () => {
    // The incomplete checkpoint above is reported in the page, not thrown: it logs nothing.
    expect(opened.errors).toEqual([]);
  });
});
