/**
 * Reverse-mode autograd: the graph node type, grad mode, and the backward sweep. It knows no
 * specific op: each op records a Node whose `backward` maps the output gradient to input
 * gradients, and the sweep is handed the one operation it needs (gradient accumulation).
 */
import type { Tensor } from "../tensor/tensor.js";

/** One recorded op: its inputs and the rule mapping d(out) to d(inputs). */
export interface Node {
  readonly name: string;
  inputs: (Tensor | null)[];
  /** Returns one gradient per input (null where an input needs none). */
  backward: ((gradOut: Tensor) => (Tensor | null)[]) | null;
}

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
 * Returns `out` for chaining.
 */
export function record(
  out: Tensor,
  name: string,
  inputs: (Tensor | null)[],
  backward: (gradOut: Tensor) => (Tensor | null)[],
): Tensor {
  if (!needsGrad(...inputs)) return out;
  out.requiresGrad = true;
  out.gradFn = { name, inputs, backward };
  return out;
}

/**
 * Back-propagates `grad` (d loss / d root) through the graph and accumulates gradients into
 * the `.grad` of leaves that require them (and of tensors that called `retainGrad`). Unless
 * `retainGraph`, the graph's closures are released afterwards so activations can be freed.
 */
export function runBackward(
  root: Tensor,
  grad: Tensor,
  math: { add: (a: Tensor, b: Tensor) => Tensor; clone: (a: Tensor) => Tensor },
  retainGraph = false,
): void {
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

  const grads = new Map<Tensor, Tensor>();
  grads.set(root, grad);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const g = grads.get(t);
    if (!g) continue;
    grads.delete(t);
    const node = t.gradFn;
    if (node === null || t.retainsGrad) {
      // A fresh buffer per .grad: the same gradient tensor may flow to several inputs, and
      // optimizers and clipping update .grad in place.
      if (t.requiresGrad) t.grad = t.grad ? math.add(t.grad, g) : math.clone(g);
    }
    if (node === null) continue;
    if (node.backward === null)
      throw new Error(`backward: the graph through ${node.name} was already freed; use retainGraph`);
    const inGrads = node.backward(g);
    for (let j = 0; j < node.inputs.length; j++) {
      const x = node.inputs[j];
      const gx = inGrads[j];
      if (!x || !gx || !x.requiresGrad) continue;
      const prev = grads.get(x);
      grads.set(x, prev ? math.add(prev, gx) : gx);
    }
    if (!retainGraph) {
      node.backward = null;
      node.inputs = [];
    }
  }
}
