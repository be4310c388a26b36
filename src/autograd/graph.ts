/**
 * Reverse-mode autograd: the graph node type, grad mode, and the backward sweep. It knows no
 * specific op: each op records a Node whose `backward` maps the output gradient to input
 * gradients, and the sweep is handed the one operation it needs (gradient accumulation).
 */
import type { AnyArray } from "../tensor/dtype.js";
import { assertLive, beginTracking, endTracking, release } from "../tensor/pool.js";
import type { Tensor } from "../tensor/tensor.js";
import { isDenseLayout, sameLayout, sameShape } from "../util/shape.js";

// The node type lives with Tensor (its `gradFn` slot), so the tensor layer never imports autograd.
export type { Node } from "../tensor/tensor.js";

let gradEnabled = true;

/** Whether ops currently record the graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording gradients, like `with torch.no_grad():`.
 * @example
 * const y = withNoGrad(() => model.forward(x));
 */
export function withNoGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Alias of `withNoGrad` matching `torch.no_grad`. */
export const noGrad = withNoGrad;

/** Runs `fn` with grad mode forced on or off. */
export function setGradEnabled<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when `out` of an op on `inputs` must be recorded. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t?.requiresGrad) return true;
  return false;
}

/**
 * Attaches a graph node to `out` when grad mode is on and any input requires gradients.
 * Returns `out` for chaining. `saved` lists buffers the op allocated for its backward alone
 * (never an input's storage), so that {@link tidy} can recycle them with the output.
 */
export function record(
  out: Tensor,
  name: string,
  inputs: (Tensor | null)[],
  backward: (gradOut: Tensor) => (Tensor | null)[],
  saved?: readonly (AnyArray | null)[],
  backwardInto?: (gradOut: Tensor, into: readonly (Tensor | null)[]) => (Tensor | null)[],
): Tensor {
  // Every op passes through here with its inputs: the one place to refuse a tensor whose storage
  // was recycled after it was made (kept from inside a tidy() without being returned).
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i];
    if (x) assertLive(name, x, `input ${i}`);
  }
  const scope = scopes[scopes.length - 1];
  if (scope) {
    // A view shares its input's storage: it is an activation only when that storage already is one
    // (a view of a parameter or of a cache made inside the scope must never be recycled).
    if (scope.allocated.has(out.data) && !scope.activations.has(out.data)) {
      if (!inputs.some((x) => x?.data === out.data)) scope.activations.add(out.data);
    }
    if (saved) for (const a of saved) if (a && scope.allocated.has(a)) scope.activations.add(a);
  }
  if (!needsGrad(...inputs)) return out;
  out.requiresGrad = true;
  out.gradFn = backwardInto ? { name, inputs, backward, backwardInto } : { name, inputs, backward };
  return out;
}

interface Scope {
  /** Arrays allocated since the scope opened (filled by the pool's tracker). */
  allocated: Set<AnyArray>;
  /** Those of them that hold a recorded op's output: only the graph can still reach them. */
  activations: Set<AnyArray>;
}
const scopes: Scope[] = [];

/**
 * Runs `fn` and then recycles the storage of every op output created inside it (activations, with
 * or without a graph), except the storage of what `fn` returns (a tensor, or tensors in an array or
 * a plain object). Use it around one training step (forward, `backward()`) or one evaluation batch.
 * Tensors made inside and kept elsewhere must be returned, or their values may be overwritten;
 * parameters, their `.grad`, optimizer state and tensors made outside are never touched.
 * When a returned tensor still carries an unused graph, nothing is recycled (its backward needs it).
 * @example
 * const loss = tidy(() => {
 *   const l = model.forward(x, y).loss!;
 *   l.backward();
 *   return l.item();
 * });
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { allocated: beginTracking(), activations: new Set() };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
    endTracking(scope.allocated);
  }
  const keep = new Set<AnyArray>();
  let liveGraph = false;
  const visit = (v: unknown, depth: number) => {
    if (v === null || typeof v !== "object" || depth > 3) return;
    if (isTensor(v)) {
      keep.add(v.data);
      if (v.gradFn?.backward) liveGraph = true;
      return;
    }
    if (Array.isArray(v)) for (const x of v) visit(x, depth + 1);
    else if (Object.getPrototypeOf(v) === Object.prototype)
      for (const x of Object.values(v)) visit(x, depth + 1);
  };
  visit(result, 0);
  const outer = scopes[scopes.length - 1];
  for (const a of scope.activations) {
    if (liveGraph || keep.has(a)) outer?.activations.add(a);
    else release(a);
  }
  return result;
}

function isTensor(v: object): v is Tensor {
  return "data" in v && "gradFn" in v && "shape" in v;
}

/** The tensor operations the backward sweep needs; ops/autograd.ts supplies them. */
export interface GradMath {
  /** a + b into fresh storage. */
  add(a: Tensor, b: Tensor): Tensor;
  /**
   * A copy of a in fresh storage: contiguous, or with `layout` (a dense tensor of a's shape) in
   * layout's storage order, strides and all.
   */
  clone(a: Tensor, layout?: Tensor): Tensor;
  /** a += b in place; a is dense and contiguous, b has a's shape and dtype (any strides). */
  addInPlace(a: Tensor, b: Tensor): void;
}

/**
 * Back-propagates `grad` (d loss / d root) through the graph and accumulates gradients into
 * the `.grad` of leaves that require them (and of tensors that called `retainGrad`). Unless
 * `retainGraph`, the graph's closures are released afterwards so activations can be freed.
 */
export function runBackward(root: Tensor, grad: Tensor, math: GradMath, retainGraph = false): void {
  // Topological order by depth-first search over gradFn inputs (iterative: graphs are deep).
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradFn?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child?.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  if (root.gradFn && root.gradFn.backward === null) {
    throw new Error(
      "backward: the graph was already freed; pass { retainGraph: true } to the first backward() to call it twice",
    );
  }

  // Every array allocated by the sweep is a gradient or a temporary that is dead once the sweep
  // ends, except the ones stored in a `.grad`: the rest goes back to the pool.
  const made = beginTracking();
  const stored = new Set<AnyArray>();
  try {
    sweep(order, root, grad, math, retainGraph, new Holders(made, stored));
  } catch (e) {
    endTracking(made);
    throw e;
  }
  endTracking(made);
  for (const a of made) if (!stored.has(a)) release(a);
}

/**
 * Who holds which gradient storage during a sweep, so that a buffer is written in place only when
 * the sweep owns it alone. A buffer is owned when the sweep allocated it (it is in `made`: never
 * an activation, a parameter, a saved tensor or the caller's seed), it is not stored in a `.grad`
 * (those belong to the user, and optimizers update them in place), and exactly one live gradient
 * tensor refers to it. Live gradients are the pending ones, the one being propagated, and the
 * ones a rule just returned, so a buffer a rule passes to two inputs (add), or returns as a view
 * (reshape, transpose, expand), or that a `.grad` took, counts twice and is never mutated.
 * Arrays the sweep did not allocate may be views into one it did (a subarray); they are counted
 * apart and any overlap with them also rules a buffer out.
 */
class Holders {
  private readonly count = new Map<AnyArray, number>();
  /** Held arrays that the sweep did not allocate, with their hold counts. */
  private readonly foreign = new Map<AnyArray, number>();

  constructor(
    private readonly made: ReadonlySet<AnyArray>,
    readonly stored: Set<AnyArray>,
  ) {}

  hold(t: Tensor): void {
    const m = this.made.has(t.data) ? this.count : this.foreign;
    m.set(t.data, (m.get(t.data) ?? 0) + 1);
  }

  drop(t: Tensor): void {
    const m = this.made.has(t.data) ? this.count : this.foreign;
    const n = (m.get(t.data) ?? 0) - 1;
    if (n > 0) m.set(t.data, n);
    else m.delete(t.data);
  }

  /**
   * True when `t` (held once, by its single holder) may be written in place or kept as a `.grad`:
   * contiguous, or (with `layout`) dense with `layout`'s strides, covering all of its storage.
   */
  exclusive(t: Tensor, layout?: Tensor): boolean {
    const a = t.data;
    if (!this.made.has(a) || this.stored.has(a) || this.count.get(a) !== 1) return false;
    const laidOut =
      t.isContiguous() ||
      (layout !== undefined &&
        isDenseLayout(t.shape, t.strides) &&
        sameLayout(t.shape, t.strides, layout.strides));
    if (t.offset !== 0 || t.numel() !== a.length || !laidOut) return false;
    for (const b of this.foreign.keys()) {
      if (
        b.buffer === a.buffer &&
        b.byteOffset < a.byteOffset + a.byteLength &&
        a.byteOffset < b.byteOffset + b.byteLength
      )
        return false;
    }
    return true;
  }

  /** {@link exclusive}, and of `like`'s dtype and shape: `t` may stand in for `like`'s gradient. */
  writableAs(t: Tensor, like: Tensor): boolean {
    return this.exclusive(t) && t.dtype === like.dtype && sameShape(t.shape, like.shape);
  }

  /**
   * {@link writableAs}, also accepting a gradient laid out like the parameter itself (a transposed
   * view's gradient, see ops/matmul.ts weightGrad), which the optimizers use without a copy.
   */
  keepableAsGradOf(t: Tensor, param: Tensor): boolean {
    return this.exclusive(t, param) && t.dtype === param.dtype && sameShape(t.shape, param.shape);
  }
}

function sweep(
  order: Tensor[],
  root: Tensor,
  grad: Tensor,
  math: GradMath,
  retainGraph: boolean,
  holders: Holders,
): void {
  const grads = new Map<Tensor, Tensor>();
  grads.set(root, grad);
  holders.hold(grad);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const g = grads.get(t);
    if (!g) continue;
    grads.delete(t);
    // `g` stays held until its rule has run and the results are placed: they may alias it.
    const node = t.gradFn;
    if ((node === null || t.retainsGrad) && t.requiresGrad) {
      // Optimizers and clipping update .grad in place, so it needs storage of its own: the
      // gradient itself when the sweep owns it alone, else a copy. An existing .grad is not
      // written (the caller may hold it): the sum goes to fresh storage.
      // A parameter that is a dense view in another order (a transposed Conv1D weight) gets
      // its gradient in that same order, which the optimizers then use as is.
      const layout = t.isContiguous() ? undefined : t;
      if (t.grad) {
        const s = math.add(t.grad, g);
        t.grad = layout && !sameLayout(s.shape, s.strides, layout.strides) ? math.clone(s, layout) : s;
      } else {
        t.grad = holders.keepableAsGradOf(g, t) ? g : math.clone(g, layout);
      }
      holders.stored.add(t.grad.data);
    }
    if (node === null) {
      holders.drop(g);
      continue;
    }
    if (node.backward === null)
      throw new Error(`backward: the graph through ${node.name} was already freed; use retainGraph`);
    const inputs = node.inputs;
    let into: (Tensor | null)[] | null = null;
    if (node.backwardInto) {
      into = inputs.map((x, j) => {
        const prev = x ? grads.get(x) : undefined;
        if (!x || !prev || inputs.indexOf(x) !== j || inputs.lastIndexOf(x) !== j) return null;
        return holders.writableAs(prev, x) ? prev : null;
      });
    }
    const inGrads = into && node.backwardInto ? node.backwardInto(g, into) : node.backward(g);
    const used = (j: number) => {
      const x = inputs[j];
      return x?.requiresGrad && inGrads[j] ? x : null;
    };
    for (let j = 0; j < inputs.length; j++) {
      const gx = inGrads[j];
      if (gx && used(j) && gx !== into?.[j]) holders.hold(gx);
    }
    for (let j = 0; j < inputs.length; j++) {
      const x = used(j);
      const gx = inGrads[j];
      if (!x || !gx) continue;
      if (into && gx === into[j]) continue; // the rule added into the pending gradient
      const prev = grads.get(x);
      if (!prev) {
        grads.set(x, gx); // the hold taken above passes to the pending entry
      } else if (gx.data !== prev.data && holders.writableAs(prev, gx)) {
        math.addInPlace(prev, gx);
        holders.drop(gx);
      } else {
        const s = math.add(prev, gx);
        holders.drop(prev);
        holders.drop(gx);
        holders.hold(s);
        grads.set(x, s);
      }
    }
    holders.drop(g);
    if (!retainGraph) {
      node.backward = null;
      if (node.backwardInto) node.backwardInto = null;
      node.inputs = [];
    }
  }
}
