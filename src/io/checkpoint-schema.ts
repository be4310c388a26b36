/**
 * Schemas of the files in a qkv checkpoint folder (trainer_state.json, optimizer.json and its
 * tensors, config.json checked against the weights' shapes), applied before anything is built
 * from them. Browser-safe; node-checkpoint.ts and the CLI call these, and so can fuzz targets.
 */

import { Tensor } from "../tensor/tensor.js";
import { showValue } from "../util/json.js";
import { type Schema, SchemaError, s, validateJson } from "./schema.js";

/** A 32-bit generator word: xoshiro's state is kept as int32 (negative words), mt19937's as uint32. */
const u32 = s.int(-(2 ** 31), 0xffffffff);
/** A Box–Muller spare normal: any finite number, or null. */
const spare = s.nullable(s.num());

/** util/rng's GeneratorState: xoshiro128** ({ s: 4 words }) or PyTorch's mt19937 (624 words). */
export const generatorStateSchema: Schema<unknown> = s.variant<unknown>(
  [
    {
      when: (v) => (v as { algorithm?: unknown } | null)?.algorithm !== undefined,
      schema: s.object(
        { algorithm: s.oneOf("mt19937"), mt: s.array(u32, 624, 624), index: s.int(0, 624) },
        { optional: { spare } },
      ),
    },
  ],
  s.object({ s: s.array(u32, 4, 4) }, { optional: { spare } }),
);

/** The `task` part of trainer_state.json for each model family (see src/train/tasks.ts). */
const TASK_STATE: Record<string, Schema<unknown>> = {
  gpt: s.object({ generator: generatorStateSchema }),
  // Masked-LM (sampler + masking generators) or sequence classification (one batch generator).
  bert: s.object(
    {},
    {
      optional: {
        sampler: s.object({ generator: generatorStateSchema }),
        masking: generatorStateSchema,
        generator: generatorStateSchema,
      },
    },
  ),
  seq2seq: s.object({ generator: generatorStateSchema }),
};

/** Iterations beyond this are refused everywhere (flags, train_config.json, trainer_state.json). */
export const MAX_ITERS = 1_000_000_000;

/**
 * Validates a restored trainer_state.json (non-finite numbers already untagged) for a model
 * family; `bestValLoss` may be +Infinity (no evaluation yet), never NaN. `rng` and `task` (what
 * `--resume` needs) may be absent from a checkpoint written for sampling (`pretrainedFiles`).
 * @example checkTrainerState(state, "gpt", "runs/a/last/trainer_state.json").iter
 */
export function checkTrainerState(
  value: unknown,
  model: string,
  file: string,
): { iter: number; bestValLoss: number; rng?: unknown; task?: unknown; elapsedMs: number } {
  const task = TASK_STATE[model];
  if (!task) throw new SchemaError(`${file}: unknown model family ${JSON.stringify(model)}`, { file });
  return validateJson(
    s.object(
      {
        iter: s.int(0, MAX_ITERS),
        bestValLoss: s.num(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, { finite: false }),
        elapsedMs: s.num(0),
      },
      { optional: { rng: generatorStateSchema, task } },
    ),
    value,
    file,
  );
}

/** A tensor restored from optimizer.safetensors. */
const tensorSchema: Schema<Tensor> = {
  expect: 'a tensor (a {"$tensor": key} entry of optimizer.safetensors)',
  check: (v, at) => {
    if (!(v instanceof Tensor))
      throw new SchemaError(`${at.file}: field "${at.path}" must be a tensor, got ${showValue(v)}`, {
        file: at.file,
        field: at.path,
      });
    return v;
  },
};

const adamGroup = s.object({
  lr: s.num(0),
  betas: s.array(s.num(0, 1), 2, 2),
  eps: s.num(0),
  weightDecay: s.num(0),
  amsgrad: s.bool(),
  maximize: s.bool(),
  params: s.array(s.int(0, 1 << 30)),
});

const adamParamState = s.object(
  { step: s.int(1, MAX_ITERS), expAvg: tensorSchema, expAvgSq: tensorSchema },
  { optional: { maxExpAvgSq: tensorSchema } },
);

/**
 * Validates an AdamW optimizer state (optimizer.json with its tensors restored) against the
 * optimizer's parameter layout: group count and sizes, parameter ids, and each state tensor's
 * shape equal to its parameter's, with finite values.
 * @example checkAdamState(sd, optimizer.paramGroups.map((g) => g.params.map((p) => p.shape)), file)
 */
export function checkAdamState(value: unknown, groups: (readonly number[])[][], file: string): void {
  const sd = validateJson(
    s.object({
      state: s.record(adamParamState, { key: /^(0|[1-9]\d{0,8})$/, keyExpect: "a parameter index" }),
      paramGroups: s.array(adamGroup, groups.length, groups.length),
    }),
    value,
    file,
  );
  const shapeOf = new Map<number, readonly number[]>();
  sd.paramGroups.forEach((g, gi) => {
    if (g.params.length !== groups[gi].length)
      throw new SchemaError(
        `${file}: field "paramGroups[${gi}].params" lists ${g.params.length} parameters; the model's group ${gi} has ${groups[gi].length}`,
        { file, field: `paramGroups[${gi}].params` },
      );
    g.params.forEach((id, j) => {
      if (shapeOf.has(id))
        throw new SchemaError(`${file}: parameter id ${id} is listed twice`, {
          file,
          field: `paramGroups[${gi}].params[${j}]`,
        });
      shapeOf.set(id, groups[gi][j]);
    });
  });
  for (const [key, st] of Object.entries(sd.state)) {
    const shape = shapeOf.get(Number(key));
    if (!shape)
      throw new SchemaError(`${file}: field "state.${key}" is for a parameter no group lists`, {
        file,
        field: `state.${key}`,
      });
    for (const k of ["expAvg", "expAvgSq", "maxExpAvgSq"] as const) {
      const t = st[k];
      if (!t) continue;
      const field = `state.${key}.${k}`;
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
        throw new SchemaError(
          `${file}: field "${field}" has shape [${t.shape.join(", ")}], its parameter has [${shape.join(", ")}]`,
          { file, field },
        );
      const data = t.toArray() as ArrayLike<number>;
      for (let i = 0; i < data.length; i++)
        if (!Number.isFinite(data[i]))
          throw new SchemaError(`${file}: field "${field}" holds a non-finite value at index ${i}`, {
            file,
            field,
          });
    }
  }
}

/** A tensor's shape, as far as these checks need it (a RawTensor or a header entry). */
export interface Shaped {
  shape: readonly number[];
}

/** Largest model dimension accepted from a config.json before it is compared with the weights. */
const DIM = 1 << 24;

function shapeCheck(
  file: string,
  weights: ReadonlyMap<string, Shaped>,
  name: string,
  want: (number | null)[],
  fields: string[],
): void {
  const t = weights.get(name);
  if (!t) return; // a missing tensor is the weight loader's "missing tensor(s)" error
  const ok = t.shape.length === want.length && want.every((d, i) => d === null || d === t.shape[i]);
  if (!ok)
    throw new SchemaError(
      `${file}: ${fields.map((f) => `"${f}"`).join(", ")} disagree${fields.length === 1 ? "s" : ""} with the weights: tensor ${name} has shape [${t.shape.join(", ")}], the config implies [${want.map((d) => d ?? "·").join(", ")}]`,
      { file, field: fields[0] },
    );
}

function countLayers(weights: ReadonlyMap<string, Shaped>, re: RegExp): number {
  let n = 0;
  for (const k of weights.keys()) {
    const m = re.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/**
 * Checks a GPT-2 config.json's sizes (type and range, then against the weights' shapes) before
 * any model is built, so a bad `n_positions` or `n_layer` is named instead of allocating for it.
 * `prefix` is "transformer." for HF checkpoints.
 * @example checkGpt2ConfigAgainstWeights(config, header.entries, "ckpt/config.json")
 */
export function checkGpt2ConfigAgainstWeights(
  config: unknown,
  weights: ReadonlyMap<string, Shaped>,
  file: string,
): void {
  const c = validateJson(
    s.object(
      {},
      {
        extra: "allow",
        optional: {
          vocab_size: s.int(1, DIM),
          n_positions: s.int(1, DIM),
          n_ctx: s.int(1, DIM),
          n_embd: s.int(1, 1 << 16),
          n_layer: s.int(1, 4096),
          n_head: s.int(1, 4096),
          n_inner: s.nullable(s.int(1, 1 << 20)),
          layer_norm_epsilon: s.num(0, 1),
          resid_pdrop: s.num(0, 1),
        },
      },
    ),
    config,
    file,
  );
  const prefix = [...weights.keys()].some((k) => k.startsWith("transformer.")) ? "transformer." : "";
  const C = c.n_embd ?? null;
  const T = c.n_positions ?? c.n_ctx ?? null;
  if (c.n_inner != null && C !== null && c.n_inner !== 4 * C)
    throw new SchemaError(
      `${file}: field "n_inner" must be null or 4·n_embd = ${4 * C} (qkv's GPT MLP), got ${c.n_inner}`,
      { file, field: "n_inner" },
    );
  shapeCheck(file, weights, `${prefix}wte.weight`, [c.vocab_size ?? null, C], ["vocab_size", "n_embd"]);
  shapeCheck(
    file,
    weights,
    `${prefix}wpe.weight`,
    [T, C],
    [c.n_positions !== undefined ? "n_positions" : "n_ctx", "n_embd"],
  );
  const layers = countLayers(weights, new RegExp(`^${prefix.replace(".", "\\.")}h\\.(\\d+)\\.`));
  if (c.n_layer !== undefined && layers > 0 && layers !== c.n_layer)
    throw new SchemaError(`${file}: field "n_layer" is ${c.n_layer}, but the weights hold ${layers} layers`, {
      file,
      field: "n_layer",
    });
  if (c.n_layer !== undefined && layers === 0 && weights.size > 0)
    throw new SchemaError(`${file}: field "n_layer" is ${c.n_layer}, but the weights hold no layers`, {
      file,
      field: "n_layer",
    });
  if (C !== null && c.n_head !== undefined && C % c.n_head !== 0)
    throw new SchemaError(`${file}: field "n_head" (${c.n_head}) must divide n_embd (${C})`, {
      file,
      field: "n_head",
    });
  shapeCheck(file, weights, `${prefix}h.0.mlp.c_fc.weight`, [C, C === null ? null : 4 * C], ["n_embd"]);
}

/**
 * The BERT counterpart of {@link checkGpt2ConfigAgainstWeights} (prefix "bert." as HF writes it).
 * @example checkBertConfigAgainstWeights(config, weights, "ckpt/config.json")
 */
export function checkBertConfigAgainstWeights(
  config: unknown,
  weights: ReadonlyMap<string, Shaped>,
  file: string,
): void {
  const c = validateJson(
    s.object(
      {},
      {
        extra: "allow",
        optional: {
          vocab_size: s.int(1, DIM),
          hidden_size: s.int(1, 1 << 16),
          num_hidden_layers: s.int(1, 4096),
          num_attention_heads: s.int(1, 4096),
          intermediate_size: s.int(1, 1 << 20),
          max_position_embeddings: s.int(1, DIM),
          type_vocab_size: s.int(1, 1 << 16),
          layer_norm_eps: s.num(0, 1),
          hidden_dropout_prob: s.num(0, 1),
          attention_probs_dropout_prob: s.num(0, 1),
        },
      },
    ),
    config,
    file,
  );
  const p = [...weights.keys()].some((k) => k.startsWith("bert.")) ? "bert." : "";
  const H = c.hidden_size ?? null;
  shapeCheck(
    file,
    weights,
    `${p}embeddings.word_embeddings.weight`,
    [c.vocab_size ?? null, H],
    ["vocab_size", "hidden_size"],
  );
  shapeCheck(
    file,
    weights,
    `${p}embeddings.position_embeddings.weight`,
    [c.max_position_embeddings ?? null, H],
    ["max_position_embeddings", "hidden_size"],
  );
  shapeCheck(
    file,
    weights,
    `${p}embeddings.token_type_embeddings.weight`,
    [c.type_vocab_size ?? null, H],
    ["type_vocab_size", "hidden_size"],
  );
  shapeCheck(
    file,
    weights,
    `${p}encoder.layer.0.intermediate.dense.weight`,
    [c.intermediate_size ?? null, H],
    ["intermediate_size", "hidden_size"],
  );
  const layers = countLayers(weights, new RegExp(`^${p.replace(".", "\\.")}encoder\\.layer\\.(\\d+)\\.`));
  if (c.num_hidden_layers !== undefined && layers !== c.num_hidden_layers && weights.size > 0)
    throw new SchemaError(
      `${file}: field "num_hidden_layers" is ${c.num_hidden_layers}, but the weights hold ${layers} layers`,
      { file, field: "num_hidden_layers" },
    );
  if (H !== null && c.num_attention_heads !== undefined && H % c.num_attention_heads !== 0)
    throw new SchemaError(
      `${file}: field "num_attention_heads" (${c.num_attention_heads}) must divide hidden_size (${H})`,
      { file, field: "num_attention_heads" },
    );
}
