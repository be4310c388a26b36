/** Runs the qkv CLI from source as a child process and captures its output. */
import { spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
const ENTRY = ["--import", "tsx", resolve(ROOT, "cli/entry.ts")];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `qkv args…` to completion (reference backend unless QKV_BACKEND is given in env). */
export function qkv(
  args: string[],
  opts: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {},
): CliResult {
  const r = spawnSync(process.execPath, [...ENTRY, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, QKV_BACKEND: "cpu", CI: "true", ...opts.env },
    input: opts.input,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `qkv args…` without waiting (for kill tests). */
export function qkvSpawn(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, [...ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, QKV_BACKEND: "cpu", CI: "true", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}
