// Importing qkv (and qkv/node) only defines things: nothing is printed, no environment variable is
// read and no backend is loaded until the first backend call, which is where QKV_BACKEND counts.
// Each case runs test/arch/import-probe.ts in a fresh process, so no earlier import can hide one.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

interface Touched {
  envReads: string[];
  printed: string[];
  nativeLoads: string[];
}
interface Probe {
  phases: { import: Touched; firstUse: Touched };
  tensorMethods: boolean;
  backendName: string;
}

function probe(env: Record<string, string | undefined>): Probe {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, ["--import", "tsx", "test/arch/import-probe.ts"], {
    cwd: ROOT,
    env: childEnv as NodeJS.ProcessEnv,
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Probe;
}

// Node's own module loader reads these for every module it loads (watch mode, coverage); they are
// not qkv's reads.
const NODE_LOADER_KEYS = new Set(["WATCH_REPORT_DEPENDENCIES", "NODE_V8_COVERAGE"]);

describe("importing qkv has no side effects beyond definitions", () => {
  it("QKV_BACKEND=native without an addon: silent import, warning and fallback at first use", () => {
    const p = probe({ QKV_BACKEND: "native", QKV_NATIVE: "0" });
    expect(p.phases.import.printed).toEqual([]);
    expect(p.phases.import.nativeLoads).toEqual([]);
    expect(p.phases.import.envReads.filter((k) => !NODE_LOADER_KEYS.has(k))).toEqual([]);
    // Tensor's methods are definitions too, installed by the import.
    expect(p.tensorMethods).toBe(true);
    expect(p.phases.firstUse.envReads).toContain("QKV_BACKEND");
    expect(p.phases.firstUse.printed).toEqual([
      expect.stringMatching(
        /^console\.warn: qkv: QKV_BACKEND=native but the native backend is unavailable .*using cpu$/,
      ),
    ]);
    expect(p.backendName).toBe("cpu");
  });

  it("without QKV_BACKEND the default stays cpu and nothing is printed", () => {
    const p = probe({ QKV_BACKEND: undefined });
    expect(p.phases.import.printed).toEqual([]);
    expect(p.phases.import.envReads.filter((k) => !NODE_LOADER_KEYS.has(k))).toEqual([]);
    expect(p.phases.firstUse.envReads).toContain("QKV_BACKEND");
    expect(p.phases.firstUse.printed).toEqual([]);
    expect(p.phases.firstUse.nativeLoads).toEqual([]);
    expect(p.backendName).toBe("cpu");
  });
});
