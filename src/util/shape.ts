/** Shape helpers: sizes, contiguous strides, broadcasting and dim normalisation. */

export type Shape = readonly number[];

export function shapeStr(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Whether a layout with positive `strides` covers exactly `sizeOf(shape)` consecutive storage
 * elements: contiguous in some order of the dims (row-major, a transpose of it, any permutation).
 * Such a tensor's storage block can be updated element by element like a contiguous one.
 * @example isDenseLayout([3, 2], [1, 3]) // true: the transpose of a contiguous (2, 3)
 */
export function isDenseLayout(shape: Shape, strides: readonly number[]): boolean {
  const dims = shape.map((_n, i) => i).filter((i) => shape[i] !== 1);
  dims.sort((a, b) => strides[a] - strides[b]);
  let expected = 1;
  for (const i of dims) {
    if (strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/**
 * Whether two layouts of one `shape` put every element at the same place in storage, relative to
 * their offsets. The stride of a size-1 dim never matters; otherwise the strides must agree.
 * @example sameLayout([1, 4], [4, 1], [1, 1]) // true: both are 4 consecutive elements
 */
export function sameLayout(shape: Shape, a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < shape.length; i++) if (shape[i] !== 1 && a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether a 2-D (rows, cols) layout is the transposed view of a contiguous (cols, rows) matrix,
 * with both sizes above 1: how GPT-2's Conv1D weights, stored (in, out), are viewed as (out, in).
 * The matmul weight gradient, the optimizers and the fused layer all read such a weight in its
 * storage order.
 * @example isTransposedMatrix([3, 2], [1, 3]) // true
 */
export function isTransposedMatrix(shape: Shape, strides: readonly number[]): boolean {
  return shape.length === 2 && shape[0] > 1 && shape[1] > 1 && strides[0] === 1 && strides[1] === shape[0];
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy/PyTorch broadcasting of several shapes; throws naming the op and shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const nd = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = nd - s.length + i;
      const d = s[i];
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new Error(
          `${op}: shapes ${shapes.map(shapeStr).join(" and ")} cannot be broadcast together (dim ${j}: ${out[j]} vs ${d})`,
        );
      }
    }
  }
  return out;
}

/** Normalises a possibly negative dim into [0, ndim); throws naming the op. */
export function normDim(op: string, dim: number, ndim: number, shape?: Shape): number {
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    const where = shape ? ` for a tensor of shape ${shapeStr(shape)}` : "";
    throw new Error(`${op}: dim ${dim} is out of range [${lo}, ${hi}]${where}`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`${op}: invalid shape ${shapeStr(shape)}: sizes must be non-negative integers`);
  }
}
