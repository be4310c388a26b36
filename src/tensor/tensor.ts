/**
 * The Tensor: a dtype, a shape, and a strided view onto a flat typed array. This file holds
 * storage and element access only; every computation lives in ops/, and the math methods
 * (`a.add(b)`, `loss.backward()`) are attached there.
 */
import { contiguousStrides, sameShape, shapeStr, sizeOf } from "../util/shape.js";
import type { AnyArray, DType } from "./dtype.js";
import { dtypeOf } from "./dtype.js";
import { assertLive, generationOf, isShapeOnlyStorage } from "./pool.js";

/**
 * One recorded op, as autograd (../autograd/graph.ts) builds it: its inputs and the rule mapping
 * d(out) to d(inputs). Declared here because every tensor carries one in `gradFn`.
 */
export interface Node {
  readonly name: string;
  inputs: (Tensor | null)[];
  /** Returns one gradient per input (null where an input needs none). */
  backward: ((gradOut: Tensor) => (Tensor | null)[]) | null;
  /**
   * Optional form of `backward` for rules that can add a gradient straight into one the sweep
   * already holds for an input (an embedding scattering into its tied weight's gradient, say).
   * `into[j]` is null or a dense, contiguous gradient of input j's shape and dtype that nothing
   * else references; the rule may add input j's gradient into it in place and then returns
   * `into[j]` itself at index j. Entries it does not use are returned as `backward` would.
   */
  backwardInto?: ((gradOut: Tensor, into: readonly (Tensor | null)[]) => (Tensor | null)[]) | null;
}

/** Nested JS arrays, as returned by `tolist()`. */
export type NestedArray = number | boolean | NestedArray[];

/**
 * An n-dimensional array of one dtype, like torch.Tensor: a shape and strides over flat typed-array
 * storage that views share. Create one with {@link tensor}, {@link zeros}, {@link randn} and friends;
 * the math methods (`a.matmul(b)`, `loss.backward()`) record the autograd graph.
 * @example
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * x.mul(x).sum().backward(); // x.grad = 2·x
 */
export class Tensor {
  /** Flat storage shared by all views of the same data. */
  readonly data: AnyArray;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  /** Index of element (0, …, 0) in `data`. */
  readonly offset: number;
  /** Leaf tensors with this flag collect gradients in `.grad`. */
  requiresGrad = false;
  /** Accumulated gradient, set by `backward()`. */
  grad: Tensor | null = null;
  /** The graph node that produced this tensor, or null for a leaf. */
  gradFn: Node | null = null;
  /** Keep `.grad` for a non-leaf tensor too (see `retainGrad`). */
  retainsGrad = false;
  /**
   * The pool generation `data` had when this tensor was made; ops refuse the tensor once the
   * storage has been recycled under it (see `RecycledTensorError` in tensor/pool.ts).
   */
  readonly generation: number;

  constructor(data: AnyArray, shape: readonly number[], strides?: readonly number[], offset = 0) {
    this.data = data;
    this.dtype = dtypeOf(data);
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.generation = generationOf(data);
    if (!strides && offset === 0 && sizeOf(shape) !== data.length && !isShapeOnlyStorage()) {
      throw new Error(`Tensor: ${data.length} elements cannot have shape ${shapeStr(shape)}`);
    }
  }

  /** True for tensors not produced by a recorded op. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  numel(): number {
    return sizeOf(this.shape);
  }

  /** Number of dimensions (the same as `ndim`). */
  dim(): number {
    return this.shape.length;
  }

  /** The shape, or one size when `dim` is given (negative dims count from the end). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    if (dim === undefined) return [...this.shape];
    const d = dim < 0 ? dim + this.ndim : dim;
    if (d < 0 || d >= this.ndim)
      throw new Error(`size: dim ${dim} out of range for shape ${shapeStr(this.shape)}`);
    return this.shape[d];
  }

  /** True when elements are laid out row-major without gaps from `offset`. */
  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== expected) return false;
      expected *= this.shape[i];
    }
    return true;
  }

  /** Storage index of every element in row-major order. */
  private *indices(): Generator<number> {
    const n = this.numel();
    if (n === 0) return;
    const nd = this.ndim;
    const idx = new Array<number>(nd).fill(0);
    let pos = this.offset;
    for (let i = 0; i < n; i++) {
      yield pos;
      for (let d = nd - 1; d >= 0; d--) {
        idx[d]++;
        pos += this.strides[d];
        if (idx[d] < this.shape[d]) break;
        pos -= idx[d] * this.strides[d];
        idx[d] = 0;
      }
    }
  }

  /** The value of a one-element tensor. */
  item(): number {
    assertLive("item", this);
    if (this.numel() !== 1)
      throw new Error(
        `item: only one-element tensors can be converted to a number, got shape ${shapeStr(this.shape)}`,
      );
    return this.data[this.offset];
  }

  /** A fresh flat typed array of the elements in row-major order. */
  toArray(): AnyArray {
    assertLive("toArray", this);
    const n = this.numel();
    if (this.isContiguous()) return this.data.slice(this.offset, this.offset + n);
    const out = new (this.data.constructor as new (n: number) => AnyArray)(n);
    let i = 0;
    for (const p of this.indices()) out[i++] = this.data[p];
    return out;
  }

  /** Nested JS arrays (numbers, or booleans for bool tensors), like `torch.Tensor.tolist()`. */
  tolist(): NestedArray {
    const flat = this.toArray();
    const asBool = this.dtype === "bool";
    const build = (dim: number, start: number): [NestedArray, number] => {
      if (dim === this.ndim) return [asBool ? flat[start] !== 0 : flat[start], start + 1];
      const arr: NestedArray[] = [];
      let pos = start;
      for (let i = 0; i < this.shape[dim]; i++) {
        const [v, next] = build(dim + 1, pos);
        arr.push(v);
        pos = next;
      }
      return [arr, pos];
    };
    return build(0, 0)[0];
  }

  /** Marks this tensor as needing gradients (only for leaves of floating dtype). */
  requiresGrad_(flag = true): this {
    if (flag && !(this.dtype === "float32" || this.dtype === "float64")) {
      throw new Error(
        `requiresGrad: only floating-point tensors can require gradients, got ${this.dtype} of shape ${shapeStr(this.shape)}`,
      );
    }
    if (!this.isLeaf && !flag)
      throw new Error("requiresGrad_: cannot turn off gradients of a non-leaf tensor; use detach()");
    this.requiresGrad = flag;
    return this;
  }

  /** Asks backward() to keep this non-leaf tensor's gradient in `.grad`. */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /** Shape check helper used throughout ops. */
  hasShape(shape: readonly number[]): boolean {
    return sameShape(this.shape, shape);
  }

  /** A short description: the values (up to 64 elements), shape, dtype and requiresGrad. */
  toString(): string {
    const body = this.numel() <= 64 ? JSON.stringify(this.tolist()) : `<${this.numel()} elements>`;
    return `tensor(${body}, shape=${shapeStr(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ", requiresGrad=true" : ""})`;
  }
}
