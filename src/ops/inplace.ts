/**
 * In-place updates (trailing underscore, as in PyTorch) for initialisation and optimizers. They
 * are not recorded by autograd, so on a leaf that requires grad they need `withNoGrad`.
 */
import { isGradEnabled } from "../autograd/graph.js";
import { allocate } from "../tensor/dtype.js";
import { Tensor } from "../tensor/tensor.js";
import { defaultGenerator, type Generator } from "../util/rng.js";
import { shapeStr } from "../util/shape.js";
import { backend, broadcastView } from "./core.js";

function guard(op: string, t: Tensor): void {
  if (t.requiresGrad && isGradEnabled()) {
    throw new Error(
      `${op}: a tensor that requires grad cannot be modified in place while grad mode is on; wrap it in withNoGrad()`,
    );
  }
}

function writeDense(t: Tensor, values: ArrayLike<number>): void {
  const src = allocate(t.dtype, t.numel());
  for (let i = 0; i < src.length; i++) src[i] = values[i];
  backend().copy({
    shape: t.shape,
    src: { data: src, offset: 0, strides: new Tensor(src, t.shape).strides },
    dst: { data: t.data, offset: t.offset, strides: t.strides },
  });
}

/** Copies `src` (broadcast to t's shape) into t. @example withNoGrad(() => copy_(w, pretrained)) */
export function copy_(t: Tensor, src: Tensor): Tensor {
  guard("copy_", t);
  if (src.ndim > t.ndim || src.shape.some((d, i) => d !== 1 && d !== t.shape[t.ndim - src.ndim + i])) {
    throw new Error(
      `copy_: source of shape ${shapeStr(src.shape)} cannot be broadcast to ${shapeStr(t.shape)}`,
    );
  }
  backend().copy({
    shape: t.shape,
    src: broadcastView(src, t.shape),
    dst: {
      data: t.data,
      offset: t.offset,
      strides: t.strides,
    },
  });
  return t;
}

/** Sets every element to `value`. */
export function fill_(t: Tensor, value: number): Tensor {
  guard("fill_", t);
  if (t.isContiguous()) t.data.fill(value, t.offset, t.offset + t.numel());
  else writeDense(t, new Float64Array(t.numel()).fill(value));
  return t;
}

/** Sets every element to 0. */
export function zero_(t: Tensor): Tensor {
  return fill_(t, 0);
}

/** Samples are drawn at the tensor's precision: an mt19937 generator maps draws per dtype, as torch. */
function sampleBuffer(t: Tensor): Float32Array | Float64Array {
  return t.dtype === "float32" ? new Float32Array(t.numel()) : new Float64Array(t.numel());
}

/**
 * Logical (row-major) index of each element in the order torch's TensorIterator visits a strided
 * tensor: memory order, i.e. dims by decreasing stride. A transposed tensor is filled down its
 * columns there, so an mt19937 fill of a view lands each draw where torch puts it.
 */
function memoryOrder(t: Tensor): Int32Array {
  const nd = t.ndim;
  const dims = Array.from({ length: nd }, (_, d) => d).sort((a, b) => t.strides[b] - t.strides[a]);
  const logical = new Array<number>(nd);
  for (let d = nd - 1, s = 1; d >= 0; d--) {
    logical[d] = s;
    s *= t.shape[d];
  }
  const order = new Int32Array(t.numel());
  const idx = new Array<number>(nd).fill(0);
  for (let k = 0; k < order.length; k++) {
    let at = 0;
    for (let d = 0; d < nd; d++) at += idx[dims[d]] * logical[dims[d]];
    order[k] = at;
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[dims[d]] < t.shape[dims[d]]) break;
      idx[dims[d]] = 0;
    }
  }
  return order;
}

/** Fills t with `draw`'s samples, in torch's visiting order under an mt19937 generator. */
function fillSampled(t: Tensor, generator: Generator, draw: (v: Float32Array | Float64Array) => void): void {
  const v = sampleBuffer(t);
  draw(v);
  if (generator.algorithm === "mt19937" && !t.isContiguous()) {
    const order = memoryOrder(t);
    const logical = sampleBuffer(t);
    for (let k = 0; k < order.length; k++) logical[order[k]] = v[k];
    writeDense(t, logical);
  } else {
    writeDense(t, v);
  }
}

/** Fills with uniform samples in [low, high) (torch's `uniform_` under an mt19937 generator). */
export function uniform_(t: Tensor, low = 0, high = 1, generator: Generator = defaultGenerator): Tensor {
  guard("uniform_", t);
  fillSampled(t, generator, (v) => generator.fillUniform(v, low, high));
  return t;
}

/**
 * Fills with normal samples N(mean, std²). Under an mt19937 generator this is torch's `normal_`,
 * whose whole-tensor scheme for contiguous tensors differs from element-by-element draws.
 */
export function normal_(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator): Tensor {
  guard("normal_", t);
  fillSampled(t, generator, (v) => generator.fillNormal(v, mean, std, t.isContiguous()));
  return t;
}
