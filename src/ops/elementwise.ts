/** Elementwise ops with NumPy/PyTorch broadcasting, and their backward rules. */
import { record } from "../autograd/graph.js";
import type { BinaryOp, CompareOp, DType, FloatArray, UnaryOp } from "../backend/backend.js";
import { UNARY_OPS } from "../backend/op-table.js";
import { allocateUninit, isFloating, resultType } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { broadcastShapes, sizeOf } from "../util/shape.js";
import {
  backend,
  broadcastView,
  dense,
  denseFloat,
  empty,
  operands,
  requireDtype,
  type TensorLike,
  wrap,
} from "./core.js";
import { sumTo } from "./reduce.js";
import { detach } from "./shape.js";

// ---- unary ------------------------------------------------------------------------------------

function unaryOp(op: UnaryOp, x: Tensor): Tensor {
  const xd = denseFloat(op, x);
  const out = allocateUninit(x.dtype, xd.length) as FloatArray;
  backend().unary({ op, x: xd, out });
  const y = wrap(out, x.shape);
  return record(y, op, [x], (g) => {
    const gx = allocateUninit(x.dtype, xd.length) as FloatArray;
    backend().unaryBackward({ op, x: xd, y: out, gy: denseFloat(op, g), gx });
    return [wrap(gx, x.shape)];
  });
}

/** One differentiable function per unary op name, the type of {@link unaryOps}. */
export type UnaryOpFunctions = { readonly [K in UnaryOp]: (x: Tensor) => Tensor };

/**
 * Every unary op of the table (src/backend/op-table.ts) as a differentiable function of one float
 * tensor, derived from its rows: a new row is usable here, and as a Tensor method, with no edit.
 * @example unaryOps.softplus(x) // same as x.softplus()
 */
export const unaryOps: UnaryOpFunctions = Object.fromEntries(
  UNARY_OPS.map((r) => [r.name, (x: Tensor): Tensor => unaryOp(r.name, x)]),
) as UnaryOpFunctions;

/** −x. Integer tensors stay integer. */
export function neg(x: Tensor): Tensor {
  if (!isFloating(x.dtype)) return mul(x, -1);
  return unaryOp("neg", x);
}
/** eˣ */
export const exp = unaryOps.exp;
/** Natural log. */
export const log = unaryOps.log;
/** √x */
export const sqrt = unaryOps.sqrt;
/** 1/√x */
export const rsqrt = unaryOps.rsqrt;
/** |x|; the gradient at 0 is 0, as in PyTorch. */
export const abs = unaryOps.abs;
/** tanh(x) */
export const tanh = unaryOps.tanh;
/** 1/(1+e⁻ˣ), computed without overflow. */
export const sigmoid = unaryOps.sigmoid;
/** max(x, 0) */
export const relu = unaryOps.relu;
/** x·σ(x) (a.k.a. swish). */
export const silu = unaryOps.silu;
/** sin(x) */
export const sin = unaryOps.sin;
/** cos(x) */
export const cos = unaryOps.cos;
/** x² */
export const square = unaryOps.square;
/** 1/x */
export const reciprocal = unaryOps.reciprocal;
/** log(1 + eˣ), as torch.nn.functional.softplus (threshold 20). Also `unaryOps.softplus`, `x.softplus()`. */
export const softplus = unaryOps.softplus;
/** log σ(x), as torch.nn.functional.logsigmoid. */
export const logsigmoid = unaryOps.logsigmoid;
/** x·tanh(softplus(x)) (Misra 2019), as torch.nn.functional.mish. */
export const mish = unaryOps.mish;
/** sign(x) ∈ {−1, 0, 1}; gradient 0. */
export const sign = unaryOps.sign;

/**
 * GELU, x·Φ(x). `approximate: "tanh"` gives GPT-2's tanh form.
 * @example gelu(x, { approximate: "tanh" })
 */
export function gelu(x: Tensor, opts: { approximate?: "none" | "tanh" } = {}): Tensor {
  const a = opts.approximate ?? "none";
  if (a !== "none" && a !== "tanh") throw new Error(`gelu: approximate must be "none" or "tanh", got "${a}"`);
  return unaryOp(a === "tanh" ? "geluTanh" : "gelu", x);
}

// ---- binary -----------------------------------------------------------------------------------

function binaryOp(op: BinaryOp, a: Tensor, b: Tensor, dtype: DType): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const ac = a.dtype === dtype ? a : castRaw(a, dtype);
  const bc = b.dtype === dtype ? b : castRaw(b, dtype);
  const out = allocateUninit(dtype, sizeOf(shape));
  backend().binary({ op, shape, a: broadcastView(ac, shape), b: broadcastView(bc, shape), out });
  return wrap(out, shape);
}

/** Converts dtype without recording (used for operand promotion; gradients are handled by callers). */
function castRaw(x: Tensor, dtype: DType): Tensor {
  const out = empty(x.shape, dtype);
  backend().copy({
    shape: x.shape,
    src: { data: x.data, offset: x.offset, strides: x.strides },
    dst: { data: out.data, offset: 0, strides: out.strides },
  });
  return out;
}

function arithDtype(a: Tensor, b: Tensor): DType {
  const d = resultType(a, b);
  return d === "bool" ? "int32" : d;
}

function floatDtype(a: Tensor, b: Tensor): DType {
  const d = resultType(a, b);
  return isFloating(d) ? d : "float32";
}

/** Gradient `g` cast back to x's dtype and summed over the dims x was broadcast along. */
function gradFor(x: Tensor, g: Tensor): Tensor | null {
  if (!x.requiresGrad) return null;
  const r = sumTo(g, x.shape);
  return r.dtype === x.dtype ? r : castRaw(r, x.dtype);
}

/** a + b (broadcasting). @example add(x, 1) */
export function add(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands("add", a, b);
  const out = binaryOp("add", x, y, arithDtype(x, y));
  return record(out, "add", [x, y], (g) => [gradFor(x, g), gradFor(y, g)]);
}

/** a − b */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands("sub", a, b);
  const out = binaryOp("sub", x, y, arithDtype(x, y));
  return record(out, "sub", [x, y], (g) => [gradFor(x, g), y.requiresGrad ? gradFor(y, neg(g)) : null]);
}

/** a · b (elementwise) */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands("mul", a, b);
  const out = binaryOp("mul", x, y, arithDtype(x, y));
  return record(out, "mul", [x, y], (g) => [
    x.requiresGrad ? gradFor(x, mul(g, y)) : null,
    y.requiresGrad ? gradFor(y, mul(g, x)) : null,
  ]);
}

/** a / b (true division: integer inputs give float32). */
export function div(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands("div", a, b);
  const out = binaryOp("div", x, y, floatDtype(x, y));
  return record(out, "div", [x, y], (g) => [
    x.requiresGrad ? gradFor(x, div(g, y)) : null,
    // d(x/y)/dy = −x/y² = −out/y
    y.requiresGrad ? gradFor(y, neg(div(mul(g, detach(out)), y))) : null,
  ]);
}

/** aᵇ (elementwise). */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands("pow", a, b);
  const out = binaryOp("pow", x, y, floatDtype(x, y));
  return record(out, "pow", [x, y], (g) => [
    // d/dx xʸ = y·x^(y−1);  d/dy xʸ = xʸ·ln x (taken as 0 where x = 0, as PyTorch does).
    x.requiresGrad ? gradFor(x, mul(g, mul(y, pow(x, sub(y, 1))))) : null,
    y.requiresGrad ? gradFor(y, mul(g, mul(detach(out), where(eq(x, 0), 0, log(x))))) : null,
  ]);
}

function extremeOf(op: "maximum" | "minimum", a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands(op, a, b);
  const out = binaryOp(op, x, y, arithDtype(x, y));
  return record(out, op, [x, y], (g) => {
    // Ties split the gradient in half, as PyTorch does.
    const xWins = op === "maximum" ? gt(x, y) : lt(x, y);
    const tie = eq(x, y);
    const wx = add(xWins, mul(tie, 0.5));
    const wy = sub(1, wx);
    return [x.requiresGrad ? gradFor(x, mul(g, wx)) : null, y.requiresGrad ? gradFor(y, mul(g, wy)) : null];
  });
}

/** Elementwise maximum (NaN propagates). */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => extremeOf("maximum", a, b);
/** Elementwise minimum (NaN propagates). */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => extremeOf("minimum", a, b);

// ---- comparisons, where, clamp ----------------------------------------------------------------

function compareOp(op: CompareOp, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands(op, a, b);
  const shape = broadcastShapes(op, x.shape, y.shape);
  const out = new Uint8Array(sizeOf(shape));
  backend().compare({ op, shape, a: broadcastView(x, shape), b: broadcastView(y, shape), out });
  return wrap(out, shape);
}

/** a == b as a bool tensor. */
export const eq = (a: TensorLike, b: TensorLike): Tensor => compareOp("eq", a, b);
/** a != b as a bool tensor. */
export const ne = (a: TensorLike, b: TensorLike): Tensor => compareOp("ne", a, b);
/** a < b as a bool tensor. */
export const lt = (a: TensorLike, b: TensorLike): Tensor => compareOp("lt", a, b);
/** a <= b as a bool tensor. */
export const le = (a: TensorLike, b: TensorLike): Tensor => compareOp("le", a, b);
/** a > b as a bool tensor. */
export const gt = (a: TensorLike, b: TensorLike): Tensor => compareOp("gt", a, b);
/** a >= b as a bool tensor. */
export const ge = (a: TensorLike, b: TensorLike): Tensor => compareOp("ge", a, b);

/** Logical and of two bool tensors. */
export function logicalAnd(a: Tensor, b: Tensor): Tensor {
  return ne(mul(ne(a, 0), ne(b, 0)), 0);
}

/** Logical or of two bool tensors. */
export function logicalOr(a: Tensor, b: Tensor): Tensor {
  return ne(add(ne(a, 0), ne(b, 0)), 0);
}

/** Logical not. */
export function logicalNot(a: Tensor): Tensor {
  return eq(a, 0);
}

/**
 * cond ? a : b elementwise, broadcasting all three. `cond` must be bool.
 * @example where(gt(x, 0), x, 0)
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  requireDtype("where", cond, "bool", "condition");
  const [x, y] = operands("where", a, b);
  const dtype = resultType(x, y);
  const shape = broadcastShapes("where", cond.shape, x.shape, y.shape);
  const xc = x.dtype === dtype ? x : castRaw(x, dtype);
  const yc = y.dtype === dtype ? y : castRaw(y, dtype);
  const out = allocateUninit(dtype, sizeOf(shape));
  backend().where({
    shape,
    cond: broadcastView(cond, shape) as { data: Uint8Array; offset: number; strides: number[] },
    a: broadcastView(xc, shape),
    b: broadcastView(yc, shape),
    out,
  });
  return record(wrap(out, shape), "where", [x, y], (g) => [
    x.requiresGrad ? gradFor(x, where(cond, g, 0)) : null,
    y.requiresGrad ? gradFor(y, where(cond, 0, g)) : null,
  ]);
}

/**
 * Clamps into [min, max] (either bound may be omitted). The gradient passes where min ≤ x ≤ max.
 * @example clamp(x, { min: 0, max: 6 })
 */
export function clamp(x: Tensor, opts: { min?: number; max?: number }): Tensor {
  const lo = opts.min ?? Number.NEGATIVE_INFINITY;
  const hi = opts.max ?? Number.POSITIVE_INFINITY;
  if (opts.min === undefined && opts.max === undefined)
    throw new Error("clamp: at least one of min and max must be given");
  const xd = dense(x);
  const out = allocateUninit(x.dtype, xd.length);
  backend().clamp({ x: xd, lo, hi, out });
  return record(wrap(out, x.shape), "clamp", [x], (g) => [mul(g, logicalAnd(ge(x, lo), le(x, hi)))]);
}
