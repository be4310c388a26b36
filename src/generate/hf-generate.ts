/**
 * Hugging Face's `generate` for encoder-decoders (transformers 5): the folder's
 * `generation_config.json` and call-time overrides resolved as HF resolves them (max/min lengths,
 * pad and decoder start ids), HF's logits processors (no_repeat_ngram_size, min_length,
 * min_new_tokens, forced_bos/eos), then greedy decoding through the one loop in generate.ts or
 * beam search through beam.ts in HF's mode. Output rows are HF's `sequences`: the decoder start
 * id, the tokens, EOS when reached, padded with pad_token_id. Sampling (do_sample) is not offered.
 */
import type { BartForConditionalGeneration } from "../models/bart.js";
import { narrow } from "../ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import { QkvError } from "../util/errors.js";
import { beamSearch } from "./beam.js";
import { generateBatch } from "./generate.js";
import { bartStepModel } from "./models.js";
import type { StepModel } from "./step.js";

/**
 * HF's GenerationConfig fields that qkv follows, camel-cased. `null` unsets a field (as passing
 * `forced_bos_token_id=None` to HF's generate does).
 * @example { numBeams: 4, lengthPenalty: 2, earlyStopping: true, noRepeatNgramSize: 3, maxLength: 60 }
 */
export interface GenerationSettings {
  maxLength?: number | null;
  maxNewTokens?: number | null;
  minLength?: number | null;
  minNewTokens?: number | null;
  numBeams?: number | null;
  numReturnSequences?: number | null;
  lengthPenalty?: number | null;
  earlyStopping?: boolean | "never" | null;
  noRepeatNgramSize?: number | null;
  forcedBosTokenId?: number | null;
  forcedEosTokenId?: number | readonly number[] | null;
  decoderStartTokenId?: number | null;
  bosTokenId?: number | null;
  eosTokenId?: number | readonly number[] | null;
  padTokenId?: number | null;
  doSample?: boolean | null;
}

const FIELDS: Record<string, keyof GenerationSettings> = {
  max_length: "maxLength",
  max_new_tokens: "maxNewTokens",
  min_length: "minLength",
  min_new_tokens: "minNewTokens",
  num_beams: "numBeams",
  num_return_sequences: "numReturnSequences",
  length_penalty: "lengthPenalty",
  early_stopping: "earlyStopping",
  no_repeat_ngram_size: "noRepeatNgramSize",
  forced_bos_token_id: "forcedBosTokenId",
  forced_eos_token_id: "forcedEosTokenId",
  decoder_start_token_id: "decoderStartTokenId",
  bos_token_id: "bosTokenId",
  eos_token_id: "eosTokenId",
  pad_token_id: "padTokenId",
  do_sample: "doSample",
};

/**
 * A `generation_config.json` (or the generation fields of a `config.json`, or HF keyword
 * arguments) in snake_case → {@link GenerationSettings}. Unknown fields are ignored.
 * @example generationSettingsFromHF({ num_beams: 4, early_stopping: true }) // { numBeams: 4, earlyStopping: true }
 */
export function generationSettingsFromHF(json: Record<string, unknown>): GenerationSettings {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    const name = FIELDS[k];
    if (name !== undefined && v !== undefined) out[name] = v;
  }
  return out as GenerationSettings;
}

/** The settings after HF's resolution: every length absolute (decoder start included). */
interface Resolved {
  maxLength: number;
  minLength: number;
  minNewTokens: number;
  numBeams: number;
  numReturnSequences: number;
  lengthPenalty: number;
  earlyStopping: boolean | "never";
  noRepeatNgramSize: number;
  forcedBos: number | null;
  forcedEos: number[];
  start: number;
  eos: number[];
  pad: number;
}

function ids(v: number | readonly number[] | null | undefined): number[] {
  return v === null || v === undefined ? [] : typeof v === "number" ? [v] : [...v];
}

function check(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min)
    throw new QkvError(`generate: ${name} must be an integer ≥ ${min}, got ${v}`, { field: name });
  return v;
}

/**
 * Merges the model's generation config with `overrides` and resolves lengths as HF's
 * `_prepare_generated_length` does for an encoder-decoder (decoder prompt of 1 id): max_new_tokens
 * wins over max_length; with neither set anywhere, max_length is 20 + 1 capped at
 * max_position_embeddings; min_new_tokens wins over min_length.
 */
function resolve(
  base: GenerationSettings,
  overrides: GenerationSettings,
  modelDefaults: { start: number; eos: number; pad: number; maxPositions: number },
): Resolved {
  const s: GenerationSettings = { ...base };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (s as Record<string, unknown>)[k] = v;
  if (s.doSample)
    throw new QkvError("generate: do_sample is not supported (greedy and beam search only)", {
      field: "do_sample",
    });
  const prompt = 1; // the decoder start id
  let maxLength: number;
  if (s.maxNewTokens != null) maxLength = check("max_new_tokens", s.maxNewTokens, 0) + prompt;
  else if (s.maxLength != null) maxLength = check("max_length", s.maxLength, 1);
  else maxLength = Math.min(20 + prompt, modelDefaults.maxPositions);
  let minLength = s.minLength ?? 0;
  if (s.minNewTokens != null) minLength = check("min_new_tokens", s.minNewTokens, 0) + prompt;
  const eos = s.eosTokenId === undefined ? [modelDefaults.eos] : ids(s.eosTokenId);
  const pad = s.padTokenId ?? (s.padTokenId === null ? (eos[0] ?? -1) : modelDefaults.pad);
  const numBeams = check("num_beams", s.numBeams ?? 1, 1);
  const numReturnSequences = check("num_return_sequences", s.numReturnSequences ?? 1, 1);
  if (numReturnSequences > numBeams)
    throw new QkvError(
      `generate: num_return_sequences ${numReturnSequences} must be ≤ num_beams ${numBeams}`,
      {
        field: "num_return_sequences",
      },
    );
  const es = s.earlyStopping ?? false;
  if (es !== true && es !== false && es !== "never")
    throw new QkvError(`generate: early_stopping must be true, false or "never", got ${JSON.stringify(es)}`, {
      field: "early_stopping",
    });
  return {
    maxLength,
    minLength,
    minNewTokens: s.minNewTokens ?? 0,
    numBeams,
    numReturnSequences,
    lengthPenalty: s.lengthPenalty ?? 1,
    earlyStopping: es,
    noRepeatNgramSize: s.noRepeatNgramSize ?? 0,
    forcedBos: s.forcedBosTokenId ?? null,
    forcedEos: ids(s.forcedEosTokenId),
    start: s.decoderStartTokenId ?? s.bosTokenId ?? modelDefaults.start,
    eos,
    pad,
  };
}

/**
 * HF's logits processors for these settings, in HF's order, as one in-place function over a
 * row of scores and its prefix (decoder start included): NoRepeatNGram, MinLength,
 * MinNewTokensLength, ForcedBOSToken, ForcedEOSToken.
 */
function processorsOf(
  r: Resolved,
): ((scores: Float32Array | Float64Array, prefix: readonly number[]) => void) | undefined {
  const n = r.noRepeatNgramSize;
  const any =
    n > 0 || r.minLength > 0 || r.minNewTokens > 0 || r.forcedBos !== null || r.forcedEos.length > 0;
  if (!any) return undefined;
  return (scores, prefix) => {
    const len = prefix.length;
    if (n > 0 && len + 1 >= n) {
      // Ban every token that would complete an n-gram already present in the prefix.
      const tail = prefix.slice(len - n + 1);
      for (let i = 0; i + n <= len; i++) {
        let same = true;
        for (let j = 0; j < n - 1 && same; j++) same = prefix[i + j] === tail[j];
        if (same) scores[prefix[i + n - 1]] = Number.NEGATIVE_INFINITY;
      }
    }
    if (len < r.minLength || len - 1 < r.minNewTokens)
      for (const e of r.eos) if (e >= 0 && e < scores.length) scores[e] = Number.NEGATIVE_INFINITY;
    const force = (ids: number[]) => {
      scores.fill(Number.NEGATIVE_INFINITY);
      for (const id of ids) scores[id] = 0;
    };
    if (r.forcedBos !== null && len === 1) force([r.forcedBos]);
    if (r.forcedEos.length > 0 && len === r.maxLength - 1) force(r.forcedEos);
  };
}

/**
 * Options of {@link bartGenerate}.
 * @example { attentionMask, numBeams: 4, maxNewTokens: 40 }
 */
export interface BartGenerateOptions extends GenerationSettings {
  /** (N, S) HF mask of `inputIds`: 1 = token, 0 = padding. */
  attentionMask?: Tensor | null;
  /** Replaces the model's own generation config (its folder's generation_config.json, else config.json). */
  generationConfig?: GenerationSettings;
}

/**
 * HF's `model.generate(input_ids, attention_mask=…, **kwargs)` for a BartForConditionalGeneration:
 * settings from the model's generation_config.json (kept by `fromPretrained`), then the options.
 * Returns HF's `sequences`: numReturnSequences rows per source, each starting with the decoder
 * start id, padded with pad_token_id to the longest row.
 * @example
 * const bart = await fromPretrained(BartForConditionalGeneration, "my-bart");
 * const [row] = bartGenerate(bart, tensor([[0, 31, 45, 2]], { dtype: "int32" }), { numBeams: 4 });
 * tok.decode(row);
 */
export function bartGenerate(
  model: BartForConditionalGeneration,
  inputIds: Tensor,
  opts: BartGenerateOptions = {},
): number[][] {
  const { attentionMask = null, generationConfig, ...overrides } = opts;
  const c = model.config;
  const base = generationConfig ?? generationSettingsFromHF(model.generationConfig ?? model.hfConfig ?? {});
  const r = resolve(base, overrides, {
    start: c.decoderStartTokenId ?? 2,
    eos: c.eosTokenId ?? 2,
    pad: c.padTokenId ?? 1,
    maxPositions: c.maxPositionEmbeddings,
  });
  if (inputIds.ndim !== 2)
    throw new QkvError(`generate: input_ids must be (N, S), got ${inputIds.ndim}-D`, { field: "input_ids" });
  const N = inputIds.shape[0];
  const process = processorsOf(r);
  const rows: number[][] = [];
  if (r.numBeams === 1) {
    const results = generateBatch(
      bartStepModel(model, inputIds, attentionMask),
      Array.from({ length: N }, () => [r.start]),
      {
        maxNewTokens: r.maxLength - 1,
        temperature: 0,
        eosId: r.eos,
        processLogits: process,
      },
    );
    for (const res of results)
      rows.push([r.start, ...res.ids, ...(res.finishReason === "eos" ? [res.eosId ?? r.eos[0]] : [])]);
  } else {
    for (let i = 0; i < N; i++) {
      const src = narrow(inputIds, 0, i, 1);
      const mask = attentionMask ? narrow(attentionMask, 0, i, 1) : null;
      const step: StepModel<unknown> = bartStepModel(model, src, mask) as StepModel<unknown>;
      const hyps = beamSearch(step, {
        beamSize: r.numBeams,
        maxLen: r.maxLength - 1,
        bos: r.start,
        eos: r.eos[0] ?? -1,
        moreEos: r.eos.slice(1),
        lengthPenalty: r.lengthPenalty,
        earlyStopping: r.earlyStopping,
        processLogProbs: process,
      });
      for (const h of hyps.slice(0, r.numReturnSequences))
        rows.push([r.start, ...h.ids, ...(h.finished ? [h.eosId ?? r.eos[0]] : [])]);
    }
  }
  const T = Math.max(...rows.map((row) => row.length));
  return rows.map((row) => [...row, ...Array<number>(T - row.length).fill(r.pad)]);
}
