/** Containers: ModuleList (indexed children) and Sequential (children applied in order). */
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

/** Any module with a one-tensor forward. */
export interface UnaryModule extends Module {
  /** Maps one tensor to one tensor. */
  forward(x: Tensor): Tensor;
}

/**
 * Holds submodules under the names "0", "1", …, like torch.nn.ModuleList.
 * @example const blocks = new ModuleList([new Block(), new Block()]);
 */
export class ModuleList<M extends Module = Module> extends Module {
  private count = 0;

  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds `m` at the end, under the next index as its name; returns this list. */
  append(m: M): this {
    (this as unknown as Record<string, Module>)[String(this.count++)] = m;
    return this;
  }

  get length(): number {
    return this.count;
  }

  /** The module at index `i` (negative counts from the end); throws when out of range. */
  at(i: number): M {
    const j = i < 0 ? i + this.count : i;
    if (j < 0 || j >= this.count)
      throw new Error(`ModuleList: index ${i} out of range for length ${this.count}`);
    return (this as unknown as Record<string, M>)[String(j)];
  }

  /** The modules in index order, so `for (const m of list)` works. */
  *[Symbol.iterator](): Iterator<M> {
    for (let i = 0; i < this.count; i++) yield this.at(i);
  }
}

/**
 * Applies its children in order.
 * @example const mlp = new Sequential(new Linear(2, 16), new ReLU(), new Linear(16, 2));
 */
export class Sequential extends ModuleList<UnaryModule> {
  constructor(...modules: UnaryModule[]) {
    super(modules);
  }

  /** Feeds `x` through every child in order and returns the last output. */
  forward(x: Tensor): Tensor {
    for (const m of this) x = m.forward(x);
    return x;
  }
}
