/**
 * The transformer layer of fusedTransformerLayer written with ops (the composed path models run
 * when no fused kernel is declared), and seeded random layers of each shape, for the op's tests
 * here and the native conformance test.
 */
import * as q from "../../src/index.js";

type Tensor = q.Tensor;

/** What a test layer looks like: GPT-2 (pre-norm, packed, causal), BERT (post-norm, separate), or a decoder with cross-attention. */
export interface LayerSpec {
  B: number;
  T: number;
  C: number;
  H: number;
  F: number;
  normFirst: boolean;
  packed: boolean;
  bias: boolean;
  causal: boolean;
  activation: q.FusedLayerOptions["activation"];
  /** Cached positions before the call, with cap rows of storage (no cache when absent). */
  cache?: { past: number; cap: number };
  /** Memory positions of a cross-attention sublayer. */
  Sm?: number;
  /** A padding mask over the keys: sequence b keeps its first S − b·pad keys. */
  pad?: number;
  dtype: "float32" | "float64";
}

/** A seeded layer, input, cache and memory of this spec. */
export function makeLayer(s: LayerSpec, seed: number) {
  const g = new q.Generator(seed);
  const { B, T, C, H, F, dtype } = s;
  const r = (shape: number[], scale = 1, shift = 0) =>
    q.randn(shape, { generator: g, dtype }).mul(scale).add(shift);
  const lin = (out: number, inp: number) => ({
    weight: r([out, inp], 1 / Math.sqrt(inp)),
    bias: s.bias ? r([out], 0.1) : null,
  });
  const norm = () => ({ weight: r([C], 0.1, 1), bias: s.bias ? r([C], 0.1) : null });
  const w: q.FusedLayerWeights = {
    qkv: s.packed ? lin(3 * C, C) : { q: lin(C, C), k: lin(C, C), v: lin(C, C) },
    attnOut: lin(C, C),
    norm1: norm(),
    cross: s.Sm ? { q: lin(C, C), out: lin(C, C), norm: norm() } : null,
    fc: lin(F, C),
    proj: lin(C, F),
    norm3: norm(),
  };
  const x = r([B, T, C], 1.5);
  const hs = C / H;
  // Earlier positions hold arbitrary keys and values; the new rows must be overwritten.
  const cache = s.cache
    ? { k: r([B, H, s.cache.cap, hs]), v: r([B, H, s.cache.cap, hs]), past: s.cache.past }
    : null;
  const S = (s.cache?.past ?? 0) + T;
  let mask: Tensor | null = null;
  if (s.pad) {
    // (B, 1, 1, S) bool: key j of sequence b is visible when j < S − b·pad
    const m = new Uint8Array(B * S);
    for (let b = 0; b < B; b++) for (let j = 0; j < S; j++) m[b * S + j] = j < S - b * s.pad ? 1 : 0;
    mask = q.tensor(m, { shape: [B, 1, 1, S], dtype: "bool" });
  }
  let memory: q.FusedLayerOptions["memory"] = null;
  if (s.Sm) {
    const mem = r([B, s.Sm, C]);
    const { k, v } = q.crossAttentionMemory(mem, lin(C, C), lin(C, C), H);
    // additive memory mask (B, 1, T, Sm): mild random biases on every key
    memory = { k, v, mask: r([B, 1, T, s.Sm], 0.5) };
  }
  const opts: q.FusedLayerOptions = {
    nHead: H,
    normFirst: s.normFirst,
    activation: s.activation,
    causal: s.causal,
    mask,
    cache,
    memory,
  };
  return { x, w, opts };
}

function activate(op: q.FusedLayerOptions["activation"], t: Tensor): Tensor {
  if (op === "geluTanh") return q.gelu(t, { approximate: "tanh" });
  if (op === "gelu") return q.gelu(t);
  if (op === "relu") return q.relu(t);
  if (op === "silu") return q.silu(t);
  throw new Error(`composedLayer: no reference for activation ${op}`);
}

/**
 * The layer composed from ops: the same math as the fused kernel, read top to bottom. Returns the
 * output and the new keys and values (B, H, T, hs) that the fused kernel must write into the cache.
 */
export function composedLayer(
  x: Tensor,
  w: q.FusedLayerWeights,
  o: q.FusedLayerOptions,
): { y: Tensor; kNew: Tensor; vNew: Tensor } {
  const [B, T, C] = x.shape;
  const H = o.nHead;
  const hs = C / H;
  const eps = o.eps ?? 1e-5;
  const heads = (t: Tensor) => q.transpose(q.reshape(t, [B, T, H, hs]), 1, 2); // (B, H, T, hs)
  const merge = (t: Tensor) => q.reshape(q.contiguous(q.transpose(t, 1, 2)), [B, T, C]); // (B, T, C)
  const lin = (t: Tensor, p: q.LinearParams) => q.linear(t, p.weight, p.bias ?? null);
  const norm = (t: Tensor, n: q.NormParams) => q.layerNorm(t, [C], n.weight ?? null, n.bias ?? null, eps);
  // A sublayer: x + f(norm x) (pre-norm) or norm(x + f x) (post-norm).
  const sub = (t: Tensor, n: q.NormParams, f: (a: Tensor) => Tensor) =>
    o.normFirst ? q.add(t, f(norm(t, n))) : norm(q.add(t, f(t)), n);

  let kNew: Tensor | null = null;
  let vNew: Tensor | null = null;
  let y = sub(x, w.norm1, (a) => {
    let qq: Tensor;
    let kk: Tensor;
    let vv: Tensor;
    if ("weight" in w.qkv) [qq, kk, vv] = q.split(lin(a, w.qkv), C, 2);
    else [qq, kk, vv] = [lin(a, w.qkv.q), lin(a, w.qkv.k), lin(a, w.qkv.v)];
    kNew = heads(kk);
    vNew = heads(vv);
    const past = o.cache?.past ?? 0;
    // attend over the cached positions 0 … past − 1, then the new ones
    const keys = past > 0 ? q.cat([q.narrow(o.cache!.k, 2, 0, past), kNew], 2) : kNew;
    const vals = past > 0 ? q.cat([q.narrow(o.cache!.v, 2, 0, past), vNew], 2) : vNew;
    const att = q.scaledDotProductAttention(heads(qq), keys, vals, {
      attnMask: o.mask ?? undefined,
      causalBottomRight: o.causal ?? false,
    });
    return lin(merge(att), w.attnOut);
  });
  if (w.cross && o.memory) {
    const { cross, memory } = { cross: w.cross, memory: o.memory };
    y = sub(y, cross.norm, (a) => {
      const att = q.scaledDotProductAttention(heads(lin(a, cross.q)), memory.k, memory.v, {
        attnMask: memory.mask ?? undefined,
      });
      return lin(merge(att), cross.out);
    });
  }
  y = sub(y, w.norm3, (a) => lin(activate(o.activation, lin(a, w.fc)), w.proj));
  return { y, kNew: kNew!, vNew: vNew! };
}

/** The GPT-2, BERT and encoder-decoder layer shapes the tests run (caches, masks, batch, prefill). */
export const SPECS: (Omit<LayerSpec, "dtype"> & { name: string })[] = [
  {
    name: "GPT-2 block, first token into an empty cache",
    ...{ B: 1, T: 1, C: 32, H: 2, F: 128, normFirst: true, packed: true, bias: true, causal: true },
    activation: "geluTanh",
    cache: { past: 0, cap: 4 },
  },
  {
    name: "GPT-2 block, one token after 37 cached, no biases",
    ...{ B: 1, T: 1, C: 64, H: 4, F: 256, normFirst: true, packed: true, bias: false, causal: true },
    activation: "geluTanh",
    cache: { past: 37, cap: 48 },
  },
  {
    name: "GPT-2 block, batch 3 (the GEMM path), hs 8, C not a multiple of the vector width",
    ...{ B: 3, T: 1, C: 40, H: 5, F: 160, normFirst: true, packed: true, bias: true, causal: true },
    activation: "geluTanh",
    cache: { past: 9, cap: 12 },
  },
  {
    name: "GPT-2 block, prefill of 5 after 11 cached",
    ...{ B: 2, T: 5, C: 36, H: 3, F: 144, normFirst: true, packed: true, bias: false, causal: true },
    activation: "geluTanh",
    cache: { past: 11, cap: 40 },
  },
  {
    name: "GPT-2 block without a cache",
    ...{ B: 2, T: 6, C: 32, H: 4, F: 128, normFirst: true, packed: true, bias: true, causal: true },
    activation: "geluTanh",
  },
  {
    name: "BERT layer: post-norm, separate q/k/v, exact GELU, padding mask",
    ...{ B: 3, T: 7, C: 48, H: 4, F: 96, normFirst: false, packed: false, bias: true, causal: false },
    activation: "gelu",
    pad: 2,
  },
  {
    name: "BERT layer, one row (matrix-vector path), no mask",
    ...{ B: 1, T: 1, C: 24, H: 3, F: 64, normFirst: false, packed: false, bias: true, causal: false },
    activation: "gelu",
  },
  {
    name: "torch decoder layer: post-norm, packed, ReLU, cross-attention, cache, padding",
    ...{ B: 2, T: 1, C: 32, H: 4, F: 64, normFirst: false, packed: true, bias: true, causal: true },
    activation: "relu",
    cache: { past: 6, cap: 10 },
    Sm: 9,
    pad: 1,
  },
  {
    name: "pre-norm decoder layer with cross-attention, prefill without a cache",
    ...{ B: 2, T: 4, C: 32, H: 2, F: 48, normFirst: true, packed: false, bias: false, causal: true },
    activation: "silu",
    Sm: 5,
  },
  {
    name: "GPT-2 block, one token, wide: the 1536×384 feed-forward weights take the GEMM, q/k/v the matrix-vector loop",
    ...{ B: 1, T: 1, C: 384, H: 6, F: 1536, normFirst: true, packed: true, bias: true, causal: true },
    activation: "geluTanh",
    cache: { past: 3, cap: 8 },
  },
];
