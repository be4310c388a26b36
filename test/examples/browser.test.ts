/**
 * examples/browser/: the page bundled with esbuild (as its README says) and opened in Debian's
 * chromium: it trains in the page, the DOM shows a falling loss, then the generated text.
 * Skipped only where /usr/bin/chromium is absent and CI is not set (CI installs it).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { bundle, chromiumMissing, openUrl, ROOT, serve } from "../browser/harness.js";

const missing = process.env.CI ? null : chromiumMissing();
if (missing) console.warn(`test/examples/browser.test.ts: ${missing}`);

describe.skipIf(missing !== null)("examples/browser in chromium", () => {
  it("trains a tiny GPT in the page: the losses shown fall, and a sample is written", async () => {
    const script = await bundle("examples/browser/main.ts", { alias: { qkv: "./src/index.ts" } });
    const html = readFileSync(resolve(ROOT, "examples/browser/index.html"), "utf8");
    expect(html).toContain('src="./main.js"');
    const server = await serve({ "/index.html": { body: html }, "/main.js": { body: script } });
    try {
      // openUrl waits for the page's pageReady promise: training and sampling are done (or failed).
      const p = await openUrl(`${server.url}?steps=40&tokens=40&seed=1`);
      try {
        const text = async (sel: string) => (await p.page.textContent(sel)) ?? "";
        const items = await p.page.locator("#losses li").all();
        const dom = {
          status: await text("#status"),
          backend: await text("#backend"),
          losses: await Promise.all(items.map(async (li) => Number(await li.getAttribute("data-loss")))),
          sample: await text("#sample"),
        };
        expect(p.errors).toEqual([]);
        expect(dom.status).toBe("done");
        expect(["wasm", "cpu"]).toContain(dom.backend);
        expect(dom.losses).toHaveLength(40);
        expect(dom.losses.every(Number.isFinite)).toBe(true);
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        expect(dom.losses[0]).toBeGreaterThan(2.5); // ≈ ln(vocab) for a fresh model
        expect(mean(dom.losses.slice(-5))).toBeLessThan(dom.losses[0] - 0.7);
        expect(dom.sample.startsWith("First")).toBe(true);
        expect(dom.sample.length).toBeGreaterThan("First".length + 10);
      } finally {
        await p.close();
      }
    } finally {
      await server.close();
    }
  }, 120_000);
});
