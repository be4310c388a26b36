/**
 * Reference scaled dot-product attention, softmax(q·kᵀ·scale + mask)·v, one query row at a
 * time. The backward pass recomputes probabilities from the saved row log-sum-exp, as
 * FlashAttention does, so nothing of size T×S is kept between the passes.
 */
import type { AttentionArgs, FloatArray } from "../../backend/backend.js";

/** Fills `s` with the masked, scaled scores of query row i of head (b, h); returns the row max. */
function scores(args: AttentionArgs, b: number, h: number, i: number, s: Float64Array): void {
  const { H, T, S, D, q, k, scale, isCausal, mask } = args;
  const qBase = ((b * H + h) * T + i) * D;
  const kBase = (b * H + h) * S * D;
  const limit = isCausal ? i + (S - T) : S - 1;
  for (let j = 0; j < S; j++) {
    if (j > limit) {
      s[j] = Number.NEGATIVE_INFINITY;
      continue;
    }
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[qBase + d] * k[kBase + j * D + d];
    let v = dot * scale;
    if (mask)
      v +=
        mask.data[
          mask.offset + b * mask.strides[0] + h * mask.strides[1] + i * mask.strides[2] + j * mask.strides[3]
        ];
    s[j] = v;
  }
}

export function attentionForward(args: AttentionArgs, out: FloatArray, lse: FloatArray): void {
  const { B, H, T, S, Dv, v } = args;
  const s = new Float64Array(S);
  const acc = new Float64Array(Dv);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const vBase = (b * H + h) * S * Dv;
      for (let i = 0; i < T; i++) {
        scores(args, b, h, i, s);
        let max = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < S; j++) if (s[j] > max) max = s[j];
        const row = (b * H + h) * T + i;
        acc.fill(0);
        if (max === Number.NEGATIVE_INFINITY) {
          // Every key masked: define the output as 0 rather than NaN.
          lse[row] = Number.NEGATIVE_INFINITY;
        } else {
          let sum = 0;
          for (let j = 0; j < S; j++) {
            const p = Math.exp(s[j] - max);
            s[j] = p;
            sum += p;
          }
          for (let j = 0; j < S; j++) {
            const p = s[j] / sum;
            if (p === 0) continue;
            for (let d = 0; d < Dv; d++) acc[d] += p * v[vBase + j * Dv + d];
          }
          lse[row] = max + Math.log(sum);
        }
        for (let d = 0; d < Dv; d++) out[row * Dv + d] = acc[d];
      }
    }
  }
}

export function attentionBackward(
  args: AttentionArgs,
  out: FloatArray,
  lse: FloatArray,
  gOut: FloatArray,
  gq: FloatArray,
  gk: FloatArray,
  gv: FloatArray,
): void {
  const { B, H, T, S, D, Dv, q, k, v, scale } = args;
  gq.fill(0);
  gk.fill(0);
  gv.fill(0);
  const s = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const qBase = (b * H + h) * T * D;
      const kBase = (b * H + h) * S * D;
      const vBase = (b * H + h) * S * Dv;
      for (let i = 0; i < T; i++) {
        const row = (b * H + h) * T + i;
        const l = lse[row];
        if (l === Number.NEGATIVE_INFINITY) continue;
        scores(args, b, h, i, s);
        // Di = dOᵢ · Oᵢ equals Σⱼ pᵢⱼ·dPᵢⱼ, the softmax backward's row term.
        let Di = 0;
        for (let d = 0; d < Dv; d++) Di += gOut[row * Dv + d] * out[row * Dv + d];
        for (let j = 0; j < S; j++) {
          const p = Math.exp(s[j] - l);
          if (p === 0) continue;
          let dP = 0;
          for (let d = 0; d < Dv; d++) {
            const go = gOut[row * Dv + d];
            dP += go * v[vBase + j * Dv + d];
            gv[vBase + j * Dv + d] += p * go;
          }
          const dS = p * (dP - Di) * scale;
          for (let d = 0; d < D; d++) {
            gq[qBase + i * D + d] += dS * k[kBase + j * D + d];
            gk[kBase + j * D + d] += dS * q[qBase + i * D + d];
          }
        }
      }
    }
  }
}
