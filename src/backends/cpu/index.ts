/**
 * The reference CPU backend: readable plain-loop kernels. It is the oracle every faster backend
 * is tested against, and the fallback wherever no faster kernel exists.
 */
import type { Backend } from "../../backend/backend.js";
import { attentionBackward, attentionForward } from "./attention.js";
import { binary, clamp, compare, copy, fill, unary, unaryBackward, where } from "./elementwise.js";
import { gemm } from "./gemm.js";
import { gather, indexAdd, indexSelect, scatterAdd } from "./indexing.js";
import {
  crossEntropyBackward,
  crossEntropyForward,
  layerNormBackward,
  layerNormForward,
  logSoftmaxBackward,
  logSoftmaxForward,
  softmaxBackward,
  softmaxForward,
} from "./nn.js";
import { adamStepMulti, scaleInPlace, sumOfSquares } from "./optim.js";
import { quantizedLinear } from "./quantized.js";
import { argReduce, reduce } from "./reduce.js";

/** The reference backend, always available: plain JS loops, the oracle the others are tested against. */
export const cpuBackend: Backend = {
  name: "cpu",
  fused: { quantizedLinear },
  copy,
  fill,
  unary,
  unaryBackward,
  binary,
  compare,
  where,
  clamp,
  reduce,
  argReduce,
  gemm,
  softmaxForward,
  softmaxBackward,
  logSoftmaxForward,
  logSoftmaxBackward,
  layerNormForward,
  layerNormBackward,
  crossEntropyForward,
  crossEntropyBackward,
  indexSelect,
  indexAdd,
  gather,
  scatterAdd,
  attentionForward,
  attentionBackward,
  adamStepMulti,
  sumOfSquares,
  scaleInPlace,
};
