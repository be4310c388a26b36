/**
 * Key/value cache for autoregressive decoding. Each attention layer keeps the keys and values
 * of every position it has already seen, so producing token t needs only the new query against
 * the t cached keys (O(t) work) instead of re-running the whole prefix (O(t²)).
 */
import { cat } from "../ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import { shapeStr } from "../util/shape.js";

/**
 * The cached keys and values of one layer, each (B, nh, S, hs); null before the first step.
 * @example cache.layers[0].k?.shape // [B, nh, S, hs]
 */
export interface LayerKV {
  k: Tensor | null;
  v: Tensor | null;
}

/**
 * Per-layer key/value store used by `GPT.forward(idx, null, { cache })`. Pass the same cache to
 * successive calls with only the new tokens; positions continue from `cache.length`.
 * Caches are meant for inference (use them under `withNoGrad`).
 * @example
 * const cache = new KVCache(model.config.nLayer);
 * let { logits } = model.forward(prompt, null, { cache }); // prefill: (B, T, V)
 * ({ logits } = model.forward(nextIds, null, { cache }));   // one new step: (B, 1, V)
 */
export class KVCache {
  readonly layers: LayerKV[];

  constructor(readonly numLayers: number) {
    if (!Number.isInteger(numLayers) || numLayers <= 0) {
      throw new Error(`KVCache: numLayers must be a positive integer, got ${numLayers}`);
    }
    this.layers = Array.from({ length: numLayers }, () => ({ k: null, v: null }));
  }

  /** Number of positions cached so far (the sequence length of layer 0). */
  get length(): number {
    const k = this.layers[0].k;
    return k ? k.shape[k.ndim - 2] : 0;
  }

  /** Batch size of the cached tensors, or null while empty. */
  get batchSize(): number | null {
    const k = this.layers[0].k;
    return k ? k.shape[0] : null;
  }

  /**
   * Appends the new keys/values k, v (B, nh, T, hs) of `layer` and returns the full
   * (B, nh, S + T, hs) tensors to attend over.
   */
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const slot = this.layers[layer];
    if (!slot) throw new Error(`KVCache.update: layer ${layer} out of range for ${this.numLayers} layers`);
    if (slot.k && slot.v) {
      const prev = slot.k.shape;
      if (k.ndim !== 4 || k.shape[0] !== prev[0] || k.shape[1] !== prev[1] || k.shape[3] !== prev[3]) {
        throw new Error(
          `KVCache.update: new keys ${shapeStr(k.shape)} do not match the cached ${shapeStr(prev)} (batch, heads and head size must agree)`,
        );
      }
      slot.k = cat([slot.k, k], 2); // (B, nh, S + T, hs)
      slot.v = cat([slot.v, v], 2);
    } else {
      slot.k = k;
      slot.v = v;
    }
    return [slot.k, slot.v];
  }

  /** Forgets everything (e.g. before a new prompt, or when the context window slides). */
  reset(): void {
    for (const slot of this.layers) {
      slot.k = null;
      slot.v = null;
    }
  }
}
