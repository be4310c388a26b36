/**
 * qkv: transformers in TypeScript. This is the one public entry point:
 * `import { tensor, nn, optim } from "qkv"`.
 */
import "./ops/methods.js";

export type { Backend, DType } from "./backend/backend.js";
export { noGrad, withNoGrad, setGradEnabled, isGradEnabled } from "./autograd/graph.js";
export { backend, cpuBackend, getBackendName, listBackends, registerBackend, setBackend } from "./backends/index.js";
export * from "./ops/index.js";
export * from "./tensor/create.js";
export { Tensor, type NestedArray } from "./tensor/tensor.js";
export { Generator, defaultGenerator, manualSeed, type GeneratorState } from "./util/rng.js";
export * as nn from "./nn/index.js";
export { Parameter, Module } from "./nn/module.js";
export * as optim from "./optim/index.js";
export * from "./models/index.js";
export * from "./tokenizers/index.js";
export * from "./data/index.js";
export * from "./generate/index.js";
export * from "./viz/index.js";
