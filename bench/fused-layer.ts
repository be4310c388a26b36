/**
 * The fused transformer layer in GPT, BERT and the encoder-decoder: GPT greedy decoding with the
 * KV cache (a tiny model, bench/train.ts's small one and a 768-wide one), BERT-small's forward
 * (4 layers, hidden 512, 8 heads) at batch 1 and 4, T 16 and 64, and a seq2seq model's greedy
 * translation, each with the backend's fused capability and with it hidden (the composed layers),
 * alternating in one process so both see the same machine. Keeps the best of --reps runs.
 *
 *   node --import tsx bench/fused-layer.ts [--reps 5] [--threads 1]
 */
import { loadNativeBackend, setNumThreads } from "../src/backends/native/index.js";
import {
  BertForMaskedLM,
  backend,
  Generator,
  GPT,
  Seq2SeqTransformer,
  setBackend,
  type Tensor,
  tensor,
  translateGreedy,
  withNoGrad,
} from "../src/index.js";
import { greedyDecode } from "./shared.js";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const reps = Number(flag("reps", "5"));
const native = loadNativeBackend();
if (!native) {
  console.log("native backend unavailable");
  process.exit(0);
}
setBackend(native);
setNumThreads(Number(flag("threads", "1")));

const b = backend() as { fused?: unknown };
const fusedKernels = b.fused;

/** Best seconds of fn with the fused path on and off, alternating rep by rep. */
function alternate(fn: () => void): { fused: number; composed: number } {
  const best = { fused: Number.POSITIVE_INFINITY, composed: Number.POSITIVE_INFINITY };
  fn(); // warm up both paths
  b.fused = undefined;
  fn();
  for (let r = 0; r < reps; r++) {
    for (const mode of ["fused", "composed"] as const) {
      b.fused = mode === "fused" ? fusedKernels : undefined;
      const t0 = performance.now();
      fn();
      best[mode] = Math.min(best[mode], (performance.now() - t0) / 1000);
    }
  }
  b.fused = fusedKernels;
  return best;
}

const ids = (n: number, shape: number[], V: number, seed: number): Tensor => {
  const d = new Int32Array(n);
  for (let i = 0; i < n; i++) d[i] = 1 + ((i * 7919 + seed * 104729) % (V - 1));
  return tensor(d, { shape });
};

for (const [name, nLayer, nHead, nEmbd, n] of [
  ["tiny 2L/2H/32", 2, 2, 32, 256],
  ["small 4L/4H/128", 4, 4, 128, 256],
  ["4L/12H/768", 4, 12, 768, 32],
] as const) {
  const gpt = new GPT(
    { vocabSize: 65, blockSize: 512, nLayer, nHead, nEmbd, dropout: 0, bias: true },
    { generator: new Generator(0) },
  ).eval();
  const t = alternate(() => greedyDecode(gpt, n));
  console.log(
    `GPT ${name} greedy decoding, ${n} tokens: fused ${(n / t.fused).toFixed(0)} tok/s, composed ${(n / t.composed).toFixed(0)} tok/s, ${(t.composed / t.fused).toFixed(2)}×`,
  );
}

const bert = new BertForMaskedLM(
  {
    vocabSize: 30522,
    hiddenSize: 512,
    numHiddenLayers: 4,
    numAttentionHeads: 8,
    intermediateSize: 2048,
    hiddenAct: "gelu",
    hiddenDropoutProb: 0.1,
    attentionProbsDropoutProb: 0.1,
    maxPositionEmbeddings: 512,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
  },
  { generator: new Generator(0) },
).eval();
for (const B of [1, 4])
  for (const T of [16, 64]) {
    const x = ids(B * T, [B, T], 30522, B * T);
    // the encoder only: the MLM head's 30522-wide projection is the same either way
    const t = alternate(() => withNoGrad(() => bert.bert.forward(x)));
    console.log(
      `BERT-small forward B ${B} T ${T}: fused ${(t.fused * 1e3).toFixed(2)} ms, composed ${(t.composed * 1e3).toFixed(2)} ms, ${(t.composed / t.fused).toFixed(2)}×`,
    );
  }

const s2s = new Seq2SeqTransformer({
  srcVocabSize: 1000,
  tgtVocabSize: 1000,
  dModel: 256,
  nhead: 4,
  numEncoderLayers: 3,
  numDecoderLayers: 3,
  dimFeedforward: 512,
  generator: new Generator(1),
}).eval();
const maxLen = 32;
for (const N of [1, 4]) {
  const src = ids(N * 16, [N, 16], 1000, N);
  const t = alternate(() => translateGreedy(s2s, src, { bos: 1, maxLen }));
  const tps = (s: number) => ((N * maxLen) / s).toFixed(0);
  console.log(
    `seq2seq greedy translation N ${N}, S 16, ${maxLen} tokens: fused ${tps(t.fused)} tok/s, composed ${tps(t.composed)} tok/s, ${(t.composed / t.fused).toFixed(2)}×`,
  );
}
