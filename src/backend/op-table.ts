/**
 * The op tables: the single source of truth of the element-wise, comparison and reduction families.
 * From these rows derive the op-name types, the reference backend's dispatch, the native op codes
 * (scripts/gen-op-header.mjs parses this file into the addon's generated header; the codes are the
 * row positions), the public unary ops and Tensor methods, the PyTorch golden script's op list and
 * the tests that iterate every op. Adding a unary op = a row here, its kernel in
 * native/kernels_elem.inc, and the regenerated golden fixture.
 *
 * Format rule (the header generator reads this file as text): each table opens with
 * `export const <FAMILY>_OPS = [`, closes with `] as const`, and its only `name:` keys are the rows'.
 */
import { erf } from "../util/special.js";

/** How the goldens and gradient checks draw a unary op's inputs (a domain where f is smooth). */
export type InputDomain = "normal" | "positive" | "away" | "away5";

/** One unary op: its name, reference scalar maps and what tests and the native backend need. */
export interface UnaryRow {
  readonly name: string;
  /** y = f(x), the reference value (float64 arithmetic). */
  f(x: number): number;
  /** df/dx expressed through x and y = f(x) (rules like tanh' = 1 − y² use y). */
  df(x: number, y: number): number;
  /** No transcendental function: the native backend needs a larger size to beat the JS loop. */
  readonly cheap: boolean;
  /**
   * "derived": ops/ derives the public function and Tensor method from this row; "custom": ops/
   * writes its own (integer handling, options) and the row only names the kernel.
   */
  readonly api: "derived" | "custom";
  /** A Python expression for the PyTorch reference, a callable of one tensor (F = torch.nn.functional). */
  readonly torch: string;
  /** Inputs for the golden and the gradient check. */
  readonly domain: InputDomain;
  /**
   * [rtol, atol] a float32 SIMD kernel may differ by from the reference rounded to float32 (absent:
   * exact); the conformance tests hold every backend to it.
   */
  readonly f32Tol?: readonly [number, number];
  /** The same for the gradient map (absent: [1e-6, 1e-30]). */
  readonly f32GradTol?: readonly [number, number];
}

const INV_SQRT_2PI = 0.3989422804014327;
const GELU_TANH_K = 0.7978845608028654; // √(2/π)
const GELU_TANH_C = 0.044715;

/** 1/(1 + e⁻ˣ), split on the sign so exp never overflows. */
function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 + eˣ) = max(x, 0) + log1p(e^−|x|), which neither overflows nor cancels. */
function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

function geluTanhInner(x: number): number {
  return Math.tanh(GELU_TANH_K * (x + GELU_TANH_C * x * x * x));
}

export const UNARY_OPS = [
  {
    name: "neg",
    f: (x) => -x,
    df: () => -1,
    cheap: true,
    api: "custom",
    torch: "torch.neg",
    domain: "normal",
  },
  {
    name: "exp",
    f: Math.exp,
    df: (_x, y) => y,
    cheap: false,
    api: "derived",
    torch: "torch.exp",
    domain: "normal",
    f32Tol: [1e-6, 1e-40],
  },
  {
    name: "log",
    f: Math.log,
    df: (x) => 1 / x,
    cheap: false,
    api: "derived",
    torch: "torch.log",
    domain: "positive",
    f32Tol: [1e-6, 1e-7],
  },
  {
    name: "sqrt",
    f: Math.sqrt,
    df: (_x, y) => 0.5 / y,
    cheap: true,
    api: "derived",
    torch: "torch.sqrt",
    domain: "positive",
  },
  {
    name: "rsqrt",
    f: (x) => 1 / Math.sqrt(x),
    df: (x, y) => (-0.5 * y) / x,
    cheap: true,
    api: "derived",
    torch: "torch.rsqrt",
    domain: "positive",
    f32Tol: [2.5e-7, 0],
  },
  {
    name: "abs",
    f: Math.abs,
    df: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), // 0 at 0, as in PyTorch
    cheap: true,
    api: "derived",
    torch: "torch.abs",
    domain: "away",
  },
  {
    name: "tanh",
    f: Math.tanh,
    df: (_x, y) => 1 - y * y,
    cheap: false,
    api: "derived",
    torch: "torch.tanh",
    domain: "normal",
    f32Tol: [1e-6, 1e-30],
  },
  {
    name: "sigmoid",
    f: sigmoid,
    df: (_x, y) => y * (1 - y),
    cheap: false,
    api: "derived",
    torch: "torch.sigmoid",
    domain: "normal",
    f32Tol: [1e-6, 1e-30],
  },
  {
    name: "relu",
    f: (x) => (x > 0 ? x : x === x ? 0 : x), // NaN propagates
    df: (x) => (x > 0 ? 1 : 0),
    cheap: true,
    api: "derived",
    torch: "torch.relu",
    domain: "away",
  },
  {
    name: "gelu",
    f: (x) => 0.5 * x * (1 + erf(x * Math.SQRT1_2)),
    // Φ(x) + x·φ(x)
    df: (x) => 0.5 * (1 + erf(x * Math.SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
    cheap: false,
    api: "custom",
    torch: "F.gelu",
    domain: "normal",
    f32Tol: [4e-6, 1e-14],
    f32GradTol: [1e-5, 1e-7],
  },
  {
    name: "geluTanh",
    f: (x) => 0.5 * x * (1 + geluTanhInner(x)),
    df: (x) => {
      const t = geluTanhInner(x);
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_TANH_K * (1 + 3 * GELU_TANH_C * x * x);
    },
    cheap: false,
    api: "custom",
    torch: "lambda x: F.gelu(x, approximate='tanh')",
    domain: "normal",
    f32Tol: [4e-6, 1e-14],
    f32GradTol: [1e-5, 1e-7],
  },
  {
    name: "silu",
    f: (x) => x * sigmoid(x),
    df: (x) => {
      const s = sigmoid(x);
      return s * (1 + x * (1 - s));
    },
    cheap: false,
    api: "derived",
    torch: "F.silu",
    domain: "normal",
    f32Tol: [2e-6, 1e-30],
    f32GradTol: [1e-5, 1e-7],
  },
  {
    name: "sin",
    f: Math.sin,
    df: Math.cos,
    cheap: false,
    api: "derived",
    torch: "torch.sin",
    domain: "normal",
  },
  {
    name: "cos",
    f: Math.cos,
    df: (x) => -Math.sin(x),
    cheap: false,
    api: "derived",
    torch: "torch.cos",
    domain: "normal",
  },
  {
    name: "square",
    f: (x) => x * x,
    df: (x) => 2 * x,
    cheap: true,
    api: "derived",
    torch: "torch.square",
    domain: "normal",
  },
  {
    name: "reciprocal",
    f: (x) => 1 / x,
    df: (_x, y) => -y * y,
    cheap: true,
    api: "derived",
    torch: "torch.reciprocal",
    domain: "away5",
  },
  {
    name: "sign",
    f: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === x ? 0 : x),
    df: () => 0,
    cheap: true,
    api: "derived",
    torch: "torch.sign",
    domain: "away",
  },
  {
    name: "softplus",
    // PyTorch's default threshold: x above 20 is returned as is (log1p(e⁻²⁰) is below float32's ulp there).
    f: (x) => (x > 20 ? x : softplus(x)),
    df: (x) => (x > 20 ? 1 : sigmoid(x)),
    cheap: false,
    api: "derived",
    torch: "F.softplus",
    domain: "normal",
    f32Tol: [1e-6, 1e-30],
  },
  {
    name: "logsigmoid",
    // log σ(x) = −softplus(−x)
    f: (x) => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x))),
    df: (x) => sigmoid(-x),
    cheap: false,
    api: "derived",
    torch: "F.logsigmoid",
    domain: "normal",
    f32Tol: [1e-6, 1e-30],
  },
  {
    name: "mish",
    // x·tanh(softplus(x)); d/dx = t + x·σ(x)·(1 − t²) with t = tanh(softplus(x))
    f: (x) => x * Math.tanh(softplus(x)),
    df: (x) => {
      const t = Math.tanh(softplus(x));
      return t + x * sigmoid(x) * (1 - t * t);
    },
    cheap: false,
    api: "derived",
    torch: "F.mish",
    domain: "normal",
    f32Tol: [1e-6, 1e-30],
    f32GradTol: [1e-5, 1e-7],
  },
] as const satisfies readonly UnaryRow[];

/** One broadcast binary op. */
export interface BinaryRow {
  readonly name: string;
  /** The float result (float64 arithmetic, rounded by the output array). */
  f(a: number, b: number): number;
  /** The int32 result where it differs from f (a product must wrap like int32). */
  fi?: (a: number, b: number) => number;
}

export const BINARY_OPS = [
  { name: "add", f: (a, b) => a + b },
  { name: "sub", f: (a, b) => a - b },
  { name: "mul", f: (a, b) => a * b, fi: (a, b) => Math.imul(a, b) },
  { name: "div", f: (a, b) => a / b },
  { name: "pow", f: (a, b) => a ** b },
  { name: "maximum", f: (a, b) => (a !== a || b !== b ? Number.NaN : a > b ? a : b) },
  { name: "minimum", f: (a, b) => (a !== a || b !== b ? Number.NaN : a < b ? a : b) },
] as const satisfies readonly BinaryRow[];

/** One comparison, giving a bool (0/1) result. */
export interface CompareRow {
  readonly name: string;
  f(a: number, b: number): boolean;
}

export const COMPARE_OPS = [
  { name: "eq", f: (a, b) => a === b },
  { name: "ne", f: (a, b) => a !== b },
  { name: "lt", f: (a, b) => a < b },
  { name: "le", f: (a, b) => a <= b },
  { name: "gt", f: (a, b) => a > b },
  { name: "ge", f: (a, b) => a >= b },
] as const satisfies readonly CompareRow[];

/** One reduction over the middle axis of (outer, n, inner); the reference loops live in backends/cpu/reduce.ts. */
export interface ReduceRow {
  readonly name: string;
}

export const REDUCE_OPS = [
  { name: "sum" },
  { name: "max" },
  { name: "min" },
  { name: "prod" },
] as const satisfies readonly ReduceRow[];

export type UnaryOp = (typeof UNARY_OPS)[number]["name"];
/** Unary ops whose public function and Tensor method ops/ derives from the table. */
export type DerivedUnaryOp = Extract<(typeof UNARY_OPS)[number], { api: "derived" }>["name"];
export type BinaryOp = (typeof BINARY_OPS)[number]["name"];
export type CompareOp = (typeof COMPARE_OPS)[number]["name"];
export type ReduceOp = (typeof REDUCE_OPS)[number]["name"];

/** Every family, by the name the native header and the addon's op list use. */
export const OP_TABLES = {
  unary: UNARY_OPS,
  binary: BINARY_OPS,
  compare: COMPARE_OPS,
  reduce: REDUCE_OPS,
} as const;
export type OpFamily = keyof typeof OP_TABLES;

/**
 * Row lookup by name (the reference backend's dispatch). Built in one go with Object.fromEntries,
 * which keeps the object's fast properties (keyed stores of 20 names put it in dictionary mode, a
 * hash lookup on every kernel call).
 */
function index<N extends string, R extends { readonly name: string }>(rows: readonly R[]): Record<N, R> {
  return Object.fromEntries(rows.map((r) => [r.name, r])) as Record<N, R>;
}
export const unaryRow: Readonly<Record<UnaryOp, UnaryRow>> = index<UnaryOp, UnaryRow>(UNARY_OPS);
export const binaryRow: Readonly<Record<BinaryOp, BinaryRow>> = index<BinaryOp, BinaryRow>(BINARY_OPS);
export const compareRow: Readonly<Record<CompareOp, CompareRow>> = index<CompareOp, CompareRow>(COMPARE_OPS);

/** Each op's code: its position in its table (what the native header's enums hold). */
export function opCodes<F extends OpFamily>(
  family: F,
): Record<(typeof OP_TABLES)[F][number]["name"], number> {
  return Object.fromEntries(
    (OP_TABLES[family] as readonly { readonly name: string }[]).map((r, i) => [r.name, i]),
  ) as Record<(typeof OP_TABLES)[F][number]["name"], number>;
}
