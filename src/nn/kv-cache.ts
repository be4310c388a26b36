/**
 * The one key/value cache for autoregressive decoding (GPT, nn.MultiheadAttention, the
 * nn.Transformer decoder). Each attention layer keeps the keys and values of every position it
 * has already seen, so producing token t needs only the new query against the t cached keys
 * (O(t) work) instead of re-running the whole prefix (O(t²)). Storage is preallocated per layer
 * as contiguous (B, nh, cap, hs) buffers written in place (grown by doubling), so a step never
 * recopies the cache as a `cat` would. Cross-attention adds a static memory K/V per layer,
 * projected once from the encoder output.
 */
import { isGradEnabled, withNoGrad } from "../autograd/graph.js";
import { cat, copy_, indexSelect, narrow } from "../ops/index.js";
import { zeros } from "../tensor/create.js";
import type { DType } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { shapeStr } from "../util/shape.js";

/**
 * The cached keys and values of one layer, each (B, nh, S, hs); null before the first step.
 * `memoryK`/`memoryV` are the cross-attention keys/values of a fixed memory (B, nh, S_mem, hs),
 * null unless an encoder-decoder stored them.
 * @example cache.layers[0].k?.shape // [B, nh, S, hs]
 */
export interface LayerKV {
  readonly k: Tensor | null;
  readonly v: Tensor | null;
  readonly memoryK: Tensor | null;
  readonly memoryV: Tensor | null;
}

/** Smallest capacity allocated, so short prompts do not regrow at every step. */
const MIN_CAPACITY = 32;

/** One layer's storage: (B, nh, cap, hs) buffers whose first `len` positions are filled. */
class LayerStore implements LayerKV {
  kStore: Tensor | null = null;
  vStore: Tensor | null = null;
  len = 0;
  memoryK: Tensor | null = null;
  memoryV: Tensor | null = null;

  get k(): Tensor | null {
    return this.kStore && this.len > 0 ? narrow(this.kStore, 2, 0, this.len) : null;
  }

  get v(): Tensor | null {
    return this.vStore && this.len > 0 ? narrow(this.vStore, 2, 0, this.len) : null;
  }

  /** True when the storage can take positions of this (B, nh, ·, hs) shape and dtype in place. */
  fits(shape: readonly number[], need: number, dtype: DType): boolean {
    const s = this.kStore;
    return (
      s !== null &&
      need <= s.shape[2] &&
      s.dtype === dtype &&
      s.shape[0] === shape[0] &&
      s.shape[1] === shape[1] &&
      s.shape[3] === shape[3] &&
      s.isContiguous()
    );
  }

  get capacity(): number {
    return this.kStore ? this.kStore.shape[2] : 0;
  }

  /** Makes room for `need` positions, keeping the filled prefix. */
  grow(shape: readonly number[], need: number, limit: number, dtype: DType): void {
    const [B, nh, , hs] = shape;
    const cap = Math.max(need, Math.min(limit, Math.max(2 * this.capacity, MIN_CAPACITY)));
    const k = zeros([B, nh, cap, hs], { dtype });
    const v = zeros([B, nh, cap, hs], { dtype });
    if (this.len > 0) {
      withNoGrad(() => {
        copy_(narrow(k, 2, 0, this.len), this.k!);
        copy_(narrow(v, 2, 0, this.len), this.v!);
      });
    }
    this.kStore = k;
    this.vStore = v;
  }

  /** Keeps batch rows `index` in that order: the filled prefix moves to new (B', nh, cap, hs) storage. */
  reorder(index: Tensor): void {
    const pick = (t: Tensor | null) => (t ? indexSelect(t, 0, index) : null);
    if (this.len > 0) {
      this.kStore = pick(this.kStore);
      this.vStore = pick(this.vStore);
    }
    this.memoryK = pick(this.memoryK);
    this.memoryV = pick(this.memoryV);
  }

  /** Forgets the positions and the memory but keeps the storage (unless it came from a recorded graph). */
  clear(): void {
    if (this.kStore?.requiresGrad || this.vStore?.requiresGrad) {
      this.kStore = null;
      this.vStore = null;
    }
    this.len = 0;
    this.memoryK = null;
    this.memoryV = null;
  }
}

/**
 * Construction options of {@link KVCache}.
 * @example new KVCache(model.config.nLayer, { maxLength: model.config.blockSize })
 */
export interface KVCacheOptions {
  /** Upper bound for the preallocated length (a hint; the cache still grows past it if fed more). */
  maxLength?: number;
}

/**
 * Per-layer key/value store used by `GPT.forward(idx, null, { cache })`,
 * `MultiheadAttention.forward(q, k, v, { cache, layer })` and `TransformerDecoder.forward(tgt,
 * memory, { cache })`. Pass the same cache to successive calls with only the new tokens;
 * positions continue from `cache.length`. Caches are meant for inference (use them under
 * `withNoGrad`); under grad mode the cached positions stay in the graph.
 * @example
 * const cache = new KVCache(model.config.nLayer);
 * let { logits } = model.forward(prompt, null, { cache }); // prefill: (B, T, V)
 * ({ logits } = model.forward(nextIds, null, { cache }));   // one new step: (B, 1, V)
 */
export class KVCache {
  readonly layers: readonly LayerKV[];
  private readonly stores: LayerStore[];
  private readonly maxLength: number;

  constructor(
    readonly numLayers: number,
    opts: KVCacheOptions = {},
  ) {
    if (!Number.isInteger(numLayers) || numLayers <= 0) {
      throw new Error(`KVCache: numLayers must be a positive integer, got ${numLayers}`);
    }
    this.stores = Array.from({ length: numLayers }, () => new LayerStore());
    this.layers = this.stores;
    this.maxLength = opts.maxLength ?? Number.POSITIVE_INFINITY;
  }

  /** Number of positions cached so far (the sequence length of layer 0). */
  get length(): number {
    return this.stores[0].len;
  }

  /** Batch size of the cached tensors, or null while empty. */
  get batchSize(): number | null {
    const k = this.stores[0].kStore;
    return k && this.stores[0].len > 0 ? k.shape[0] : null;
  }

  private store(layer: number, what: string): LayerStore {
    const slot = this.stores[layer];
    if (!slot) throw new Error(`KVCache.${what}: layer ${layer} out of range for ${this.numLayers} layers`);
    return slot;
  }

  /**
   * Appends the new keys/values k, v (B, nh, T, hs) of `layer` and returns the full
   * (B, nh, S + T, hs) tensors to attend over (views of the cache's storage).
   */
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const slot = this.store(layer, "update");
    if (k.ndim !== 4 || !v.hasShape(k.shape)) {
      throw new Error(
        `KVCache.update: keys and values must both be (B, nh, T, hs), got ${shapeStr(k.shape)} and ${shapeStr(v.shape)}`,
      );
    }
    const T = k.shape[2];
    if (isGradEnabled() && (k.requiresGrad || v.requiresGrad)) {
      // Recording a graph: keep it flowing through the cached positions, as a cat does.
      if (slot.len > 0) this.check(slot, k.shape, "update");
      const [pk, pv] = [slot.k, slot.v];
      slot.kStore = pk ? cat([pk, k], 2) : k;
      slot.vStore = pv ? cat([pv, v], 2) : v;
      slot.len += T;
      return [slot.kStore, slot.vStore];
    }
    const { k: kStore, v: vStore, past } = this.reserve(layer, k.shape, T, k.dtype);
    withNoGrad(() => {
      copy_(narrow(kStore, 2, past, T), k);
      copy_(narrow(vStore, 2, past, T), v);
    });
    slot.len += T;
    return [slot.k!, slot.v!];
  }

  /**
   * Storage for `T` more positions of `layer`: contiguous (B, nh, cap, hs) buffers with
   * cap ≥ past + T, and `past`, the positions already filled. Write rows past … past + T − 1,
   * then call {@link commit}. (For fused kernels that write the cache themselves.) New storage
   * holds at most `limit` positions unless more are needed now.
   * @example const { k, v, past } = cache.reserve(0, [B, nh, T, hs], T, "float32");
   */
  reserve(
    layer: number,
    shape: readonly number[],
    T: number,
    dtype: DType,
    limit = Number.POSITIVE_INFINITY,
  ): { k: Tensor; v: Tensor; past: number } {
    const slot = this.store(layer, "reserve");
    if (slot.len > 0) this.check(slot, shape, "update");
    const need = slot.len + T;
    if (!slot.fits(shape, need, dtype)) slot.grow(shape, need, Math.min(limit, this.maxLength), dtype);
    return { k: slot.kStore!, v: slot.vStore!, past: slot.len };
  }

  /** Marks `T` more positions of `layer` as filled (after writing them into {@link reserve}'s storage). */
  commit(layer: number, T: number): void {
    const slot = this.store(layer, "commit");
    if (slot.len + T > slot.capacity)
      throw new Error(`KVCache.commit: ${slot.len} + ${T} positions exceed the storage of ${slot.capacity}`);
    slot.len += T;
  }

  /** Checks that new keys of `shape` (B, nh, T, hs) can extend the cached ones. */
  private check(slot: LayerStore, shape: readonly number[], what: string): void {
    const prev = slot.kStore!.shape;
    if (shape.length !== 4 || shape[0] !== prev[0] || shape[1] !== prev[1] || shape[3] !== prev[3]) {
      throw new Error(
        `KVCache.${what}: new keys ${shapeStr(shape)} do not match the cached ${shapeStr(slot.k!.shape)} (batch, heads and head size must agree)`,
      );
    }
  }

  /**
   * The cross-attention keys/values of `layer`'s fixed memory, each (B, nh, S_mem, hs), or null
   * before {@link setMemory}.
   */
  memory(layer: number): [Tensor, Tensor] | null {
    const slot = this.store(layer, "memory");
    return slot.memoryK && slot.memoryV ? [slot.memoryK, slot.memoryV] : null;
  }

  /** Stores `layer`'s projected memory keys/values k, v (B, nh, S_mem, hs), computed once per source. */
  setMemory(layer: number, k: Tensor, v: Tensor): void {
    const slot = this.store(layer, "setMemory");
    if (k.ndim !== 4 || v.ndim !== 4 || k.shape[0] !== v.shape[0] || k.shape[2] !== v.shape[2]) {
      throw new Error(
        `KVCache.setMemory: keys and values must be (B, nh, S, hs) alike, got ${shapeStr(k.shape)} and ${shapeStr(v.shape)}`,
      );
    }
    slot.memoryK = k;
    slot.memoryV = v;
  }

  /**
   * Keeps batch rows `index` (int32, 1-D) of every layer in that order, e.g. the surviving beams
   * of a beam search (Hugging Face's `_reorder_cache`). The batch size may change.
   * @example cache.reorder(tensor(Int32Array.of(0, 0, 1))) // beams 0, 0, 1 continue
   */
  reorder(index: Tensor): void {
    if (index.ndim !== 1) throw new Error(`KVCache.reorder: index must be 1-D, got ${shapeStr(index.shape)}`);
    withNoGrad(() => {
      for (const slot of this.stores) slot.reorder(index);
    });
  }

  /** Forgets everything (e.g. before a new prompt, or when the context window slides). */
  reset(): void {
    for (const slot of this.stores) slot.clear();
  }
}
