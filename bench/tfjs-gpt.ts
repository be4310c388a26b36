/**
 * The small GPT written in tfjs-core, the JavaScript peer of qkv's GPT for bench/wasm.ts: the same
 * shapes and parameters (tied token embedding and head, learned positions, pre-norm blocks with
 * bias-free LayerNorms and Linears, packed q/k/v, tanh GELU, causal attention, cross-entropy),
 * trained by Adam with decoupled weight decay on the matrices and gradient-norm clipping, as
 * qkv's AdamW step does. It takes the `tf` namespace as an argument so the same code runs in Node
 * and in a page; it is not a general tfjs model library.
 */
import type * as TF from "@tensorflow/tfjs-core";

/** The model's shape: the fields of qkv's GPTConfig that the bench uses (no biases, no dropout). */
export interface TfGptConfig {
  vocabSize: number;
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
}

/** A tfjs GPT and its optimizer step. */
export interface TfGpt {
  /** Trainable variables; the token embedding is also the output head, so it is listed once. */
  params: TF.Variable[];
  /**
   * The variables under qkv's state-dict names (`wte.weight`, `h.0.attn.c_attn.weight`, …). Linear
   * weights are stored (in, out) here and (out, in) in qkv, so copying one way transposes them.
   */
  named: Map<string, { variable: TF.Variable; transposed: boolean }>;
  /** Number of trainable scalars (tied weights counted once), to compare with qkv's model. */
  paramCount: number;
  /** Mean cross-entropy of x (B, T) predicting y (B, T), without a gradient. */
  loss(x: Int32Array, y: Int32Array, B: number, T: number): number;
  /** One optimizer step on the batch at learning rate `lr`; returns the loss before the update. */
  step(x: Int32Array, y: Int32Array, B: number, T: number, lr: number): number;
  /**
   * Copies weights given under qkv's names with qkv's (out, in) Linear layout, e.g. a qkv GPT's
   * namedParameters(), so both libraries start from the same point; every variable must be given.
   */
  loadWeights(weights: Iterable<[string, { shape: readonly number[]; toArray(): ArrayLike<number> }]>): void;
  /** Releases the variables, the optimizer's moments and the mask. */
  dispose(): void;
}

/** Optimizer settings; the defaults are bench/train.ts's AdamW. */
export interface TfGptOptimizer {
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  clipNorm?: number;
}

let built = 0;

/**
 * Builds the GPT with nanoGPT's init (N(0, 0.02), residual projections N(0, 0.02/√(2·nLayer)),
 * LayerNorm gains 1) drawn from tfjs's seeded generator, and an Adam optimizer.
 * @example const m = buildTfGpt(tf, { vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128 });
 */
export function buildTfGpt(tf: typeof TF, cfg: TfGptConfig, seed = 1337, opt: TfGptOptimizer = {}): TfGpt {
  const { vocabSize: V, blockSize, nLayer, nHead: nh, nEmbd: C } = cfg;
  if (C % nh !== 0) throw new Error(`buildTfGpt: nEmbd ${C} is not divisible by nHead ${nh}`);
  const hs = C / nh;
  const [beta1, beta2] = opt.betas ?? [0.9, 0.99];
  const weightDecay = opt.weightDecay ?? 0.1;
  const clipNorm = opt.clipNorm ?? 1;
  let draw = seed;
  // tfjs keys variables by name engine-wide, so each model's names carry its own prefix.
  const prefix = `gpt${built++}/`;
  const normal = (shape: number[], std: number, name: string) =>
    tf.variable(tf.randomNormal(shape, 0, std, "float32", draw++), true, prefix + name);
  const ones = (n: number, name: string) => tf.variable(tf.ones([n]), true, prefix + name);
  const residualStd = 0.02 / Math.sqrt(2 * nLayer);

  // Weights are stored (in, out), so a Linear is x·W.
  const wte = normal([V, C], 0.02, "wte"); // also the head: logits = x·wteᵀ
  const wpe = normal([blockSize, C], 0.02, "wpe");
  const blocks = Array.from({ length: nLayer }, (_, l) => ({
    ln1: ones(C, `h.${l}.ln_1`),
    attn: normal([C, 3 * C], 0.02, `h.${l}.attn.c_attn`),
    attnProj: normal([C, C], residualStd, `h.${l}.attn.c_proj`),
    ln2: ones(C, `h.${l}.ln_2`),
    fc: normal([C, 4 * C], 0.02, `h.${l}.mlp.c_fc`),
    mlpProj: normal([4 * C, C], residualStd, `h.${l}.mlp.c_proj`),
  }));
  const lnF = ones(C, "ln_f");
  const named = new Map<string, { variable: TF.Variable; transposed: boolean }>([
    ["wte.weight", { variable: wte, transposed: false }],
    ["wpe.weight", { variable: wpe, transposed: false }],
    ["ln_f.weight", { variable: lnF, transposed: false }],
  ]);
  blocks.forEach((b, l) => {
    const add = (name: string, variable: TF.Variable, transposed: boolean) =>
      named.set(`h.${l}.${name}`, { variable, transposed });
    add("ln_1.weight", b.ln1, false);
    add("attn.c_attn.weight", b.attn, true);
    add("attn.c_proj.weight", b.attnProj, true);
    add("ln_2.weight", b.ln2, false);
    add("mlp.c_fc.weight", b.fc, true);
    add("mlp.c_proj.weight", b.mlpProj, true);
  });
  const params = [wte, wpe, ...blocks.flatMap((b) => Object.values(b)), lnF];
  // qkv's configureOptimizerGroups: decay the Linear weights, not embeddings or LayerNorm gains.
  const decayed = new Set(blocks.flatMap((b) => [b.attn, b.attnProj, b.fc, b.mlpProj]));
  const paramCount = params.reduce((n, p) => n + p.size, 0);

  // Additive causal mask (T, T): 0 where key ≤ query, −1e9 above the diagonal.
  const mask = tf.tidy(() =>
    tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([blockSize, blockSize]), -1, 0)), -1e9),
  );
  const adam = tf.train.adam(1e-3, beta1, beta2, opt.eps ?? 1e-8);

  const layerNorm = (x: TF.Tensor, g: TF.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g);
  };
  const geluTanh = (x: TF.Tensor) => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(x, tf.mul(x, x)), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  };

  /** Mean cross-entropy, built inside the caller's tidy / gradient scope. */
  const forwardLoss = (x: Int32Array, y: Int32Array, B: number, T: number): TF.Scalar => {
    if (T > blockSize) throw new Error(`TfGpt: sequence of ${T} exceeds blockSize ${blockSize}`);
    const N = B * T;
    // Embedding as a one-hot product: tfjs-backend-wasm has no UnsortedSegmentSum, gather's gradient.
    const tok = tf.matMul(tf.oneHot(tf.tensor1d(x, "int32"), V), wte); // (N, C)
    let h = tf.add(tf.reshape(tok, [B, T, C]), tf.slice(wpe, [0, 0], [T, C])); // (B, T, C)
    const causal = tf.slice(mask, [0, 0], [T, T]);
    for (const b of blocks) {
      const a = tf.matMul(tf.reshape(layerNorm(h, b.ln1), [N, C]), b.attn); // (N, 3C)
      const heads = tf.transpose(tf.reshape(a, [B, T, 3, nh, hs]), [2, 0, 3, 1, 4]); // (3, B, nh, T, hs)
      const [q, k, v] = tf.unstack(heads, 0);
      const att = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)), causal)); // (B, nh, T, T)
      const o = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [N, C]); // (N, C)
      h = tf.add(h, tf.reshape(tf.matMul(o, b.attnProj), [B, T, C]));
      const f = geluTanh(tf.matMul(tf.reshape(layerNorm(h, b.ln2), [N, C]), b.fc)); // (N, 4C)
      h = tf.add(h, tf.reshape(tf.matMul(f, b.mlpProj), [B, T, C]));
    }
    const logits = tf.matMul(tf.reshape(layerNorm(h, lnF), [N, C]), wte, false, true); // (N, V)
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(y, "int32"), V), logp), -1)));
  };

  return {
    params,
    named,
    paramCount,
    loss: (x, y, B, T) => tf.tidy(() => forwardLoss(x, y, B, T).dataSync()[0]),
    step(x, y, B, T, lr) {
      return tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => forwardLoss(x, y, B, T), params);
        // Clip the global gradient norm to clipNorm, as qkv's clipGradNorm.
        const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
        const scale = tf.minimum(1, tf.div(clipNorm, tf.add(norm, 1e-6)));
        const clipped: Record<string, TF.Tensor> = {};
        for (const [name, g] of Object.entries(grads)) clipped[name] = tf.mul(g, scale);
        // AdamW's decoupled decay, p ← p·(1 − lr·wd), before the Adam update.
        for (const p of decayed) p.assign(tf.mul(p, 1 - lr * weightDecay));
        (adam as unknown as { learningRate: number }).learningRate = lr;
        // applyGradients takes gradients keyed by variable name; its type says variables.
        adam.applyGradients(clipped as unknown as Parameters<typeof adam.applyGradients>[0]);
        return value.dataSync()[0];
      });
    },
    loadWeights(weights) {
      const seen = new Set<string>();
      for (const [name, w] of weights) {
        const e = named.get(name);
        if (!e) throw new Error(`TfGpt.loadWeights: no variable for "${name}"`);
        tf.tidy(() => {
          const t = tf.tensor(Float32Array.from(w.toArray()), [...w.shape]);
          const value = e.transposed ? tf.transpose(t) : t;
          if (!tf.util.arraysEqual(value.shape, e.variable.shape))
            throw new Error(
              `TfGpt.loadWeights: "${name}" has shape ${w.shape}, expected (transposed: ${e.transposed}) ${e.variable.shape}`,
            );
          e.variable.assign(value);
        });
        seen.add(name);
      }
      const missing = [...named.keys()].filter((n) => !seen.has(n));
      if (missing.length) throw new Error(`TfGpt.loadWeights: missing ${missing.join(", ")}`);
    },
    dispose() {
      adam.dispose();
      mask.dispose();
      for (const p of params) p.dispose();
    },
  };
}
