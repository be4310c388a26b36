// Importing qkv (and qkv/node) only defines things: nothing is printed, no environment variable is
// read and no backend is loaded until the first backend call, which is where QKV_BACKEND counts.
// Each case runs test/arch/import-probe.ts in a fresh process, so no earlier import can hide one.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
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
  info: { name: string; chosenBy: string; skipped: { name: string; reason: string }[] } | null;
  firstUseError: { name: string; message: string; field?: string } | null;
  registered: string[];
}

/** The addon `npm install` builds; the automatic choice must take it whenever it is there. */
const ADDON_BUILT = existsSync(resolve(ROOT, "build/Release/qkv_native.node"));

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
    // The fallback is the automatic order without native: wasm where this build has it, else cpu.
    const fallback = p.registered.includes("wasm") ? "wasm" : "cpu";
    expect(p.phases.firstUse.printed).toEqual([
      `console.warn: qkv: QKV_BACKEND=native but the native backend is unavailable (disabled by QKV_NATIVE=0); using ${fallback}`,
    ]);
    expect(p.backendName).toBe(fallback);
  });

  it("without QKV_BACKEND nothing is printed, and the fastest backend that loads is chosen", () => {
    const p = probe({ QKV_BACKEND: undefined });
    expect(p.phases.import.printed).toEqual([]);
    expect(p.phases.import.nativeLoads).toEqual([]);
    expect(p.phases.import.envReads.filter((k) => !NODE_LOADER_KEYS.has(k))).toEqual([]);
    expect(p.phases.firstUse.envReads).toContain("QKV_BACKEND");
    expect(p.phases.firstUse.printed).toEqual([]);
    const expected = ADDON_BUILT ? "native" : p.registered.includes("wasm") ? "wasm" : "cpu";
    expect(p.backendName).toBe(expected);
    expect(p.info).toMatchObject({ name: expected, chosenBy: "auto" });
    // The addon is loaded exactly when it is chosen: the first use is where it happens.
    expect(p.phases.firstUse.nativeLoads.length > 0).toBe(ADDON_BUILT);
  });

  it("QKV_NATIVE=0 and no QKV_BACKEND: the next backend in the order, with native's reason kept", () => {
    const p = probe({ QKV_BACKEND: undefined, QKV_NATIVE: "0" });
    expect(p.phases.firstUse.printed).toEqual([]);
    const expected = p.registered.includes("wasm") ? "wasm" : "cpu";
    expect(p.info?.name).toBe(expected);
    expect(p.info?.skipped[0]).toEqual({ name: "native", reason: "disabled by QKV_NATIVE=0" });
    expect(p.phases.firstUse.nativeLoads).toEqual([]);
  });

  it("QKV_BACKEND=cpu is obeyed even where native loads", () => {
    const p = probe({ QKV_BACKEND: "cpu" });
    expect(p.info).toEqual({ name: "cpu", chosenBy: "QKV_BACKEND", skipped: [] });
    expect(p.phases.firstUse.nativeLoads).toEqual([]);
  });

  it("an unknown QKV_BACKEND is an error naming the variable and the valid names", () => {
    const p = probe({ QKV_BACKEND: "gpu" });
    expect(p.phases.import.printed).toEqual([]);
    expect(p.firstUseError?.name).toBe("QkvError");
    expect(p.firstUseError?.field).toBe("QKV_BACKEND");
    expect(p.firstUseError?.message).toMatch(/^QKV_BACKEND must be one of auto, cpu, native.*; got "gpu"$/);
  });
});
