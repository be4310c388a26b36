// The automatic backend order (native → wasm → cpu), checked with stand-in backends registered
// under the real names so each case controls which of them loads. Each case restores the real
// loaders. The process-level cases (QKV_BACKEND, the real addon) are in test/arch/side-effects.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import type { Backend } from "../../src/backend/backend.js";
import {
  AUTO_BACKEND_ORDER,
  backendInfo,
  cpuBackend,
  getBackendName,
  listBackends,
  ready,
  registerBackend,
  setBackend,
} from "../../src/backend/select.js";
import { loadNativeBackend, nativeLoadError } from "../../src/backends/native/index.js";
import { QkvError } from "../../src/util/errors.js";

/** A backend that computes as cpu does but answers to another name. */
function standIn(name: string): Backend {
  return { ...cpuBackend, name } as Backend;
}

afterEach(() => {
  registerBackend("native", loadNativeBackend, { whyNot: nativeLoadError });
  registerBackend("wasm", () => null, { whyNot: () => "stand-in removed" });
  setBackend("cpu");
});

describe("automatic backend order", () => {
  it("is native, then wasm, then cpu", () => {
    expect(AUTO_BACKEND_ORDER).toEqual(["native", "wasm", "cpu"]);
  });

  it("takes native when it loads, even with wasm available", () => {
    registerBackend("native", () => standIn("native"));
    registerBackend("wasm", () => standIn("wasm"));
    setBackend("auto");
    expect(backendInfo()).toEqual({ name: "native", chosenBy: "auto", skipped: [] });
  });

  it("takes wasm when native does not load, and says why native did not", () => {
    registerBackend("native", () => null, { whyNot: () => "addon not built" });
    registerBackend("wasm", () => standIn("wasm"));
    setBackend("auto");
    expect(backendInfo()).toEqual({
      name: "wasm",
      chosenBy: "auto",
      skipped: [{ name: "native", reason: "addon not built" }],
    });
  });

  it("falls back to cpu with a reason for each faster backend, including a loader that throws", () => {
    registerBackend("native", () => null);
    registerBackend("wasm", () => {
      throw new Error("compile it with await ready() first");
    });
    setBackend("auto");
    expect(backendInfo()).toEqual({
      name: "cpu",
      chosenBy: "auto",
      skipped: [
        { name: "native", reason: "not available here" },
        { name: "wasm", reason: "compile it with await ready() first" },
      ],
    });
  });

  it("ready() runs a backend's asynchronous preparation and switches an automatic choice to it", async () => {
    // A browser main thread: the wasm loader only succeeds once the module was compiled asynchronously.
    let compiled = false;
    registerBackend("native", () => null, { whyNot: () => "not running on Node.js" });
    registerBackend(
      "wasm",
      () => {
        if (!compiled) throw new Error("await the asynchronous loader first");
        return standIn("wasm");
      },
      {
        prepare: async () => {
          await Promise.resolve();
          compiled = true;
        },
      },
    );
    setBackend("auto");
    expect(getBackendName()).toBe("cpu");
    expect(await ready()).toBe("wasm");
    expect(backendInfo()).toEqual({
      name: "wasm",
      chosenBy: "auto",
      skipped: [{ name: "native", reason: "not running on Node.js" }],
    });
  });

  it("ready() skips the preparation of a slower backend when a faster one loads", async () => {
    let prepared = false;
    registerBackend("native", () => standIn("native"));
    registerBackend("wasm", () => standIn("wasm"), {
      prepare: async () => {
        prepared = true;
      },
    });
    setBackend("auto");
    expect(await ready()).toBe("native");
    expect(prepared).toBe(false);
  });

  it("ready() keeps an explicit choice", async () => {
    registerBackend("native", () => standIn("native"));
    setBackend("cpu");
    expect(await ready()).toBe("cpu");
    expect(backendInfo().chosenBy).toBe("setBackend");
  });
});

describe("setBackend errors", () => {
  it("an unknown name lists the valid ones", () => {
    expect(() => setBackend("gpu")).toThrow(QkvError);
    expect(() => setBackend("gpu")).toThrow(/unknown backend "gpu"; valid: auto, cpu, native/);
  });

  it("a registered backend that cannot load says why", () => {
    registerBackend("wasm", () => null, { whyNot: () => "no WebAssembly SIMD in this engine" });
    expect(() => setBackend("wasm")).toThrow(
      "setBackend: the wasm backend is not available here: no WebAssembly SIMD in this engine",
    );
    expect(listBackends()).toContain("wasm");
  });

  it('"auto" cannot be registered', () => {
    expect(() => registerBackend("auto", () => cpuBackend)).toThrow(/reserved/);
  });
});
