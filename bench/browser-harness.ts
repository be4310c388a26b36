/**
 * Chromium for bench/wasm.ts: bundles bench/browser-worker.ts with esbuild, serves it on 127.0.0.1
 * with the COOP/COEP headers that make a page cross-origin isolated (SharedArrayBuffer, so wasm
 * threads), along with the text and tfjs's .wasm files from node_modules, and opens one Debian
 * Chromium per configuration (playwright-core, its default fresh profile) so each renderer's
 * peak RSS is its own. Not a test harness: test/browser/ has that.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { tfjsWasmDir } from "./tfjs-bundle.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Debian's Chromium; never a downloaded browser. */
export const chromiumPath = "/usr/bin/chromium";
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const isolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
};
// call(msg) runs msg in the worker, or on the page's own thread when msg.thread is "main".
const page = `<!doctype html><meta charset="utf-8"><title>qkv bench</title><link rel="icon" href="data:,">
<script type="module" src="/main.js"></script><script>
const w = new Worker("/worker.js", { type: "module" });
const queue = [];
w.onmessage = (e) => queue.shift()(e.data);
w.onerror = (e) => queue.shift()({ error: "worker error: " + (e.message || e.type) });
window.call = (msg) => msg.thread === "main" ? window.callMain(msg)
  : new Promise((resolve) => { queue.push(resolve); w.postMessage(msg); });
</script>`;

/** A served bundle and the browsers opened on it. */
export interface BrowserBench {
  url: string;
  /** Opens a Chromium on the page; `call` posts a message to its worker and awaits the reply. */
  open(): Promise<BrowserSession>;
  close(): Promise<void>;
}

/** One Chromium with the bench page loaded. */
export interface BrowserSession {
  call(msg: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Largest peak RSS (VmHWM) among the browser's renderer processes, MiB. */
  rendererPeakMiB(): number;
  /** Console errors and page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

/** Whether the browser benchmarks can run here, or why not. */
export async function browserMissing(): Promise<string | null> {
  if (!existsSync(chromiumPath)) return `${chromiumPath} is absent`;
  try {
    await import("playwright-core");
  } catch {
    return "playwright-core is not installed";
  }
  return null;
}

/** Pids of `pid` and all its descendants, from /proc. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirProc()) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(entry);
      children.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

function readdirProc(): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/**
 * Bundles the page's two entries, bench/browser-worker.ts and bench/browser-main.ts (each with
 * qkv, tfjs and the runners), for a browser; returns the files.
 */
export async function bundleBrowserPage(): Promise<{ worker: string; main: string }> {
  const { build } = await import("esbuild");
  const outdir = join(tmpdir(), "qkv-bench", "page");
  await build({
    entryPoints: { worker: join(root, "bench/browser-worker.ts"), main: join(root, "bench/browser-main.ts") },
    outdir,
    bundle: true,
    platform: "browser",
    format: "esm",
    mainFields: ["browser", "module", "main"],
    // The Emscripten glue of tfjs-backend-wasm has a Node branch the page never takes.
    external: ["fs", "path", "worker_threads", "perf_hooks", "os", "crypto", "util", "node-fetch"],
    logLevel: "error",
  });
  return { worker: join(outdir, "worker.js"), main: join(outdir, "main.js") };
}

/** Bundles the worker, starts the server, and returns a way to open browsers on it. */
export async function startBrowserBench(): Promise<BrowserBench> {
  const bundle = await bundleBrowserPage();
  const wasmDir = tfjsWasmDir();
  const files: Record<string, () => Buffer> = {
    "/": () => Buffer.from(page),
    "/worker.js": () => readFileSync(bundle.worker),
    "/main.js": () => readFileSync(bundle.main),
    "/data/tinyshakespeare.txt": () => readFileSync(join(root, "data/tinyshakespeare.txt")),
  };
  const types: Record<string, string> = {
    ".js": "text/javascript",
    ".wasm": "application/wasm",
    ".txt": "text/plain; charset=utf-8",
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    let body: Buffer | null = null;
    if (files[path]) body = files[path]();
    else if (wasmDir && /^\/tfjs\/[\w.-]+\.wasm$/.test(path)) {
      try {
        body = readFileSync(join(wasmDir, path.slice("/tfjs/".length)));
      } catch {
        body = null;
      }
    }
    if (!body) {
      if (process.env.QKV_BENCH_DEBUG) console.error(`bench server: 404 ${path}`);
      res.writeHead(404, isolation).end(`not found: ${path}`);
      return;
    }
    const ext = path === "/" ? ".html" : path.slice(path.lastIndexOf("."));
    res.writeHead(200, { ...isolation, "Content-Type": types[ext] ?? "text/html; charset=utf-8" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const { chromium } = await import("playwright-core");
  const sessions: BrowserSession[] = [];
  return {
    url,
    async open() {
      const bs = await chromium.launchServer({ executablePath: chromiumPath, args: chromiumArgs });
      const browser = await chromium.connect(bs.wsEndpoint());
      const p = await browser.newPage();
      const errors: string[] = [];
      p.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      p.on("pageerror", (e) => errors.push(String(e)));
      await p.goto(url);
      const pid = bs.process().pid!;
      const session: BrowserSession = {
        errors,
        call: (msg) =>
          p.evaluate(
            (m) => (globalThis as unknown as { call(m: unknown): Promise<unknown> }).call(m),
            msg,
          ) as Promise<Record<string, unknown>>,
        rendererPeakMiB() {
          let peak = 0;
          for (const q of processTree(pid)) {
            try {
              if (!readFileSync(`/proc/${q}/cmdline`, "utf8").includes("--type=renderer")) continue;
              const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${q}/status`, "utf8"));
              if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
            } catch {
              // ended
            }
          }
          return peak;
        },
        async close() {
          await browser.close().catch(() => {});
          await bs.close();
        },
      };
      sessions.push(session);
      return session;
    },
    async close() {
      for (const s of sessions) await s.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
