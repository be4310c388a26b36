/** Loads the torch goldens written by scripts/gen_nn_fixtures.py. */
import { readFileSync } from "node:fs";
import { Tensor } from "../../src/index.js";

export interface FixtureTensor {
  shape: number[];
  dtype: "float32" | "float64";
  data: number[];
}

export function loadFixture<T>(name: string): T & { torch: string } {
  const url = new URL(`../fixtures/nn/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as T & { torch: string };
}

/** A fresh tensor holding the fixture's values at its dtype (float32 values load exactly). */
export function toTensor(t: FixtureTensor): Tensor {
  const data = t.dtype === "float64" ? Float64Array.from(t.data) : Float32Array.from(t.data);
  return new Tensor(data, t.shape);
}

/** Largest |a − b| / max(|b|, floor) over the elements (floor 0: plain relative error). */
export function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-3): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Number(expected[i]);
    const diff = Math.abs(Number(actual[i]) - e);
    const err = diff === 0 ? 0 : diff / Math.max(Math.abs(e), floor);
    if (!(err <= worst)) worst = err;
  }
  return worst;
}
