/**
 * `qkv serve` without a browser: the COOP/COEP headers on every response, MIME types, the data/
 * folder, refusal of paths that climb out of the served folders (raw and percent-encoded), and
 * the command itself: it prints its URL, answers, and stops on SIGINT.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, resolveInside, startServer } from "../../cli/serve.js";
import { qkv } from "../cli/run-cli.js";

const ROOT = resolve(import.meta.dirname, "../..");
const tmp = mkdtempSync(join(tmpdir(), "qkv-serve-"));
const site = join(tmp, "site");
const data = join(tmp, "data");
let server: RunningServer;

/** A GET with the path sent exactly as given (fetch would normalise `..` away). */
function rawGet(url: string, path: string, method = "GET") {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((done, fail) => {
    const req = request({ hostname, port, path, method }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", fail);
    req.end();
  });
}

beforeAll(async () => {
  mkdirSync(join(site, "sub"), { recursive: true });
  mkdirSync(data);
  writeFileSync(join(site, "index.html"), "<!doctype html><p>hi</p>");
  writeFileSync(join(site, "main.js"), "export {};");
  writeFileSync(join(site, "k.wasm"), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  writeFileSync(join(site, "sub", "index.html"), "sub");
  writeFileSync(join(data, "tinyshakespeare.txt"), "First Citizen:\n");
  writeFileSync(join(tmp, "secret.txt"), "SECRET");
  server = await startServer({ root: site, dataDir: data, port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("the playground server", () => {
  it("sends the cross-origin isolation headers and the right MIME types", async () => {
    const cases: [string, string][] = [
      ["/", "text/html; charset=utf-8"],
      ["/main.js", "text/javascript; charset=utf-8"],
      ["/k.wasm", "application/wasm"],
      ["/data/tinyshakespeare.txt", "text/plain; charset=utf-8"],
    ];
    for (const [path, type] of cases) {
      const r = await rawGet(server.url, path);
      expect(r.status, path).toBe(200);
      expect(r.headers["content-type"], path).toBe(type);
      expect(r.headers["cross-origin-opener-policy"], path).toBe("same-origin");
      expect(r.headers["cross-origin-embedder-policy"], path).toBe("require-corp");
    }
    expect((await rawGet(server.url, "/data/tinyshakespeare.txt")).body).toBe("First Citizen:\n");
    expect((await rawGet(server.url, "/sub/")).body).toBe("sub");
    const missing = await rawGet(server.url, "/nope.js");
    expect(missing.status).toBe(404);
    expect(missing.headers["cross-origin-embedder-policy"]).toBe("require-corp");
    expect((await rawGet(server.url, "/", "POST")).status).toBe(405);
  });

  it("never serves a file outside its folders", async () => {
    for (const path of [
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/..%2fsecret.txt",
      "/data/../../secret.txt",
      "/data/%2e%2e/%2e%2e/secret.txt",
      "/sub/..%5c..%5csecret.txt",
      "/%00index.html",
      `/${encodeURIComponent(join(tmp, "secret.txt"))}`,
    ]) {
      const r = await rawGet(server.url, path);
      expect(r.body, path).not.toContain("SECRET");
      expect([403, 404], path).toContain(r.status);
    }
    expect(resolveInside("/srv/site", "/a/../b.js")).toBe("/srv/site/b.js");
    expect(resolveInside("/srv/site", "/../site2/x")).toBeNull();
    expect(resolveInside("/srv/site", "/%E0%A4%A")).toBeNull(); // malformed escape
  });
});

describe("qkv serve", () => {
  it("is listed in --help and rejects a bad port by name", () => {
    const help = qkv(["--help"]);
    expect(help.stdout).toMatch(/serve/);
    const bad = qkv(["serve", "--port", "70000"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--port must be ≤ 65535/);
  });

  it("prints its URL, serves the built playground, and stops on Ctrl-C", async () => {
    if (!existsSync(join(ROOT, "dist", "playground", "index.html"))) {
      throw new Error("dist/playground is missing: run `npm run build` first");
    }
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "cli/entry.ts"), "serve", "--port", "0"],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    const url = await new Promise<string>((done, fail) => {
      child.stdout.on("data", (d) => {
        out += d;
        const m = /qkv playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) done(m[1]);
      });
      child.on("exit", (code) => fail(new Error(`qkv serve exited (${code}) before printing its URL`)));
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("qkv playground");
    expect((await fetch(`${url}worker.js`)).headers.get("content-type")).toBe(
      "text/javascript; charset=utf-8",
    );
    const code = await new Promise<number | null>((done) => {
      child.on("exit", (c) => done(c));
      child.kill("SIGINT");
    });
    expect(code).toBe(0);
  });
});
