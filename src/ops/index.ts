/** The op set, re-exported in one place. */
export * from "./attention.js";
export * from "./autograd.js";
export type { TensorLike } from "./core.js";
export * from "./elementwise.js";
export * from "./fused-layer.js";
export * from "./indexing.js";
export * from "./inplace.js";
export * from "./matmul.js";
export * from "./nn.js";
export * from "./quantized.js";
export * from "./reduce.js";
export * from "./shape.js";
