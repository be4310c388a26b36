/**
 * Chromium test harness, shared by the browser tests (this folder) and the playground's end-to-end
 * test: bundle a page script with esbuild, serve it from an in-process HTTP server on 127.0.0.1
 * (cross-origin isolated by default: COOP/COEP, so SharedArrayBuffer and wasm threads work), open
 * it in Debian's chromium through playwright-core, and collect the page's console errors.
 *
 * @example
 * const skip = chromiumMissing(); // a reason string when /usr/bin/chromium is absent, else null
 * const page = await openPage({ script: await bundle("test/browser/pages/qkv-page.ts") }); // or openUrl(url)
 * const name = await page.page.evaluate(() => globalThis.qkvPage.backendName());
 * expect(page.errors).toEqual([]);
 * await page.close();
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BuildOptions, build } from "esbuild";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's chromium; the tests never use a downloaded browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, "../..");

/** The flags every launch uses (headless, no sandbox, no network side traffic). */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Why the browser tests cannot run here (chromium absent), or null. Tests skip with this reason
 * printed; CI installs chromium (.ci/run), so there they always run.
 * @example describe.skipIf(chromiumMissing() !== null)("in chromium", () => { … });
 */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  return `${CHROMIUM} is absent (apt-get install -y chromium); skipping the browser tests`;
}

/**
 * Bundles one script for a browser page (ESM, browser platform, no externals) and returns its code.
 * Throws on any esbuild error or warning, so a page never runs a partial bundle.
 * @example const code = await bundle("test/browser/pages/qkv-page.ts");
 */
export async function bundle(entry: string, options: Partial<BuildOptions> = {}): Promise<string> {
  const r = await build({
    entryPoints: [resolve(ROOT, entry)],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "silent",
    absWorkingDir: ROOT,
    ...options,
  });
  const problems = [...r.errors, ...r.warnings].map((m) => m.text);
  if (problems.length > 0) throw new Error(`bundling ${entry}: ${problems.join("; ")}`);
  return r.outputFiles![0].text;
}

/** One file the server answers with: its bytes (or text) and content type. */
export interface Served {
  body: Uint8Array | string;
  type?: string;
}

/** The headers that make a page cross-origin isolated (SharedArrayBuffer, wasm threads). */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/**
 * Serves `files` (path → contents, e.g. "/index.html") on 127.0.0.1 at a free port, with the
 * isolation headers unless `isolated` is false. Unknown paths answer 404.
 * @example const srv = await serve({ "/index.html": { body: "<p>hi</p>" } }); srv.url; await srv.close();
 */
export async function serve(
  files: Readonly<Record<string, Served>>,
  { isolated = true }: { isolated?: boolean } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const path = url === "/" ? "/index.html" : url;
    const file = files[path];
    const headers: Record<string, string> = {
      "Cache-Control": "no-store",
      ...(isolated ? ISOLATION_HEADERS : {}),
    };
    if (!file) {
      res.writeHead(404, headers).end("not found");
      return;
    }
    res.writeHead(200, { ...headers, "Content-Type": file.type ?? typeOf(path) }).end(file.body);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

function typeOf(path: string): string {
  if (path.endsWith(".html")) return "text/html; charset=utf-8";
  if (path.endsWith(".js") || path.endsWith(".mjs")) return "text/javascript; charset=utf-8";
  if (path.endsWith(".json")) return "application/json";
  if (path.endsWith(".wasm")) return "application/wasm";
  return "application/octet-stream";
}

/** An open page: playwright's Page, its URL, the errors it logged so far, and a close for everything. */
export interface OpenPage {
  page: Page;
  url: string;
  /** console.error messages, uncaught exceptions and failed requests, in order. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Opens `url` in a fresh chromium (own temporary profile, the flags above) and collects the page's
 * errors; for a page served elsewhere (e.g. by `qkv serve`). Resolves once the page has loaded and,
 * when its script sets `globalThis.pageReady` to a promise, once that settles (a rejection fails the
 * open, with its message). `close` ends the browser and removes the profile.
 * @example const p = await openUrl("http://127.0.0.1:8080/"); await p.page.click("#train"); await p.close();
 */
export async function openUrl(url: string): Promise<OpenPage> {
  const profile = mkdtempSync(join(tmpdir(), "qkv-chromium-"));
  let context: BrowserContext | null = null;
  const close = async () => {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console.error: ${m.text()} (${m.location().url})`);
    });
    page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
    page.on("requestfailed", (r) =>
      errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`),
    );
    await page.goto(url, { waitUntil: "load" });
    await page.evaluate(async () => {
      const ready = (globalThis as { pageReady?: Promise<unknown> }).pageReady;
      if (ready) await ready;
    });
    return { page, url, errors, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Serves `script` as /main.js (a module), next to `files`, from {@link serve}, and opens the page
 * with {@link openUrl}; `html` replaces the default page, which only loads /main.js. `close` also
 * stops the server.
 * @example const p = await openPage({ script: code, files: { "/model.safetensors": { body: bytes } } });
 */
export async function openPage(opts: {
  script: string;
  html?: string;
  files?: Readonly<Record<string, Served>>;
  isolated?: boolean;
}): Promise<OpenPage> {
  const html =
    opts.html ??
    '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>qkv test</title></head><body><script type="module" src="/main.js"></script></body></html>';
  const server = await serve(
    { ...opts.files, "/index.html": { body: html }, "/main.js": { body: opts.script } },
    { isolated: opts.isolated ?? true },
  );
  try {
    const opened = await openUrl(server.url);
    return {
      ...opened,
      close: async () => {
        await opened.close();
        await server.close();
      },
    };
  } catch (e) {
    await server.close();
    throw e;
  }
}

/**
 * Waits until `what` holds in the page: a CSS selector that matches a visible element, or
 * `{ expression }`, a JavaScript expression that becomes truthy. It fails at once, with the text
 * of `errorSelector`, when that element shows first (the page's error line), instead of running
 * to the wait's timeout and only then saying what went wrong.
 * @example await waitUnlessError(page, '#gen-output[data-state="done"]');
 */
export async function waitUnlessError(
  page: Page,
  what: string | { expression: string },
  errorSelector = "#error",
): Promise<void> {
  const ready =
    typeof what === "string"
      ? `((el) => el !== null && el.checkVisibility())(document.querySelector(${JSON.stringify(what)}))`
      : `(${what.expression})`;
  // Code that needs page globals goes as a string: Node's types have no DOM.
  const state = await page.waitForFunction(`(() => {
    const err = document.querySelector(${JSON.stringify(errorSelector)});
    if (err !== null && !err.hidden && err.textContent.trim() !== "") return "error";
    return ${ready} ? "ready" : false;
  })()`);
  if ((await state.jsonValue()) === "error") {
    const text = (await page.textContent(errorSelector))?.trim();
    const waited = typeof what === "string" ? what : what.expression;
    throw new Error(`waiting for ${waited}: the page shows an error instead: ${text}`);
  }
}
