/**
 * Reference scaled dot-product attention, softmax(q·kᵀ·scale + mask)·v, one query row at a
 * time. The backward pass recomputes probabilities from the saved row log-sum-exp, as
 * FlashAttention does, so nothing of size T×S is kept between the passes. Operands are addressed
 * through their head layouts (contiguous (B, H, T, D) by default, or heads of a packed projection).
 */
import {
  type AttentionArgs,
  type AttentionBackwardArgs,
  type AttentionForwardArgs,
  type AttentionLayout,
  contiguousAttentionLayout,
  type FloatArray,
  type HeadLayout,
} from "../../backend/backend.js";

/** Offset of row 0 of head (b, h). */
const base = (l: HeadLayout, b: number, h: number) => l.offset + b * l.batch + h * l.head;

/** Fills `s` with the masked, scaled scores of query row i of head (b, h). */
function scores(
  args: AttentionArgs,
  lay: AttentionLayout,
  b: number,
  h: number,
  i: number,
  s: Float64Array,
): void {
  const { T, S, D, q, k, scale, isCausal, mask } = args;
  const qBase = base(lay.q, b, h) + i * lay.q.row;
  const kBase = base(lay.k, b, h);
  const limit = isCausal ? i + (S - T) : S - 1;
  for (let j = 0; j < S; j++) {
    if (j > limit) {
      s[j] = Number.NEGATIVE_INFINITY;
      continue;
    }
    const kRow = kBase + j * lay.k.row;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[qBase + d] * k[kRow + d];
    let v = dot * scale;
    if (mask)
      v +=
        mask.data[
          mask.offset + b * mask.strides[0] + h * mask.strides[1] + i * mask.strides[2] + j * mask.strides[3]
        ];
    s[j] = v;
  }
}

export function attentionForward(args: AttentionForwardArgs): void {
  const { out, lse } = args;
  const { B, H, T, S, Dv, v } = args;
  const lay = args.layout ?? contiguousAttentionLayout(args);
  const s = new Float64Array(S);
  const acc = new Float64Array(Dv);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const vBase = base(lay.v, b, h);
      for (let i = 0; i < T; i++) {
        scores(args, lay, b, h, i, s);
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
            const vRow = vBase + j * lay.v.row;
            for (let d = 0; d < Dv; d++) acc[d] += p * v[vRow + d];
          }
          lse[row] = max + Math.log(sum);
        }
        const oRow = base(lay.out, b, h) + i * lay.out.row;
        for (let d = 0; d < Dv; d++) out[oRow + d] = acc[d];
      }
    }
  }
}

/** Zeroes rows × cols elements of every head of `a` under layout l. */
function zeroHeads(a: FloatArray, l: HeadLayout, B: number, H: number, rows: number, cols: number): void {
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let r = 0; r < rows; r++) a.fill(0, base(l, b, h) + r * l.row, base(l, b, h) + r * l.row + cols);
}

export function attentionBackward(args: AttentionBackwardArgs): void {
  const { out, lse, gOut, gq, gk, gv } = args;
  const { B, H, T, S, D, Dv, q, k, v, scale } = args;
  const lay = args.layout ?? contiguousAttentionLayout(args);
  zeroHeads(gq, lay.q, B, H, T, D);
  zeroHeads(gk, lay.k, B, H, S, D);
  zeroHeads(gv, lay.v, B, H, S, Dv);
  const s = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const qBase = base(lay.q, b, h);
      const kBase = base(lay.k, b, h);
      const vBase = base(lay.v, b, h);
      const oBase = base(lay.out, b, h);
      for (let i = 0; i < T; i++) {
        const row = (b * H + h) * T + i;
        const l = lse[row];
        if (l === Number.NEGATIVE_INFINITY) continue;
        scores(args, lay, b, h, i, s);
        const qRow = qBase + i * lay.q.row;
        const oRow = oBase + i * lay.out.row;
        // Di = dOᵢ · Oᵢ equals Σⱼ pᵢⱼ·dPᵢⱼ, the softmax backward's row term.
        let Di = 0;
        for (let d = 0; d < Dv; d++) Di += gOut[oRow + d] * out[oRow + d];
        for (let j = 0; j < S; j++) {
          const p = Math.exp(s[j] - l);
          if (p === 0) continue;
          const kRow = kBase + j * lay.k.row;
          const vRow = vBase + j * lay.v.row;
          let dP = 0;
          for (let d = 0; d < Dv; d++) {
            const go = gOut[oRow + d];
            dP += go * v[vRow + d];
            gv[vRow + d] += p * go;
          }
          const dS = p * (dP - Di) * scale;
          for (let d = 0; d < D; d++) {
            gq[qRow + d] += dS * k[kRow + d];
            gk[kRow + d] += dS * q[qRow + d];
          }
        }
      }
    }
  }
}
