/** Loads test/fixtures/transformer/parity.json (written by scripts/gen_transformer_fixtures.py). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Tensor, tensor } from "../../src/index.js";

export interface Enc {
  shape: number[];
  data: number[];
}

export interface MhaCase {
  name: string;
  config: {
    embedDim: number;
    numHeads: number;
    bias: boolean;
    batchFirst: boolean;
    kdim?: number;
    vdim?: number;
  };
  selfAttention: boolean;
  averageAttnWeights: boolean;
  state: Record<string, Enc>;
  query: Enc;
  key?: Enc;
  value?: Enc;
  attnMask?: Enc & { dtype: "bool" | "float" };
  keyPaddingMask?: Enc & { dtype: "bool" | "float" };
  output: Enc;
  weights: Enc;
}

export interface TransformerFixture {
  config: {
    dModel: number;
    nhead: number;
    numEncoderLayers: number;
    numDecoderLayers: number;
    dimFeedforward: number;
  };
  state: Record<string, Enc>;
  src: Enc;
  tgt: Enc;
  srcKeyPaddingMask: Enc;
  tgtKeyPaddingMask: Enc;
  cases: { normFirst: boolean; activation: "relu" | "gelu"; output: Enc; grads?: Record<string, Enc> }[];
}

export interface Fixture {
  torch: string;
  mha: MhaCase[];
  transformer: TransformerFixture;
}

const path = fileURLToPath(new URL("../fixtures/transformer/parity.json", import.meta.url));
export const fixture: Fixture = JSON.parse(readFileSync(path, "utf8"));

/** A float32 tensor (or float64 with `dtype`) from an encoded fixture tensor. */
export function floatOf(e: Enc, dtype: "float32" | "float64" = "float32"): Tensor {
  const arr = dtype === "float32" ? Float32Array.from(e.data) : Float64Array.from(e.data);
  return tensor(arr, { shape: e.shape });
}

/** A bool tensor from 0/1 data. */
export function boolOf(e: Enc): Tensor {
  return tensor(Uint8Array.from(e.data), { shape: e.shape });
}

/** A state dict of float tensors. */
export function stateOf(
  s: Record<string, Enc>,
  dtype: "float32" | "float64" = "float32",
): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, floatOf(v, dtype)]));
}
