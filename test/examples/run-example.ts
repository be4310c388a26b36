/** Runs an example script with tsx as a user would (`npx tsx examples/<name>.ts …`) and captures its output. */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");

export interface ExampleResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `examples/<script>` with `args` to completion from the repository root. */
export function runExample(script: string, args: string[], timeoutMs = 240_000): ExampleResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", resolve(ROOT, "examples", script), ...args], {
    cwd: ROOT,
    env: { ...process.env, CI: "true" },
    encoding: "utf8",
    timeout: timeoutMs,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The numbers after `label` on every line that has it, in order. */
export function numbersAfter(text: string, label: string): number[] {
  const re = new RegExp(`${label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*(-?[\\d.]+(?:e[-+]?\\d+)?)`, "g");
  return [...text.matchAll(re)].map((m) => Number(m[1]));
}
