/** torch.nn for qkv: modules, containers and initialisers. Exported from the package as `nn`. */
export * from "./activation.js";
export * from "./attention.js";
export * from "./causal-attention.js";
export * from "./container.js";
export * from "./dropout.js";
export * from "./embedding.js";
/** torch.nn.init: in-place initialisers (uniform_, normal_, xavier*, kaiming*) with PyTorch's fan and gain rules. */
export * as init from "./init.js";
export * from "./kv-cache.js";
export * from "./layer-norm.js";
export * from "./linear.js";
export * from "./mlp.js";
export * from "./module.js";
export * from "./positional.js";
export * from "./quantize.js";
export * from "./transformer.js";
export * from "./transformer-layers.js";
