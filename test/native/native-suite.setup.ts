/**
 * Setup file of vitest.native-suite.config.ts: runs the whole op-level test suite on the native
 * backend (QKV_FORCE_NATIVE=1 also routes the smallest problems to C++).
 */
import { getBackendName, setBackend } from "../../src/backend/select.js";
import { loadNativeBackend, nativeLoadError, nativeThresholds } from "../../src/backends/native/index.js";

const be = loadNativeBackend();
if (!be) throw new Error(nativeLoadError() ?? "native backend unavailable");
if (process.env.QKV_FORCE_NATIVE === "1") {
  for (const k of Object.keys(nativeThresholds) as (keyof typeof nativeThresholds)[]) nativeThresholds[k] = 0;
}
setBackend(be);
if (getBackendName() !== "native") throw new Error("could not select the native backend");
