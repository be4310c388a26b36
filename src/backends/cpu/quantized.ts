/** The reference quantized linear: out = x · dequant(W)ᵀ + bias, one dot product per output. */
import type { FusedQuantizedLinear, QuantizedLinearArgs } from "../../backend/fused.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function forward(args: QuantizedLinearArgs): void {
  const { M, N, K, x, weight, bias, out } = args;
  // One dequantised row at a time, reused by every row of x.
  const row = new Float64Array(K);
  for (let j = 0; j < N; j++) {
    let scale = 1;
    if (weight.kind === "int8") {
      const w = weight.data;
      for (let k = 0; k < K; k++) row[k] = w[j * K + k];
      scale = weight.scales[j];
    } else {
      const w = weight.data;
      for (let k = 0; k < K; k++) {
        u32[0] = w[j * K + k] << 16;
        row[k] = f32[0];
      }
    }
    const b = bias ? bias[j] : 0;
    for (let m = 0; m < M; m++) {
      let acc = 0;
      const xo = m * K;
      for (let k = 0; k < K; k++) acc += x[xo + k] * row[k];
      out[m * N + j] = acc * scale + b;
    }
  }
}

/** The cpu backend's quantized linear (the oracle of the native and wasm kernels). */
export const quantizedLinear: FusedQuantizedLinear = { forward };
