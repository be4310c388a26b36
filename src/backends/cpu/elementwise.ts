/** Reference elementwise kernels: unary maps and their derivatives, broadcast binary ops, where, clamp. */
import type {
  BinaryArgs,
  ClampArgs,
  CompareArgs,
  CopyArgs,
  FillArgs,
  UnaryArgs,
  UnaryBackwardArgs,
  WhereArgs,
} from "../../backend/backend.js";
import { binaryRow, compareRow, unaryRow } from "../../backend/op-table.js";
import { forEach2, positions } from "./strided.js";

// The scalar maps of every op are rows of the op tables; these loops only apply them.

export function unary(args: UnaryArgs): void {
  const { op, x, out } = args;
  const f = unaryRow[op].f;
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
}

export function unaryBackward(args: UnaryBackwardArgs): void {
  const { op, x, y, gy, gx } = args;
  const d = unaryRow[op].df;
  for (let i = 0; i < x.length; i++) gx[i] = gy[i] * d(x[i], y[i]);
}

export function binary(args: BinaryArgs): void {
  const { op, shape, a, b, out } = args;
  const row = binaryRow[op];
  const f = out instanceof Int32Array && row.fi ? row.fi : row.f;
  const A = a.data;
  const B = b.data;
  forEach2(shape, a, b, (i, pa, sa, pb, sb, n) => {
    for (let j = 0; j < n; j++) out[i + j] = f(A[pa + j * sa], B[pb + j * sb]);
  });
}

export function compare(args: CompareArgs): void {
  const { op, shape, a, b, out } = args;
  const f = compareRow[op].f;
  const A = a.data;
  const B = b.data;
  forEach2(shape, a, b, (i, pa, sa, pb, sb, n) => {
    for (let j = 0; j < n; j++) out[i + j] = f(A[pa + j * sa], B[pb + j * sb]) ? 1 : 0;
  });
}

export function where(args: WhereArgs): void {
  const { shape, cond, a, b, out } = args;
  const pc = positions(shape, cond);
  const C = cond.data;
  const A = a.data;
  const B = b.data;
  forEach2(shape, a, b, (i, pa, sa, pb, sb, n) => {
    for (let j = 0; j < n; j++) out[i + j] = C[pc[i + j]] ? A[pa + j * sa] : B[pb + j * sb];
  });
}

export function clamp(args: ClampArgs): void {
  const { x, lo, hi, out } = args;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = v !== v ? v : v < lo ? lo : v > hi ? hi : v;
  }
}

export function copy(args: CopyArgs): void {
  const { shape, src, dst } = args;
  const S = src.data;
  const D = dst.data;
  // bool destinations hold 0/1, whatever the source value.
  const toBool = D instanceof Uint8Array && !(S instanceof Uint8Array);
  if (!toBool && isDense(shape, src.strides) && isDense(shape, dst.strides)) {
    let n = 1;
    for (const d of shape) n *= d;
    if (S.constructor === D.constructor)
      (D as Float32Array).set((S as Float32Array).subarray(src.offset, src.offset + n), dst.offset);
    else for (let i = 0; i < n; i++) D[dst.offset + i] = S[src.offset + i];
    return;
  }
  const pd = positions(shape, dst);
  forEach2(shape, src, src, (i, ps, ss, _pb, _sb, n) => {
    if (toBool) for (let j = 0; j < n; j++) D[pd[i + j]] = S[ps + j * ss] !== 0 ? 1 : 0;
    else for (let j = 0; j < n; j++) D[pd[i + j]] = S[ps + j * ss];
  });
}

export function fill(args: FillArgs): void {
  const { out, value } = args;
  out.fill(value);
}

function isDense(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}
