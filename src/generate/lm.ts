/**
 * Adapts a GPT to the model-agnostic `generate()` loop: it feeds new tokens through the key/value
 * cache, so producing token t costs O(t). When the context would pass blockSize, it restarts the
 * cache from the last blockSize − 1 tokens (a sliding window, as nanoGPT crops its input).
 */
import { withNoGrad } from "../autograd/graph.js";
import type { GPT } from "../models/gpt.js";
import { KVCache } from "../models/kv-cache.js";
import { tensor } from "../tensor/create.js";
import type { NextTokenModel } from "./generate.js";

/** Per-sequence decoding state: the cache and the tokens seen so far. */
export interface GPTDecodeState {
  cache?: KVCache;
  history?: number[];
}

/**
 * A `NextTokenModel` over a GPT. Call `model.eval()` first so dropout is off.
 * @example
 * const result = generate(gptNextTokenModel(model), tok.encode("ROMEO:"), { maxNewTokens: 100, decode: (ids) => tok.decode(ids) });
 */
export function gptNextTokenModel(
  model: GPT,
  opts: { useCache?: boolean } = {},
): NextTokenModel<GPTDecodeState> {
  const useCache = opts.useCache ?? true;
  const { blockSize, nLayer } = model.config;
  return {
    nextLogits(newIds, state) {
      if (newIds.length === 0)
        throw new Error("gptNextTokenModel: need at least one token (give a non-empty prompt)");
      const history = (state.history ??= []);
      history.push(...newIds);
      return withNoGrad(() => {
        let feed = newIds;
        if (!useCache || !state.cache || state.cache.length + newIds.length > blockSize) {
          // (Re)start: run the last blockSize tokens from scratch.
          state.cache = useCache ? new KVCache(nLayer) : undefined;
          feed = history.slice(-blockSize);
        }
        const idx = tensor(Int32Array.from(feed), { shape: [1, feed.length] }); // (1, T)
        const { logits } = model.forward(idx, null, { cache: state.cache, lastOnly: true }); // (1, 1, V)
        return logits.toArray() as Float32Array;
      });
    },
  };
}
