/** Loads test/fixtures/hf (written by scripts/gen_hf_fixtures.py): HF-layout folders plus NAME.json references. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Tensor, tensor } from "../../src/index.js";

export interface Enc {
  shape: number[];
  data: number[];
}

export interface Expected {
  generator: string;
  torch_version: string;
  model_class: string;
  input_ids: number[][];
  token_type_ids?: number[][];
  attention_mask?: number[][];
  labels?: number[][];
  targets?: number[][];
  loss?: number;
  logits?: Enc;
  last_hidden_state?: Enc;
  pooler_output?: Enc;
  hidden_states: Enc[];
}

/** Absolute path of a fixture folder or file under test/fixtures/hf. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/hf/${name}`, import.meta.url));
}

export function expected(name: string): Expected {
  return JSON.parse(readFileSync(fixturePath(`${name}.json`), "utf8")) as Expected;
}

/** (B, T) int32 tensor from nested arrays. */
export function ids(rows: number[][]): Tensor {
  return tensor(rows, { dtype: "int32" });
}

/** Largest |a − b| between a tensor and a reference, after checking shapes agree. */
export function maxAbsDiff(actual: Tensor, ref: Enc): number {
  if (actual.shape.join(",") !== ref.shape.join(",")) {
    throw new Error(`shape [${actual.shape.join(", ")}] differs from reference [${ref.shape.join(", ")}]`);
  }
  const a = actual.toArray();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - ref.data[i]));
  return worst;
}
