/**
 * `qkv serve`: a small static file server for the playground (dist/playground, built by
 * scripts/build-playground.mjs) and the bundled data/. Every response carries the COOP/COEP pair
 * that makes the page cross-origin isolated, which SharedArrayBuffer (WebAssembly threads) needs.
 * It is a local development server, not a production one: GET and HEAD only, no directory listings.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, resolve, sep } from "node:path";
import { CliError } from "./errors.js";
import { packageRoot } from "./runtime.js";

/** MIME types by extension; anything else is served as application/octet-stream. */
const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".safetensors": "application/octet-stream",
};

/** Headers on every response: cross-origin isolation, and no sniffing of the declared types. */
const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Content-Type-Options": "nosniff",
};

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** Folder served at `/` (default: the package's dist/playground). */
  root?: string;
  /** Folder served at `/data/` (default: the package's data/, which holds Tiny Shakespeare). */
  dataDir?: string;
  /** Port; 0 picks a free one. */
  port: number;
  host: string;
}

/** A running server: its URL and a way to stop it. */
export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * The file a URL path names inside `base`, or null when it would leave `base`. The path is
 * percent-decoded first, so `%2e%2e/` is caught like `../`; NUL bytes and backslashes are refused.
 */
export function resolveInside(base: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const root = resolve(base);
  const file = resolve(root, `.${decoded.startsWith("/") ? decoded : `/${decoded}`}`);
  return file === root || file.startsWith(root + sep) ? file : null;
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...ISOLATION_HEADERS, "Content-Type": "text/plain; charset=utf-8" });
  res.end(`${text}\n`);
}

async function handle(req: IncomingMessage, res: ServerResponse, root: string, dataDir: string) {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return send(res, 405, `${req.method} is not supported`);
  }
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  const [base, rest] = path.startsWith("/data/") ? [dataDir, path.slice("/data".length)] : [root, path];
  let file = resolveInside(base, rest);
  if (!file) return send(res, 403, "forbidden path");
  try {
    let info = await stat(file);
    if (info.isDirectory()) {
      file = join(file, "index.html");
      info = await stat(file);
    }
    if (!info.isFile()) return send(res, 404, "not found");
    res.writeHead(200, {
      ...ISOLATION_HEADERS,
      "Content-Type": MIME[extname(file).toLowerCase()] ?? "application/octet-stream",
      "Content-Length": info.size,
      "Cache-Control": "no-cache",
    });
    if (req.method === "HEAD") return res.end();
    createReadStream(file).pipe(res);
  } catch {
    send(res, 404, "not found");
  }
}

/**
 * Starts the playground server and resolves once it listens.
 * @example const { url, close } = await startServer({ port: 0, host: "127.0.0.1" });
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const root = opts.root ?? join(packageRoot(), "dist", "playground");
  const dataDir = opts.dataDir ?? join(packageRoot(), "data");
  try {
    await stat(join(root, "index.html"));
  } catch {
    throw new CliError(
      `the playground is not built: ${join(root, "index.html")} is missing (run "npm run build" in the qkv package)`,
    );
  }
  const server = createServer((req, res) => {
    handle(req, res, root, dataDir).catch(() => send(res, 500, "internal error"));
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EADDRINUSE")
        fail(new CliError(`--port: ${opts.port} is already in use on ${opts.host}; pick another`, 2));
      else if (e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND")
        fail(new CliError(`--host: cannot listen on ${opts.host} (${e.code})`, 2));
      else fail(e);
    });
    server.listen(opts.port, opts.host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}/`,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** `qkv serve`: serve until Ctrl-C (SIGINT) or SIGTERM. */
export async function serveCommand(flags: { port: number; host: string }): Promise<void> {
  const running = await startServer({ port: flags.port, host: flags.host });
  process.stdout.write(`qkv playground: ${running.url}\n(Ctrl-C stops the server)\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      running.close().then(done);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
