/**
 * The layout of the numeric arguments each native entry point reads from the shared `meta` buffer
 * (see binding.ts), single-sourced: scripts/gen-op-header.mjs turns this table into the
 * `qkv::ml::<kernel>::<field>` indices addon.cc reads with, and the TypeScript writers use the
 * indices derived below, so a writer and its reader cannot disagree on a position.
 *
 * Format rule (parsed as text): one `<kernel>: [<"field">, …],` entry per kernel inside
 * `export const META_LAYOUT = {` … `} as const`. A field named `nd` starts a variable-length strided
 * block (nd, shape[nd], then offset and strides[nd] per operand) that runs to the end.
 */
export const META_LAYOUT = {
  unary: ["op"],
  binary: ["op", "nd"],
  compare: ["op", "nd"],
  strided: ["nd"],
  clamp: ["lo", "hi"],
  reduce: ["op", "outer", "n", "inner"],
  softmax: ["rows", "n", "log"],
  layerNormForward: ["rows", "n", "eps", "hasW", "hasB"],
  layerNormBackward: ["rows", "n", "hasW", "hasGW", "hasGB"],
  crossEntropy: ["rows", "C", "ignoreIndex", "smoothing"],
  indexing: ["outer", "n", "inner", "m"],
  gemm: [
    "batch",
    "M",
    "N",
    "K",
    "aOffset",
    "aBatchStride",
    "transA",
    "bOffset",
    "bBatchStride",
    "transB",
    "accumulate",
    "hasBias",
    "activation",
    "hasPreact",
  ],
  attention: [
    "B",
    "H",
    "T",
    "S",
    "D",
    "Dv",
    "scale",
    "causal",
    "hasMask",
    "maskOffset",
    "ms0",
    "ms1",
    "ms2",
    "ms3",
    "hasLayout",
    "qOffset",
    "qBatch",
    "qHead",
    "qRow",
    "kOffset",
    "kBatch",
    "kHead",
    "kRow",
    "vOffset",
    "vBatch",
    "vHead",
    "vRow",
    "outOffset",
    "outBatch",
    "outHead",
    "outRow",
  ],
  adam: ["lr", "beta1", "beta2", "eps", "weightDecay", "step", "decoupled", "hasMax"],
  scaleInPlace: ["scale"],
  quantizedLinear: ["M", "N", "K", "kind"],
  transformerLayer: [
    "B",
    "T",
    "C",
    "H",
    "F",
    "past",
    "cap",
    "Sm",
    "eps",
    "normFirst",
    "causal",
    "act",
    "maskOffset",
    "ms0",
    "ms1",
    "ms2",
    "ms3",
    "memMaskOffset",
    "mms0",
    "mms1",
    "mms2",
    "mms3",
    "wT",
  ],
} as const;

type Layout = typeof META_LAYOUT;
/** Each field's position in meta, per kernel: `ML.gemm.K` is where gemm's K goes. */
export type MetaIndex = { readonly [K in keyof Layout]: { readonly [F in Layout[K][number]]: number } };

export const ML = Object.fromEntries(
  Object.entries(META_LAYOUT).map(([k, fields]) => [
    k,
    Object.fromEntries((fields as readonly string[]).map((f, i) => [f, i])),
  ]),
) as MetaIndex;
