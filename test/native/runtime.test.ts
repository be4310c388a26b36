import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Backend } from "../../src/backend/backend.js";
import {
  getNumThreads,
  loadNativeBackend,
  nativeBackend,
  nativeInfo,
  nativeLoadError,
  setNativeIsa,
  setNumThreads,
} from "../../src/backends/native/index.js";
import { cpuBackend, expectClose, native, Rng, skipReason } from "./util.js";

const srcDir = join(dirname(fileURLToPath(import.meta.url)), "../../src/backends/native");

describe("native backend loader", () => {
  it("never throws and explains a failure", () => {
    const be = loadNativeBackend();
    if (be) {
      expect(be.name).toBe("native");
      expect(nativeLoadError()).toBeNull();
    } else {
      expect(nativeLoadError()).toMatch(/unavailable/);
    }
  });

  it("implements every kernel of the Backend contract", () => {
    const keys = Object.keys(cpuBackend)
      .filter((k) => k !== "fused")
      .sort();
    // `fused` holds optional capabilities (src/backend/fused.ts): the reference declares only the
    // quantized linear (its loops are the oracle), never the fused transformer layer.
    expect(Object.keys(cpuBackend.fused ?? {})).toEqual(["quantizedLinear"]);
    expect(nativeBackend.fused?.quantizedLinear).toBeDefined();
    expect(
      Object.keys(nativeBackend)
        .filter((k) => k !== "fused")
        .sort(),
    ).toEqual(keys);
    const b: Backend = nativeBackend;
    expect(typeof b.gemm).toBe("function");
  });

  it("imports no node: module statically (stays browser-bundlable)", () => {
    for (const f of readdirSync(srcDir)) {
      const text = readFileSync(join(srcDir, f), "utf8");
      expect(text, f).not.toMatch(/^\s*import[^;]*from\s+["']node:/m);
      expect(text, f).not.toMatch(/^\s*import[^;]*from\s+["'](fs|path|module|url|os)["']/m);
    }
  });
});

describe.skipIf(!native)(`native runtime${skipReason ? ` (${skipReason})` : ""}`, () => {
  it("reports its instruction set and threads", () => {
    const info = nativeInfo();
    expect(info).not.toBeNull();
    expect(["avx512", "avx2", "generic", "scalar"]).toContain(info?.isa);
    expect(info?.threads).toBeGreaterThanOrEqual(1);
    expect(info?.threads).toBeLessThanOrEqual(info?.hwThreads ?? 0);
  });

  it("setNumThreads clamps to [1, cores] and results do not depend on it", () => {
    const hw = nativeInfo()?.hwThreads ?? 1;
    expect(setNumThreads(1)).toBe(1);
    expect(getNumThreads()).toBe(1);
    expect(setNumThreads(0)).toBe(1);
    expect(setNumThreads(10_000)).toBe(hw);
    expect(getNumThreads()).toBe(hw);
    const rng = new Rng(1);
    const x = rng.f32(1 << 16, -5, 5);
    const outs = [1, hw, 1].map((nt) => {
      setNumThreads(nt);
      const y = new Float32Array(x.length);
      nativeBackend.unary({ op: "gelu", x, out: y });
      return y;
    });
    setNumThreads(hw);
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[2]).toEqual(outs[0]);
  });

  it("rejects unknown instruction sets and restores the best one", () => {
    expect(setNativeIsa("sse9")).toBeNull();
    expect(setNativeIsa("")).toBe(nativeInfo()?.isa);
  });

  it("small problems go to the reference kernels and agree", () => {
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([5, 6, 7, 8]);
    const out = new Float32Array(4);
    nativeBackend.gemm({
      batch: 1,
      M: 2,
      N: 2,
      K: 2,
      a,
      aOffset: 0,
      aBatchStride: 0,
      transA: false,
      b,
      bOffset: 0,
      bBatchStride: 0,
      transB: false,
      out,
      accumulate: false,
    });
    expectClose(out, [19, 22, 43, 50], 0, 0, "2x2 gemm");
  });
});
