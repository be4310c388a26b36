/** Uninitialised-by-contract (in practice zeroed) storage for module parameters. */

import { checkShape, sizeOf } from "../util/shape.js";
import type { DType } from "./dtype.js";
import { allocate } from "./dtype.js";
import { Tensor } from "./tensor.js";

/** A fresh contiguous tensor whose values the caller is about to overwrite. */
export function empty(shape: readonly number[], dtype: DType = "float32"): Tensor {
  checkShape("empty", shape);
  return new Tensor(allocate(dtype, sizeOf(shape)), shape);
}
