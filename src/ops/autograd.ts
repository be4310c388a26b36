/** `backward()` and gradient helpers: connects the op-agnostic autograd sweep to the ops it needs. */
import { runBackward, withNoGrad } from "../autograd/graph.js";
import { onesLike } from "../tensor/create.js";
import { allocateUninit } from "../tensor/dtype.js";
import { Tensor } from "../tensor/tensor.js";
import { isDenseLayout, sameShape, shapeStr } from "../util/shape.js";
import { backend } from "./core.js";
import { add } from "./elementwise.js";
import { clone } from "./shape.js";

/** A copy of `a` in fresh storage, laid out like `layout` when that is dense, else contiguous. */
function cloneIn(a: Tensor, layout?: Tensor): Tensor {
  if (!layout || !isDenseLayout(layout.shape, layout.strides)) return clone(a);
  const out = new Tensor(allocateUninit(a.dtype, a.numel()), a.shape, layout.strides, 0);
  backend().copy({
    shape: a.shape,
    src: { data: a.data, offset: a.offset, strides: a.strides },
    dst: { data: out.data, offset: 0, strides: out.strides },
  });
  return out;
}

/** a += b, for the sweep's accumulation into a gradient it owns (a dense; b of a's shape and dtype). */
function addInPlace(a: Tensor, b: Tensor): void {
  backend().binary({
    op: "add",
    shape: a.shape,
    a: { data: a.data, offset: a.offset, strides: a.strides },
    b: { data: b.data, offset: b.offset, strides: b.strides },
    out: a.data,
  });
}

/** Options of {@link backward}. */
export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. */
  retainGraph?: boolean;
}

/**
 * Computes d(t)/d(leaves) and accumulates into their `.grad`. A non-scalar `t` needs `gradient`
 * (the vector in the vector-Jacobian product), as in PyTorch.
 * @example
 * const x = tensor([2], { requiresGrad: true });
 * backward(mul(x, x)); // x.grad = [4]
 */
export function backward(t: Tensor, gradient?: Tensor, opts: BackwardOptions = {}): void {
  if (!t.requiresGrad) {
    throw new Error(`backward: tensor of shape ${shapeStr(t.shape)} does not require grad and has no gradFn`);
  }
  let g = gradient;
  if (!g) {
    if (t.numel() !== 1) {
      throw new Error(
        `backward: grad can be implicitly created only for scalar outputs, got shape ${shapeStr(t.shape)}; pass a gradient`,
      );
    }
    g = onesLike(t);
  } else if (!sameShape(g.shape, t.shape)) {
    throw new Error(
      `backward: gradient of shape ${shapeStr(g.shape)} does not match tensor of shape ${shapeStr(t.shape)}`,
    );
  } else if (g.dtype !== t.dtype) {
    throw new Error(`backward: gradient dtype ${g.dtype} does not match tensor dtype ${t.dtype}`);
  }
  const seed = g;
  withNoGrad(() => runBackward(t, seed, { add, clone: cloneIn, addInPlace }, opts.retainGraph ?? false));
}
