/**
 * The optimizer base class, as torch.optim.Optimizer: parameter groups that carry their own
 * options, per-parameter state, zeroGrad, and a state dict that round-trips exactly.
 *
 * Updates run directly on the parameters' flat storage (no autograd), so parameters must be
 * contiguous floating-point leaf tensors.
 */
import { setGradEnabled, withNoGrad } from "../autograd/graph.js";
import type { FloatArray } from "../backend/backend.js";
import { copy_, zero_ } from "../ops/index.js";
import { allocate } from "../tensor/dtype.js";
import { Tensor } from "../tensor/tensor.js";
import { isDenseLayout, sameLayout, sameShape, shapeStr } from "../util/shape.js";

/** Options every optimizer has. */
export interface OptimizerOptions {
  lr: number;
}

/**
 * One parameter group: its parameters and its options. `initialLr` is set by an lr scheduler
 * (PyTorch's `initial_lr`); other extra keys a caller adds are kept and saved too.
 */
export type ParamGroup<O extends OptimizerOptions = OptimizerOptions> = O & {
  params: Tensor[];
  initialLr?: number;
  [key: string]: unknown;
};

/** A group as passed in: its parameters and any options that differ from the defaults. */
export type ParamGroupInput<O extends OptimizerOptions = OptimizerOptions> = Partial<O> & {
  params: Iterable<Tensor>;
  [key: string]: unknown;
};

/** A plain list of parameters (one group) or a list of groups. */
export type ParamsInput<O extends OptimizerOptions = OptimizerOptions> =
  | Iterable<Tensor>
  | Iterable<ParamGroupInput<O>>;

/** A value in a parameter's optimizer state: a tensor (moments, buffers) or a number (step count). */
export type StateValue = Tensor | number;

/** An optimizer's state for one parameter, by name (exp_avg, step, momentum_buffer, ...). */
export type ParamState = Record<string, StateValue>;

/**
 * `state` maps a parameter's index (counted across groups, in order) to its state; each group
 * lists its parameters by index. Everything but the state tensors is plain JSON.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: ({ params: number[] } & Record<string, unknown>)[];
}

/** A fresh contiguous copy of `t` as `dtype` (same shape). */
export function cloneAs(t: Tensor, dtype: "float32" | "float64" = t.dtype as "float32" | "float64"): Tensor {
  const src = t.toArray();
  if (t.dtype === dtype) return new Tensor(src, t.shape);
  const out = allocate(dtype, src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i];
  return new Tensor(out, t.shape);
}

/** Deep copy of a JSON-like value (numbers, strings, booleans, null, arrays, plain objects). */
function copyJson<T>(v: T): T {
  if (Array.isArray(v)) return v.map(copyJson) as T;
  if (v !== null && typeof v === "object" && !(v instanceof Tensor)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = copyJson(x);
    return out as T;
  }
  return v;
}

const identity = (x: number): number => x;

/**
 * Rounds a double to the buffer's precision: Math.fround for float32, identity for float64. The
 * optimizers use it where PyTorch materialises an intermediate tensor or casts a scalar to the
 * tensor's dtype, so float32 updates follow torch's roundings instead of keeping doubles.
 */
export function roundingFor(buf: FloatArray): (x: number) => number {
  return buf instanceof Float32Array ? Math.fround : identity;
}

/**
 * The parameter's storage as a dense view, writable in place: its elements in storage order,
 * which is row-major for a contiguous parameter and another order for a dense but permuted one
 * (a transposed view of a checkpoint's weight). The optimizer's updates are elementwise, so they
 * only need the gradient and the state in that same order ({@link gradData}, {@link stateLike}).
 */
export function paramData(p: Tensor): FloatArray {
  return p.data.subarray(p.offset, p.offset + p.numel()) as FloatArray;
}

/** `t`'s values copied into a fresh tensor of `p`'s dtype, shape and storage order. */
function inLayoutOf(p: Tensor, t: Tensor): Tensor {
  const dtype = p.dtype as "float32" | "float64";
  if (p.isContiguous()) return cloneAs(t, dtype);
  const out = new Tensor(allocate(dtype, p.numel()), p.shape, p.strides, 0);
  withNoGrad(() => copy_(out, t.dtype === dtype ? t : cloneAs(t, dtype)));
  return out;
}

/**
 * Zeros (or `from`'s values) in a fresh tensor laid out like `p` (same dtype, shape and storage
 * order), so that its {@link paramData} lines up element for element with `p`'s: what the
 * optimizers keep as per-parameter state.
 * @example state.expAvg = stateLike(p);
 */
export function stateLike(p: Tensor, from?: Tensor): Tensor {
  if (from) return inLayoutOf(p, from);
  const dtype = p.dtype as "float32" | "float64";
  return new Tensor(allocate(dtype, p.numel()), p.shape, p.isContiguous() ? undefined : p.strides, 0);
}

/**
 * The gradient of `p` as a dense buffer of p's dtype in p's storage order (see {@link paramData}).
 * A gradient of the right dtype and the same layout is returned as a view (writes go to
 * `p.grad`); otherwise a converted copy.
 */
export function gradData(p: Tensor): FloatArray {
  const g = p.grad!;
  if (!sameShape(g.shape, p.shape)) {
    throw new Error(
      `optimizer: gradient of shape ${shapeStr(g.shape)} does not match its parameter of shape ${shapeStr(p.shape)}`,
    );
  }
  const sameOrder = p.isContiguous() ? g.isContiguous() : sameLayout(p.shape, g.strides, p.strides);
  if (g.dtype === p.dtype && sameOrder) return g.data.subarray(g.offset, g.offset + g.numel()) as FloatArray;
  return inLayoutOf(p, g).data as FloatArray;
}

function isTensorIterable(x: unknown[]): x is Tensor[] {
  return x.length === 0 || x[0] instanceof Tensor;
}

/**
 * Base class of the optimizers. Subclasses set their defaults and implement `update`, which
 * applies one step to one group.
 * @example
 * const opt = new AdamW([{ params: decay, weightDecay: 0.1 }, { params: noDecay, weightDecay: 0 }], { lr: 6e-4 });
 * loss.backward();
 * opt.step();
 * opt.zeroGrad();
 */
export abstract class Optimizer<O extends OptimizerOptions = OptimizerOptions> {
  readonly defaults: O;
  paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, created lazily on a parameter's first update. */
  state = new Map<Tensor, ParamState>();

  constructor(params: ParamsInput<O>, defaults: O) {
    this.defaults = { ...defaults };
    this.checkOptions(this.defaults, "defaults");
    if (
      params instanceof Tensor ||
      params === null ||
      typeof params !== "object" ||
      !(Symbol.iterator in params)
    ) {
      throw new Error(
        `${this.constructor.name}: params must be an iterable of tensors or of parameter groups`,
      );
    }
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    if (isTensorIterable(list)) this.addParamGroup({ params: list } as unknown as ParamGroupInput<O>);
    else for (const g of list as ParamGroupInput<O>[]) this.addParamGroup(g);
  }

  /** Validates an optimizer's options (each subclass checks its own ranges). */
  protected checkOptions(o: O, where: string): void {
    if (!(o.lr >= 0)) throw new Error(`${this.constructor.name}: invalid learning rate ${o.lr} in ${where}`);
  }

  /** Adds a group; options it leaves out come from the defaults. A parameter may be in one group only. */
  addParamGroup(group: ParamGroupInput<O>): void {
    const name = this.constructor.name;
    if (group instanceof Tensor || group === null || typeof group !== "object" || !("params" in group)) {
      throw new Error(`${name}.addParamGroup: a group must be an object with a params list`);
    }
    // As in PyTorch, a group may name a single tensor.
    const params = group.params instanceof Tensor ? [group.params] : [...group.params];
    const seen = new Set<Tensor>();
    for (const p of params) {
      if (!(p instanceof Tensor)) throw new Error(`${name}: can only optimize tensors, got ${typeof p}`);
      if (!p.isLeaf) throw new Error(`${name}: can't optimize a non-leaf tensor`);
      if (p.dtype !== "float32" && p.dtype !== "float64")
        throw new Error(`${name}: can only optimize float32/float64 tensors, got ${p.dtype}`);
      if (!p.isContiguous() && !isDenseLayout(p.shape, p.strides))
        throw new Error(
          `${name}: parameters must be contiguous (or dense in another order), got strides ${shapeStr(p.strides)} for shape ${shapeStr(p.shape)}`,
        );
      if (seen.has(p)) throw new Error(`${name}: a parameter appears twice in one group`);
      seen.add(p);
    }
    for (const g of this.paramGroups) {
      for (const p of g.params)
        if (seen.has(p)) throw new Error(`${name}: some parameters appear in more than one parameter group`);
    }
    const full = { ...copyJson(this.defaults) } as Record<string, unknown>;
    for (const [k, v] of Object.entries(group)) if (k !== "params") full[k] = copyJson(v);
    full.params = params;
    this.checkOptions(full as unknown as O, `parameter group ${this.paramGroups.length}`);
    this.paramGroups.push(full as ParamGroup<O>);
  }

  /**
   * Clears gradients: sets them to null (default), or zeroes them in place with `setToNone: false`.
   */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        if (setToNone) p.grad = null;
        else {
          const g = p.grad;
          withNoGrad(() => zero_(g));
        }
      }
    }
  }

  /**
   * One optimization step over every parameter that has a gradient. The optional closure
   * re-evaluates the model and returns the loss (it runs with grad mode on).
   */
  step<T = unknown>(closure?: () => T): T | undefined {
    const loss = closure ? setGradEnabled(true, closure) : undefined;
    for (const group of this.paramGroups) this.update(group);
    return loss;
  }

  /** Applies one update to the parameters of `group` that have gradients. */
  protected abstract update(group: ParamGroup<O>): void;

  /** The state of `p`, created empty on first use. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /**
   * Options and state as torch's `state_dict()`: groups with parameter indices, and the state of
   * each parameter by index. State tensors are copies, so the dict is a snapshot.
   */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    const paramGroups: OptimizerStateDict["paramGroups"] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const packed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== "params") packed[k] = copyJson(v);
      const ids: number[] = [];
      for (const p of g.params) {
        const s = this.state.get(p);
        if (s) {
          const out: ParamState = {};
          for (const [k, v] of Object.entries(s)) out[k] = v instanceof Tensor ? cloneAs(v) : v;
          state[index] = out;
        }
        ids.push(index++);
      }
      paramGroups.push({ ...packed, params: ids });
    }
    return { state, paramGroups };
  }

  /**
   * Restores options and state saved by `stateDict()` into an optimizer over the same parameter
   * layout (same number of groups and group sizes). State tensors are copied and cast to each
   * parameter's dtype, so a restored optimizer continues bit-identically.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = `${this.constructor.name}.loadStateDict`;
    if (
      !sd ||
      typeof sd !== "object" ||
      !Array.isArray(sd.paramGroups) ||
      typeof sd.state !== "object" ||
      sd.state === null
    ) {
      throw new Error(`${name}: expected { state, paramGroups }`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(
        `${name}: loaded state dict has ${sd.paramGroups.length} parameter groups, optimizer has ${this.paramGroups.length}`,
      );
    }
    const byIndex = new Map<number, Tensor>();
    sd.paramGroups.forEach((saved, gi) => {
      const own = this.paramGroups[gi];
      if (!Array.isArray(saved.params) || saved.params.length !== own.params.length) {
        throw new Error(
          `${name}: parameter group ${gi} has ${saved.params?.length} parameters in the state dict, ${own.params.length} in the optimizer`,
        );
      }
      saved.params.forEach((id, j) => {
        byIndex.set(id, own.params[j]);
      });
    });
    const newState = new Map<Tensor, ParamState>();
    for (const [key, saved] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (!p) throw new Error(`${name}: state for parameter ${key}, which no group lists`);
      const s: ParamState = {};
      for (const [k, v] of Object.entries(saved)) {
        if (v instanceof Tensor) {
          if (!sameShape(v.shape, p.shape)) {
            throw new Error(
              `${name}: state[${key}].${k} has shape ${shapeStr(v.shape)}, but parameter ${key} has shape ${shapeStr(p.shape)}`,
            );
          }
          s[k] = stateLike(p, v);
        } else s[k] = v;
      }
      newState.set(p, s);
    }
    this.paramGroups = sd.paramGroups.map((saved, gi) => {
      const g: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(saved)) if (k !== "params") g[k] = copyJson(v);
      g.params = this.paramGroups[gi].params;
      return g as ParamGroup<O>;
    });
    this.state = newState;
  }
}
