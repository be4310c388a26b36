/**
 * BERT-style masked-language-model corruption (Devlin et al. 2019; Hugging Face's
 * `DataCollatorForLanguageModeling`): choose ~15% of positions, then 80/10/10 mask/random/keep.
 */

import { tensor } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import { defaultGenerator, type Generator } from "../util/rng.js";
import { IGNORE_INDEX } from "./pairs.js";

/**
 * Options for {@link maskTokens}.
 *
 * @example
 * ```ts
 * const opts: MaskTokensOptions = { vocabSize: 1000, maskId: 4, specialIds: [0, 1, 2, 3, 4] };
 * ```
 */
export interface MaskTokensOptions {
  /** Vocabulary size; random replacements are drawn from [0, vocabSize) minus special ids. */
  vocabSize: number;
  /** Id of the [MASK] token. */
  maskId: number;
  /** Ids never selected (padding, [CLS], [SEP], …) nor used as random replacements. Default none. */
  specialIds?: Iterable<number>;
  /** Chance that each non-special position is selected. Default 0.15. */
  probability?: number;
  /** Generator for every draw. Default: the global default generator. */
  generator?: Generator;
}

/**
 * Model inputs and labels, both int32 with the shape of the input ids.
 *
 * @example
 * ```ts
 * const { inputIds, labels } = maskTokens(ids, opts);
 * ```
 */
export interface MaskedTokens {
  /** The corrupted ids. */
  inputIds: Tensor;
  /** The original id at selected positions, {@link IGNORE_INDEX} (−100) elsewhere. */
  labels: Tensor;
}

/**
 * Selects each non-special position independently with `probability`; a selected position
 * becomes [MASK] with chance 0.8, a uniformly random non-special token with chance 0.1, and stays
 * unchanged with chance 0.1. Labels keep the original id at selected positions and −100
 * elsewhere, so the loss covers exactly the selected positions.
 *
 * @example
 * ```ts
 * const ids = tensor([[1, 7, 8, 9, 2]], { dtype: "int32" });
 * const { inputIds, labels } = maskTokens(ids, { vocabSize: 10, maskId: 3, specialIds: [0, 1, 2, 3] });
 * ```
 */
export function maskTokens(ids: Tensor, opts: MaskTokensOptions): MaskedTokens {
  const { vocabSize, maskId } = opts;
  const p = opts.probability ?? 0.15;
  const g = opts.generator ?? defaultGenerator;
  if (!(p >= 0 && p <= 1)) throw new Error(`maskTokens: probability must be in [0, 1], got ${p}`);
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new Error(`maskTokens: vocabSize must be a positive integer, got ${vocabSize}`);
  }
  if (!Number.isInteger(maskId) || maskId < 0 || maskId >= vocabSize) {
    throw new Error(`maskTokens: maskId ${maskId} is outside the vocabulary [0, ${vocabSize})`);
  }
  const special = new Set<number>(opts.specialIds ?? []);
  special.add(maskId);
  let numSpecial = 0;
  for (const id of special) if (Number.isInteger(id) && id >= 0 && id < vocabSize) numSpecial++;
  const hasOrdinary = numSpecial < vocabSize;

  const src = ids.toArray();
  const input = new Int32Array(src.length);
  const labels = new Int32Array(src.length).fill(IGNORE_INDEX);
  for (let i = 0; i < src.length; i++) {
    const id = src[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(
        `maskTokens: id ${id} at flat position ${i} is outside the vocabulary [0, ${vocabSize})`,
      );
    }
    input[i] = id;
    if (special.has(id) || !(g.random() < p)) continue;
    labels[i] = id;
    const r = g.random();
    if (r < 0.8) input[i] = maskId;
    else if (r < 0.9) {
      if (!hasOrdinary)
        throw new Error("maskTokens: every id is special; nothing to draw a random token from");
      // Uniform over the ordinary tokens, by rejection (special ids are few).
      let r2 = g.randint(0, vocabSize);
      while (special.has(r2)) r2 = g.randint(0, vocabSize);
      input[i] = r2;
    }
  }
  return {
    inputIds: tensor(input, { shape: [...ids.shape] }),
    labels: tensor(labels, { shape: [...ids.shape] }),
  };
}
