// The harness's waitUnlessError: it resolves when the awaited element shows, and rejects at once,
// naming the page's error line, when that shows first.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, type OpenPage, openPage, waitUnlessError } from "./harness.js";

const missing = chromiumMissing();

// After 300 ms the page shows #done (with ?ok) or its error line (otherwise).
const html = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>t</title></head><body>
<p id="error" hidden></p><p id="done" hidden>done</p><p id="late" hidden>late</p>
<script>
window.show = (ok) => setTimeout(() => {
  const el = document.getElementById(ok ? "done" : "error");
  if (!ok) el.textContent = "train: the data failed to load";
  el.hidden = false;
}, 300);
</script></body></html>`;

describe.skipIf(missing !== null)("waitUnlessError", () => {
  let opened: OpenPage;
  beforeAll(async () => {
    opened = await openPage({ script: "", html });
    opened.page.setDefaultTimeout(20_000);
  }, 60_000);
  afterAll(async () => opened?.close());

  it("resolves once the selector's element is visible, and for an expression", async () => {
    await opened.page.evaluate("show(true)");
    await waitUnlessError(opened.page, "#done");
    expect(await opened.page.isVisible("#done")).toBe(true);
    await waitUnlessError(opened.page, {
      expression: `document.getElementById("done").textContent === "done"`,
    });
  });

  it("rejects at once with the error line's text when the error shows first", async () => {
    await opened.page.evaluate("show(false)");
    const t0 = Date.now();
    await expect(waitUnlessError(opened.page, "#late")).rejects.toThrow(
      "waiting for #late: the page shows an error instead: train: the data failed to load",
    );
    expect(Date.now() - t0).toBeLessThan(10_000); // far below the 20 s wait limit
  });
});
