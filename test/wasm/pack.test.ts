import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { makePatch } from "../../scripts/wasm-pack.mjs";
import {
  WASM_RELAXED_BYTES,
  WASM_RELAXED_SHA256,
  WASM_SIMD_BYTES,
  WASM_SIMD_SHA256,
} from "../../src/backends/wasm/gen/binary.js";
import { applyPatch } from "../../src/backends/wasm/pack.js";
import { hasRelaxedSimd, moduleBytes } from "../../src/backends/wasm/runtime.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("shipped wasm modules", () => {
  it("unpack to exactly the modules the build wrote (size and sha-256), and validate", () => {
    const simd = moduleBytes("simd");
    const relaxed = moduleBytes("relaxed");
    expect([simd.length, sha(simd)]).toEqual([WASM_SIMD_BYTES, WASM_SIMD_SHA256]);
    expect([relaxed.length, sha(relaxed)]).toEqual([WASM_RELAXED_BYTES, WASM_RELAXED_SHA256]);
    const wasm = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;
    expect(wasm.validate(simd)).toBe(true);
    // Node 20 validates relaxed SIMD only with --experimental-wasm-relaxed-simd (test/wasm/vitest.config.ts).
    if (hasRelaxedSimd()) expect(wasm.validate(relaxed)).toBe(true);
  });

  it("a patch rebuilds its target from the base, and a wrong base is refused", () => {
    const simd = moduleBytes("simd");
    const relaxed = moduleBytes("relaxed");
    const patch: Uint8Array = makePatch(Buffer.from(simd), Buffer.from(relaxed));
    expect(patch.length).toBeLessThan(relaxed.length / 2);
    expect(sha(applyPatch(simd, patch))).toBe(WASM_RELAXED_SHA256);
    // Patching a module against itself gives it back unchanged (every section "same").
    expect(sha(applyPatch(relaxed, makePatch(Buffer.from(relaxed), Buffer.from(relaxed))))).toBe(
      WASM_RELAXED_SHA256,
    );
    const bad = new Uint8Array(patch);
    bad[0] ^= 1;
    expect(() => applyPatch(simd, bad)).toThrow(/bad magic/);
  });
});
