/**
 * What the benchmark needs from tfjs, as one module to bundle (bench/tfjs-bundle.ts): tfjs-core
 * with its gradients registered (only its per-file ESM build registers them, which Node cannot
 * import directly), the wasm backend's path and thread settings, and the GPT of bench/tfjs-gpt.ts.
 */
import "@tensorflow/tfjs-core/dist/register_all_gradients.js";
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import * as tf from "@tensorflow/tfjs-core";
import { buildTfGpt } from "./tfjs-gpt.js";

export { buildTfGpt, getThreadsCount, setThreadsCount, setWasmPaths, tf };
