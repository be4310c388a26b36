/**
 * Position information for transformers: the fixed sinusoidal encoding of "Attention Is All You
 * Need" (§3.5), learned absolute position embeddings, and rotary embeddings (Su et al. 2021).
 */
import { add, cat, mul, narrow, neg, split, unsqueeze } from "../ops/index.js";
import { tensor } from "../tensor/create.js";
import { empty } from "../tensor/create-internal.js";
import type { FloatDType } from "../tensor/dtype.js";
import { allocate } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../util/rng.js";
import { shapeStr } from "../util/shape.js";
import { Dropout } from "./dropout.js";
import { normal_ } from "./init.js";
import { Module, Parameter } from "./module.js";

/**
 * The (length, dModel) sinusoid table: PE[pos, 2i] = sin(pos / 10000^(2i/d)) and
 * PE[pos, 2i+1] = cos(pos / 10000^(2i/d)), computed in float64.
 * @example sinusoidalTable(50, 16) // (50, 16)
 */
export function sinusoidalTable(length: number, dModel: number, dtype: FloatDType = "float32"): Tensor {
  const data = allocate(dtype, length * dModel);
  for (let pos = 0; pos < length; pos++) {
    for (let j = 0; j < dModel; j++) {
      const angle = pos / 10000 ** ((j - (j % 2)) / dModel);
      data[pos * dModel + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tensor(data, { shape: [length, dModel] });
}

/** Adds the positions offset … offset+T−1 of a (maxLen, D) table to x (B, T, D) or (T, B, D). */
function addPositions(x: Tensor, table: Tensor, offset: number, batchFirst: boolean, what: string): Tensor {
  const tDim = x.ndim === 2 ? 0 : batchFirst ? 1 : 0;
  const T = x.shape[tDim];
  const [maxLen, D] = table.shape;
  if (x.ndim < 2 || x.ndim > 3 || x.shape[x.ndim - 1] !== D) {
    throw new Error(
      `${what}: input must be (B, T, ${D}), (T, B, ${D}) or (T, ${D}), got ${shapeStr(x.shape)}`,
    );
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + T > maxLen) {
    throw new Error(`${what}: positions ${offset}..${offset + T - 1} exceed maxLen ${maxLen}`);
  }
  const pe = narrow(table, 0, offset, T); // (T, D)
  return add(x, x.ndim === 3 && !batchFirst ? unsqueeze(pe, 1) : pe);
}

/**
 * Options of the positional modules.
 * @example new SinusoidalPositionalEncoding(64, { maxLen: 512, dropout: 0.1 })
 */
export interface PositionalOptions {
  /** Longest sequence (offset included) the table covers (default 5000). */
  maxLen?: number;
  /** Dropout applied after adding positions, as the PyTorch tutorial's PositionalEncoding (default 0). */
  dropout?: number;
  /** Inputs are (B, T, D) (default) rather than (T, B, D). */
  batchFirst?: boolean;
  dtype?: FloatDType;
  generator?: Generator;
}

/**
 * Adds the fixed sinusoidal encoding to token embeddings. The table is a non-persistent buffer
 * `pe` (not in the state dict). `offset` is the position of the first token, for cached decoding.
 * @example
 * const pos = new SinusoidalPositionalEncoding(16, { maxLen: 128 });
 * const h = pos.forward(tokEmb);          // (B, T, 16)
 * const h2 = pos.forward(nextEmb, T);     // one new token at position T
 */
export class SinusoidalPositionalEncoding extends Module {
  declare readonly pe: Tensor;
  dropout: Dropout;
  readonly batchFirst: boolean;

  constructor(
    readonly dModel: number,
    opts: PositionalOptions = {},
  ) {
    super();
    this.registerBuffer("pe", sinusoidalTable(opts.maxLen ?? 5000, dModel, opts.dtype ?? "float32"), false); // (maxLen, D)
    this.dropout = new Dropout(opts.dropout ?? 0, opts.generator);
    this.batchFirst = opts.batchFirst ?? true;
  }

  /** Adds the encodings of positions offset…offset+T−1 to `x` ((B, T, C), or (T, B, C) unless batchFirst), then applies dropout. */
  forward(x: Tensor, offset = 0): Tensor {
    return this.dropout.forward(
      addPositions(x, this.pe, offset, this.batchFirst, "SinusoidalPositionalEncoding"),
    );
  }
}

/**
 * Learned absolute positions: an embedding table `weight` (maxLen, D), initialised N(0, 1) like
 * nn.Embedding, added to the input at positions offset … offset+T−1.
 * @example
 * const wpe = new LearnedPositionalEmbedding(128, 16);
 * const h = wpe.forward(tokEmb); // (B, T, 16)
 */
export class LearnedPositionalEmbedding extends Module {
  weight: Parameter;
  readonly batchFirst: boolean;

  constructor(
    readonly maxLen: number,
    readonly dModel: number,
    opts: Omit<PositionalOptions, "maxLen" | "dropout"> = {},
  ) {
    super();
    this.weight = new Parameter(empty([maxLen, dModel], opts.dtype ?? "float32"));
    normal_(this.weight, 0, 1, opts.generator);
    this.batchFirst = opts.batchFirst ?? true;
  }

  /** Adds the learned embeddings of positions offset…offset+T−1 to `x`: (B, T, C), or (T, B, C) unless batchFirst. */
  forward(x: Tensor, offset = 0): Tensor {
    return addPositions(x, this.weight, offset, this.batchFirst, "LearnedPositionalEmbedding");
  }
}

/**
 * Rotary position embedding on x (…, T, D), D even, in the "rotate half" layout (GPT-NeoX,
 * LLaMA): feature j pairs with j + D/2 and the pair turns by angle pos·base^(−2j/D).
 * Apply it to queries and keys before attention; `offset` is the first token's position.
 * @example
 * const q2 = applyRotary(q, { offset: cache.length }); // q (B, nh, T, hs)
 */
export function applyRotary(x: Tensor, opts: { offset?: number; base?: number } = {}): Tensor {
  const D = x.shape[x.ndim - 1];
  const T = x.shape[x.ndim - 2];
  if (x.ndim < 2 || D % 2 !== 0)
    throw new Error(`applyRotary: input must be (…, T, D) with D even, got ${shapeStr(x.shape)}`);
  const offset = opts.offset ?? 0;
  const base = opts.base ?? 10000;
  const half = D / 2;
  const dtype = x.dtype as FloatDType;
  const cosD = allocate(dtype, T * D);
  const sinD = allocate(dtype, T * D);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < half; j++) {
      const angle = (offset + t) * base ** ((-2 * j) / D);
      cosD[t * D + j] = cosD[t * D + j + half] = Math.cos(angle);
      sinD[t * D + j] = sinD[t * D + j + half] = Math.sin(angle);
    }
  }
  const cos = tensor(cosD, { shape: [T, D] }); // (T, D)
  const sin = tensor(sinD, { shape: [T, D] });
  const [x1, x2] = split(x, half, -1); // (…, T, D/2) each
  const rotated = cat([neg(x2), x1], -1); // (…, T, D)
  return add(mul(x, cos), mul(rotated, sin));
}
