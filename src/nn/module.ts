/**
 * nn.Module: a tree of parameters, buffers and submodules discovered from the instance's own
 * fields (in assignment order, as PyTorch registers them), so field names are state-dict names.
 */
import { withNoGrad } from "../autograd/graph.js";
import type { DType } from "../backend/backend.js";
import { to as castTo, copy_ } from "../ops/index.js";
import { Tensor } from "../tensor/tensor.js";
import { isDenseLayout, sameShape, shapeStr } from "../util/shape.js";

/**
 * A tensor that a Module owns and an optimizer updates (requiresGrad by default).
 * @example this.weight = new Parameter(zeros([out, inp]));
 */
export class Parameter extends Tensor {
  constructor(t: Tensor, requiresGrad = true) {
    // Contiguous or dense in another order (a transposed view of a checkpoint's (in, out) weight
    // over the file's own bytes): the storage is kept; anything else is copied row-major.
    const keep = t.isContiguous() || isDenseLayout(t.shape, t.strides);
    super(keep ? t.data : t.toArray(), t.shape, keep ? t.strides : undefined, keep ? t.offset : 0);
    this.requiresGrad_(requiresGrad);
  }
}

/**
 * Tensors by dotted name. Those `stateDict()` returns have no prototype, and `loadStateDict` reads
 * any dict by own properties only, so a tensor named `constructor` or `__proto__` is just a name.
 */
export type StateDict = Record<string, Tensor>;

/** An empty name-keyed record with no prototype: no inherited `constructor`, `toString`, `__proto__`. */
function nameRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** What {@link Module.loadStateDict} did not match: names the model has but the state dict lacked, and the reverse. */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * Base class of every layer and model, like torch.nn.Module. Parameters, buffers and submodules
 * are found from the instance's fields, so a subclass only assigns them and writes `forward`.
 * @example
 * class MLP extends Module {
 *   fc = new Linear(4, 2);
 *   forward(x: Tensor) { return this.fc.forward(x).relu(); }
 * }
 */
export abstract class Module {
  /** Train mode enables dropout; `eval()` turns it off. */
  training = true;
  private readonly bufferNames = new Map<string, boolean>();

  /** Stores a non-parameter tensor (e.g. a mask); persistent buffers are part of the state dict. */
  protected registerBuffer(name: string, value: Tensor | null, persistent = true): void {
    (this as unknown as Record<string, unknown>)[name] = value;
    this.bufferNames.set(name, persistent);
  }

  /** Direct submodules by field name. */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [k, v] of Object.entries(this)) if (v instanceof Module) out.push([k, v]);
    return out;
  }

  /** Direct submodules, as `children()`. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and all below it, with dotted names ("" for this one). */
  namedModules(prefix = ""): [string, Module][] {
    // Depth first with an explicit stack, in the same order as the recursion it replaces: no
    // call per level and no spread of a child's list into push() (a ModuleList of 50,000 blocks
    // would exceed the engine's argument limit).
    const out: [string, Module][] = [];
    const stack: [string, Module][] = [[prefix, this]];
    while (stack.length > 0) {
      const [name, m] = stack.pop() as [string, Module];
      out.push([name, m]);
      const kids = m.namedChildren();
      for (let i = kids.length - 1; i >= 0; i--) {
        const [k, c] = kids[i];
        stack.push([name ? `${name}.${k}` : k, c]);
      }
    }
    return out;
  }

  /** This module and every module below it, depth first. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Parameters held directly by this module. */
  private ownParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [k, v] of Object.entries(this)) if (v instanceof Parameter) out.push([k, v]);
    return out;
  }

  /**
   * Every parameter with its dotted name, each tensor once (a tied weight is listed under its
   * first name), as `named_parameters()`.
   */
  namedParameters(prefix = ""): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const [mName, m] of this.namedModules(prefix)) {
      for (const [k, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([mName ? `${mName}.${k}` : k, p]);
      }
    }
    return out;
  }

  /** Every parameter of this module and its submodules, each tensor once: what an optimizer takes. */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Buffers with dotted names (persistent ones only unless `all`). */
  namedBuffers(prefix = "", all = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [mName, m] of this.namedModules(prefix)) {
      for (const [k, persistent] of m.bufferNames) {
        const t = (m as unknown as Record<string, unknown>)[k];
        if (t instanceof Tensor && (all || persistent)) out.push([mName ? `${mName}.${k}` : k, t]);
      }
    }
    return out;
  }

  /** Number of parameters (tied weights counted once). */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    return this.parameters().reduce((n, p) => n + (opts.trainableOnly && !p.requiresGrad ? 0 : p.numel()), 0);
  }

  /**
   * Parameters and persistent buffers by dotted name. Tied weights appear under every name,
   * as in PyTorch. The tensors share storage with the module.
   */
  stateDict(): StateDict {
    const sd = nameRecord<Tensor>();
    for (const [mName, m] of this.namedModules()) {
      const refusal = m.stateDictRefusal();
      if (refusal !== null)
        throw new Error(`stateDict: ${mName || "the model"} is a ${m.constructor.name}: ${refusal}`);
      for (const [k, p] of m.ownParameters()) sd[mName ? `${mName}.${k}` : k] = p;
      for (const [k, persistent] of m.bufferNames) {
        const t = (m as unknown as Record<string, unknown>)[k];
        if (persistent && t instanceof Tensor) sd[mName ? `${mName}.${k}` : k] = t;
      }
    }
    return sd;
  }

  /**
   * Copies values from `sd` into this module's parameters and buffers. With `strict` (default)
   * missing or unexpected keys throw; shape mismatches always throw, naming the key.
   */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    // Own properties only: `k in sd` would find Object.prototype's `constructor` or `toString`.
    const missingKeys = Object.keys(own).filter((k) => !Object.hasOwn(sd, k));
    const unexpectedKeys = Object.keys(sd).filter((k) => !Object.hasOwn(own, k));
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts: string[] = [];
      if (missingKeys.length) parts.push(`missing keys: ${missingKeys.join(", ")}`);
      if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(", ")}`);
      throw new Error(`loadStateDict: ${parts.join("; ")}`);
    }
    const pairs: [Tensor, Tensor][] = [];
    for (const [k, target] of Object.entries(own)) {
      if (!Object.hasOwn(sd, k)) continue;
      const src: unknown = sd[k];
      if (!(src instanceof Tensor)) {
        throw new Error(`loadStateDict: ${JSON.stringify(k)} is not a tensor in the given state dict`);
      }
      if (!sameShape(src.shape, target.shape)) {
        throw new Error(
          `loadStateDict: size mismatch for ${k}: checkpoint has shape ${shapeStr(src.shape)}, model has ${shapeStr(target.shape)}`,
        );
      }
      pairs.push([target, src]);
    }
    withNoGrad(() => {
      for (const [target, src] of pairs) if (src !== target) copy_(target, src);
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Makes each tensor in `replacements` (a parameter or buffer of this module, by identity) be
   * its new tensor wherever a module holds it, so tied weights stay tied: PyTorch's
   * `load_state_dict(assign=True)`. A replaced parameter becomes a Parameter over the new tensor's
   * storage (no copy) with the same `requiresGrad`; shapes and dtypes must match. For loaders that
   * read weights into storage of their own; call it before an optimizer takes the parameters.
   * @example model.assignTensors(new Map([[model.wte.weight, tensor(weights, { shape })]]));
   */
  assignTensors(replacements: ReadonlyMap<Tensor, Tensor>): void {
    for (const [old, t] of replacements) {
      if (!sameShape(old.shape, t.shape) || old.dtype !== t.dtype)
        throw new Error(
          `assignTensors: a ${old.dtype} tensor of shape ${shapeStr(old.shape)} cannot become a ${t.dtype} one of shape ${shapeStr(t.shape)}`,
        );
    }
    const made = new Map<Tensor, Tensor>();
    for (const m of this.modules()) {
      const rec = m as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(m)) {
        if (!(v instanceof Tensor)) continue;
        const t = replacements.get(v);
        if (!t) continue;
        let nv = made.get(v);
        if (!nv) {
          nv = v instanceof Parameter ? new Parameter(t, v.requiresGrad) : t;
          made.set(v, nv);
        }
        rec[k] = nv;
      }
    }
  }

  /**
   * Why this module cannot be written into a state dict (e.g. its weights are stored quantized),
   * or null (the default): {@link stateDict} throws with that reason rather than leave keys out.
   */
  protected stateDictRefusal(): string | null {
    return null;
  }

  /** Sets train mode on this module and all below it. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Sets eval mode (dropout off). */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Calls fn on every module (children first, then this one), like `Module.apply`. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Converts all parameters and floating buffers to `dtype` (replacing them; ties are kept). */
  to(dtype: DType): this {
    const converted = new Map<Tensor, Tensor>();
    for (const m of this.modules()) {
      const rec = m as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(m)) {
        if (v instanceof Parameter) {
          let nv = converted.get(v);
          if (!nv) {
            nv = new Parameter(
              withNoGrad(() => castTo(v, dtype)),
              v.requiresGrad,
            );
            converted.set(v, nv);
          }
          rec[k] = nv;
        } else if (
          v instanceof Tensor &&
          m.bufferNames.has(k) &&
          (v.dtype === "float32" || v.dtype === "float64")
        ) {
          rec[k] = withNoGrad(() => castTo(v, dtype));
        }
      }
    }
    return this;
  }

  /** A one-line-per-module summary, like printing a PyTorch model. */
  toString(): string {
    const lines: string[] = [];
    for (const [name, m] of this.namedModules()) {
      const depth = name === "" ? 0 : name.split(".").length;
      const own = m
        .ownParameters()
        .map(([k, p]) => `${k}${shapeStr(p.shape)}`)
        .join(" ");
      lines.push(`${"  ".repeat(depth)}${name || "(root)"}: ${m.constructor.name}${own ? ` ${own}` : ""}`);
    }
    return lines.join("\n");
  }
}
