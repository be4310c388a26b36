/** Reference elementwise kernels: unary maps and their derivatives, broadcast binary ops, where, clamp. */
import type { AnyArray, BinaryOp, CompareOp, FloatArray, Strided, UnaryOp } from "../../backend/backend.js";
import { erf } from "./math.js";
import { forEach2, positions } from "./strided.js";

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;
const GELU_TANH_K = 0.7978845608028654; // √(2/π)
const GELU_TANH_C = 0.044715;

function sigmoid(x: number): number {
  // Split on the sign so exp never overflows.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function unaryFn(op: UnaryOp): (x: number) => number {
  switch (op) {
    case "neg":
      return (x) => -x;
    case "exp":
      return Math.exp;
    case "log":
      return Math.log;
    case "sqrt":
      return Math.sqrt;
    case "rsqrt":
      return (x) => 1 / Math.sqrt(x);
    case "abs":
      return Math.abs;
    case "tanh":
      return Math.tanh;
    case "sigmoid":
      return sigmoid;
    case "relu":
      return (x) => (x > 0 ? x : x === x ? 0 : x);
    case "gelu":
      return (x) => 0.5 * x * (1 + erf(x * SQRT1_2));
    case "geluTanh":
      return (x) => 0.5 * x * (1 + Math.tanh(GELU_TANH_K * (x + GELU_TANH_C * x * x * x)));
    case "silu":
      return (x) => x * sigmoid(x);
    case "sin":
      return Math.sin;
    case "cos":
      return Math.cos;
    case "square":
      return (x) => x * x;
    case "reciprocal":
      return (x) => 1 / x;
    case "sign":
      return (x) => (x > 0 ? 1 : x < 0 ? -1 : x === x ? 0 : x);
  }
}

/** d f(x)/dx expressed through x and y = f(x). */
function derivative(op: UnaryOp): (x: number, y: number) => number {
  switch (op) {
    case "neg":
      return () => -1;
    case "exp":
      return (_x, y) => y;
    case "log":
      return (x) => 1 / x;
    case "sqrt":
      return (_x, y) => 0.5 / y;
    case "rsqrt":
      return (x, y) => (-0.5 * y) / x;
    case "abs":
      return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case "tanh":
      return (_x, y) => 1 - y * y;
    case "sigmoid":
      return (_x, y) => y * (1 - y);
    case "relu":
      return (x) => (x > 0 ? 1 : 0);
    case "gelu":
      // Φ(x) + x·φ(x)
      return (x) => 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case "geluTanh":
      return (x) => {
        const t = Math.tanh(GELU_TANH_K * (x + GELU_TANH_C * x * x * x));
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_TANH_K * (1 + 3 * GELU_TANH_C * x * x);
      };
    case "silu":
      return (x) => {
        const s = sigmoid(x);
        return s * (1 + x * (1 - s));
      };
    case "sin":
      return Math.cos;
    case "cos":
      return (x) => -Math.sin(x);
    case "square":
      return (x) => 2 * x;
    case "reciprocal":
      return (_x, y) => -y * y;
    case "sign":
      return () => 0;
  }
}

export function unary(op: UnaryOp, x: FloatArray, out: FloatArray): void {
  const f = unaryFn(op);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
}

export function unaryBackward(
  op: UnaryOp,
  x: FloatArray,
  y: FloatArray,
  gy: FloatArray,
  gx: FloatArray,
): void {
  const d = derivative(op);
  for (let i = 0; i < x.length; i++) gx[i] = gy[i] * d(x[i], y[i]);
}

function binaryFn(op: BinaryOp, intResult: boolean): (a: number, b: number) => number {
  switch (op) {
    case "add":
      return (a, b) => a + b;
    case "sub":
      return (a, b) => a - b;
    case "mul":
      return intResult ? (a, b) => Math.imul(a, b) : (a, b) => a * b;
    case "div":
      return (a, b) => a / b;
    case "pow":
      return (a, b) => a ** b;
    case "maximum":
      return (a, b) => (a !== a || b !== b ? Number.NaN : a > b ? a : b);
    case "minimum":
      return (a, b) => (a !== a || b !== b ? Number.NaN : a < b ? a : b);
  }
}

export function binary(op: BinaryOp, shape: readonly number[], a: Strided, b: Strided, out: AnyArray): void {
  const f = binaryFn(op, out instanceof Int32Array);
  const A = a.data;
  const B = b.data;
  forEach2(shape, a, b, (i, pa, sa, pb, sb, n) => {
    for (let j = 0; j < n; j++) out[i + j] = f(A[pa + j * sa], B[pb + j * sb]);
  });
}

function compareFn(op: CompareOp): (a: number, b: number) => boolean {
  switch (op) {
    case "eq":
      return (a, b) => a === b;
    case "ne":
      return (a, b) => a !== b;
    case "lt":
      return (a, b) => a < b;
    case "le":
      return (a, b) => a <= b;
    case "gt":
      return (a, b) => a > b;
    case "ge":
      return (a, b) => a >= b;
  }
}

export function compare(
  op: CompareOp,
  shape: readonly number[],
  a: Strided,
  b: Strided,
  out: Uint8Array,
): void {
  const f = compareFn(op);
  const A = a.data;
  const B = b.data;
  forEach2(shape, a, b, (i, pa, sa, pb, sb, n) => {
    for (let j = 0; j < n; j++) out[i + j] = f(A[pa + j * sa], B[pb + j * sb]) ? 1 : 0;
  });
}

export function where(
  shape: readonly number[],
  cond: Strided<Uint8Array>,
  a: Strided,
  b: Strided,
  out: AnyArray,
): void {
  const pc = positions(shape, cond);
  const C = cond.data;
  const A = a.data;
  const B = b.data;
  forEach2(shape, a, b, (i, pa, sa, pb, sb, n) => {
    for (let j = 0; j < n; j++) out[i + j] = C[pc[i + j]] ? A[pa + j * sa] : B[pb + j * sb];
  });
}

export function clamp(x: AnyArray, lo: number, hi: number, out: AnyArray): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = v !== v ? v : v < lo ? lo : v > hi ? hi : v;
  }
}

export function copy(shape: readonly number[], src: Strided, dst: Strided): void {
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

export function fill(out: AnyArray, value: number): void {
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
