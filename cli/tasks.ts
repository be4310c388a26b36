/**
 * Builds what `qkv train` needs for each model family: tokenizer, data, model, the training task
 * (from src/train/tasks.ts), checkpoint weights, and the sample or evaluation printed at the end.
 */
import {
  additionTask,
  BartForConditionalGeneration,
  BartTask,
  BertForMaskedLM,
  BertForSequenceClassification,
  bartPairs,
  type ClassifierBatch,
  collateClassifier,
  type EncodedTexts,
  encodeForClassifier,
  Generator,
  GPT,
  generate,
  gptStepModel,
  type LabelledText,
  LanguageModelTask,
  labelSet,
  MaskedLMTask,
  PairDataset,
  type Parameter,
  parseLabelledTsv,
  parseTsv,
  type RawTensor,
  reverseTask,
  Seq2SeqTask,
  Seq2SeqTransformer,
  SequenceClassificationTask,
  type Tensor,
  type TextPair,
  TokenDataset,
  type Tokenizer,
  type TrainConfig,
  type TrainTask,
  withNoGrad,
} from "../src/index.js";
import { fromRaw, loadTextSource, readJson, readPretrainedDir, savePretrained, toRaw } from "../src/node.js";
import { withoutPostProcessor } from "./checkpoint.js";
import { CliError, EXIT, exitCodeOf } from "./errors.js";

export interface BuildContext {
  /** A checkpoint to continue from (its tokenizer, config and weights), or null for a fresh run. */
  resume: { tokenizer: Tokenizer; config: Record<string, unknown>; weights: Map<string, RawTensor> } | null;
  /** `resume` is an --init-from folder (a new run starting from its weights), not --resume. */
  initFrom?: boolean;
  buildTokenizer: (cfg: TrainConfig, text: string, specials: string[]) => Tokenizer;
  cachedIds: (path: string, tok: Tokenizer) => Promise<ArrayLike<number>>;
  dataPath: string;
}

export interface BuiltTask {
  task: TrainTask;
  tokenizer: Tokenizer;
  describe: string;
  paramGroups: (weightDecay: number) => { params: Parameter[]; weightDecay: number }[];
  /** config.json of a checkpoint. */
  config: () => Record<string, unknown>;
  /** model.safetensors of a checkpoint. */
  weights: () => Map<string, RawTensor>;
  /** What to show at the end of training. */
  finish: (cfg: TrainConfig, write: (s: string) => void) => void;
  /** Rewrites a just-saved checkpoint folder's model files in the model's own HF layout (BART). */
  afterSave?: (dir: string) => Promise<void>;
}

/** Parameters split for AdamW: decay only matrices that are not embeddings (norms, biases, embeddings: none). */
export function decayGroups(
  named: [string, Parameter][],
  embeddingNames: (n: string) => boolean,
  weightDecay: number,
) {
  const decay: Parameter[] = [];
  const noDecay: Parameter[] = [];
  for (const [n, p] of named) (p.ndim >= 2 && !embeddingNames(n) ? decay : noDecay).push(p);
  return [
    { params: decay, weightDecay },
    { params: noDecay, weightDecay: 0 },
  ];
}

function stateWeights(model: { stateDict(): Record<string, Tensor> }): Map<string, RawTensor> {
  const m = new Map<string, RawTensor>();
  for (const [k, t] of Object.entries(model.stateDict())) m.set(k, toRaw(t));
  return m;
}

function loadStateWeights(
  model: { loadStateDict(sd: Record<string, Tensor>): unknown },
  weights: Map<string, RawTensor>,
): void {
  // No prototype: a tensor named "__proto__" must be stored as a key, not replace the prototype.
  const sd = Object.create(null) as Record<string, Tensor>;
  for (const [k, r] of weights) sd[k] = fromRaw(r);
  model.loadStateDict(sd);
}

export async function buildTask(cfg: TrainConfig, ctx: BuildContext): Promise<BuiltTask> {
  switch (cfg.model) {
    case "gpt":
      return buildGpt(cfg, ctx);
    case "bert":
      return cfg.task === "classify" ? buildBertClassifier(cfg, ctx) : buildBert(cfg, ctx);
    case "seq2seq":
      return buildSeq2Seq(cfg, ctx);
  }
}

// ---- GPT ------------------------------------------------------------------------------------------

async function buildGpt(cfg: TrainConfig, ctx: BuildContext): Promise<BuiltTask> {
  const text = await loadTextSource(ctx.dataPath);
  const tok = ctx.resume?.tokenizer ?? ctx.buildTokenizer(cfg, text, []);
  const dataset = TokenDataset.fromIds(await ctx.cachedIds(ctx.dataPath, tok), { vocabSize: tok.vocabSize });
  const model = ctx.resume
    ? GPT.fromHF(ctx.resume.config, ctx.resume.weights)
    : new GPT(
        {
          vocabSize: tok.vocabSize,
          blockSize: cfg.blockSize,
          nLayer: cfg.nLayer,
          nHead: cfg.nHead,
          nEmbd: cfg.nEmbd,
          dropout: cfg.dropout,
          bias: cfg.bias,
        },
        // PyTorch's generator: --seed N draws the initial weights and the batches that
        // torch.manual_seed(N) does (bench/torch_gpt.py), so a run compares one to one with PyTorch's.
        { generator: new Generator(cfg.seed, { algorithm: "mt19937" }) },
      );
  if (ctx.resume) {
    model.config.dropout = cfg.dropout;
    model.train();
  } else {
    // config.json's token ids come from the tokenizer saved beside it: GPT2Config's default
    // 50256 would name a token a small vocabulary does not have.
    const eos = tok.tokenToId("<|endoftext|>") ?? null;
    model.hfConfig = { bos_token_id: eos, eos_token_id: eos };
  }
  const task = new LanguageModelTask(model, dataset, {
    batchSize: cfg.batchSize,
    blockSize: cfg.blockSize,
    seed: cfg.seed,
    algorithm: "mt19937",
  });
  return {
    task,
    tokenizer: tok,
    describe: `GPT ${cfg.initFrom !== "" ? `fine-tuning from ${cfg.initFrom} ` : ""}(${cfg.nLayer} layers, ${cfg.nHead} heads, ${cfg.nEmbd} wide, context ${cfg.blockSize}) on ${ctx.dataPath}: ${dataset.train.length.toLocaleString("en-US")} train / ${dataset.val.length.toLocaleString("en-US")} val tokens, vocabulary ${tok.vocabSize} (${tok.type})`,
    // The model's own split (decay only Linear weights); `names` is dropped so it stays out of optimizer state.
    paramGroups: (wd) =>
      model.configureOptimizerGroups(wd).map(({ params, weightDecay }) => ({ params, weightDecay })),
    config: () => model.toHF().config,
    weights: () => model.toHF().tensors,
    finish: (c, write) => {
      model.eval();
      write("\n--- sample ---\n");
      generate(gptStepModel(model), tok.encode("\n"), {
        maxNewTokens: c.sampleTokens,
        temperature: c.temperature,
        topK: c.topK > 0 ? c.topK : undefined,
        generator: new Generator(c.seed),
        decode: (ids) => tok.decode(ids),
        onText: write,
      });
      write("\n");
    },
  };
}

// ---- BERT (masked-LM pretraining) -------------------------------------------------------------------

const BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

async function buildBert(cfg: TrainConfig, ctx: BuildContext): Promise<BuiltTask> {
  const text = await loadTextSource(ctx.dataPath);
  const tok = ctx.resume?.tokenizer ?? ctx.buildTokenizer(cfg, text, BERT_SPECIALS);
  const specialIds = BERT_SPECIALS.map((s) => tok.tokenToId(s)).filter(
    (id): id is number => id !== undefined && id !== null,
  );
  const maskId = tok.tokenToId("[MASK]");
  if (maskId === undefined || maskId === null) throw new CliError("the tokenizer has no [MASK] token");
  const dataset = TokenDataset.fromIds(await ctx.cachedIds(ctx.dataPath, tok), { vocabSize: tok.vocabSize });
  const config = {
    vocabSize: tok.vocabSize,
    hiddenSize: cfg.nEmbd,
    numHiddenLayers: cfg.nLayer,
    numAttentionHeads: cfg.nHead,
    intermediateSize: 4 * cfg.nEmbd,
    hiddenAct: "gelu" as const,
    hiddenDropoutProb: cfg.dropout,
    attentionProbsDropoutProb: cfg.dropout,
    maxPositionEmbeddings: cfg.blockSize,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
  };
  let model: BertForMaskedLM;
  try {
    model = ctx.resume
      ? BertForMaskedLM.fromHF(ctx.resume.config, ctx.resume.weights)
      : new BertForMaskedLM(config, { generator: new Generator(cfg.seed) });
    // BertConfig's default pad_token_id is 0; the tokenizer trained here puts [PAD] elsewhere.
    if (!ctx.resume) model.hfConfig = { pad_token_id: tok.tokenToId("[PAD]") ?? null };
  } catch (e) {
    // e.g. --init-from a classifier folder, which has no masked-LM head to continue
    throw new CliError(
      `${ctx.initFrom ? "--init-from" : "--resume"}: ${(e as Error).message}`,
      exitCodeOf(e),
    );
  }
  const task = new MaskedLMTask(model, dataset, {
    batchSize: cfg.batchSize,
    blockSize: cfg.blockSize,
    seed: cfg.seed,
    maskId,
    specialIds,
    metricBatches: Math.min(cfg.evalIters, 50),
  });
  return {
    task,
    tokenizer: tok,
    describe: `BERT masked-LM ${ctx.initFrom ? `continuing from ${cfg.initFrom} ` : ""}(${cfg.nLayer} layers, ${cfg.nHead} heads, ${cfg.nEmbd} wide, context ${cfg.blockSize}) on ${ctx.dataPath}, vocabulary ${tok.vocabSize}`,
    paramGroups: (wd) => decayGroups(model.namedParameters(), (n) => n.includes("embeddings"), wd),
    config: () => model.toHF().config,
    weights: () => model.toHF().tensors,
    finish: (_c, write) => {
      model.eval();
      const m = withNoGrad(() => task.evalMetrics());
      write(
        `masked-token accuracy on held-out text: ${(100 * m.maskedAccuracy).toFixed(1)}% (always predicting the most frequent token: ${(100 * m.frequencyBaseline).toFixed(1)}%)\n`,
      );
    },
  };
}

// ---- BERT (sequence classification) ---------------------------------------------------------------

async function readLabelled(path: string, flag: string): Promise<LabelledText[]> {
  let text: string;
  try {
    text = await loadTextSource(path);
  } catch (e) {
    throw new CliError(`${flag}: ${(e as Error).message}`, exitCodeOf(e));
  }
  let rows: LabelledText[];
  try {
    rows = parseLabelledTsv(text, path);
  } catch (e) {
    throw new CliError(`${flag}: ${(e as Error).message}`, EXIT.badInput);
  }
  if (rows.length === 0) throw new CliError(`${flag}: ${path} has no text<TAB>label rows`, EXIT.badInput);
  return rows;
}

/** The labels of a classifier's config.json, by class id (id2label), or null when it has none. */
export function labelsOf(config: Record<string, unknown>): string[] | null {
  const m = config.id2label;
  if (!m || typeof m !== "object" || Array.isArray(m)) return null;
  const entries = Object.entries(m as Record<string, unknown>);
  const out: string[] = [];
  for (const [k, v] of entries) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || typeof v !== "string") return null;
    out[i] = v;
  }
  return out.length === entries.length ? out : null;
}

/** The [CLS], [SEP] and [PAD] ids a classifier's inputs need, or an error naming the missing token. */
export function classifierSpecials(
  tok: Tokenizer,
  where: string,
): { clsId: number; sepId: number; padId: number } {
  const id = (t: string): number => {
    const v = tok.tokenToId(t);
    if (v === undefined || v === null)
      throw new CliError(
        `${where}: the tokenizer has no ${t} token, which BERT classification needs`,
        EXIT.badInput,
      );
    return v;
  };
  return { clsId: id("[CLS]"), sepId: id("[SEP]"), padId: id("[PAD]") };
}

/**
 * Fine-tunes (or trains from scratch) a BertForSequenceClassification on a `text<TAB>label` TSV:
 * the encoder from --init-from (or a fresh seeded one), a fresh seeded classifier head unless the
 * folder already classifies into exactly these labels.
 */
async function buildBertClassifier(cfg: TrainConfig, ctx: BuildContext): Promise<BuiltTask> {
  if (cfg.data === "")
    throw new CliError("--data: --task classify needs a TSV file of text<TAB>label lines", EXIT.usage);
  const all = await readLabelled(cfg.data, "--data");
  let trainRows = all;
  let valRows: LabelledText[];
  let valSource: string;
  if (cfg.valData !== "") {
    valRows = await readLabelled(cfg.valData, "--val-data");
    valSource = cfg.valData;
  } else {
    if (all.length < 2)
      throw new CliError(
        `--data: ${cfg.data} has ${all.length} row; holding out validation rows needs 2 or more`,
        EXIT.badInput,
      );
    // A seeded 10% of the rows held out (at least one): a Fisher–Yates shuffle of the row order.
    const order = all.map((_, i) => i);
    const g = new Generator(cfg.seed + 7);
    for (let i = order.length - 1; i > 0; i--) {
      const j = g.randint(0, i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const nVal = Math.max(1, Math.round(all.length * 0.1));
    const held = new Set(order.slice(0, nVal));
    valRows = all.filter((_, i) => held.has(i));
    trainRows = all.filter((_, i) => !held.has(i));
    valSource = `${nVal} rows held out of ${cfg.data}`;
  }
  // Labels: on --resume the checkpoint's own; else every label of --data, sorted.
  const saved = ctx.resume ? labelsOf(ctx.resume.config) : null;
  const resuming = ctx.resume !== null && !ctx.initFrom;
  if (resuming && !saved)
    throw new CliError(
      "--resume: the checkpoint's config.json has no id2label; it is not a classifier",
      EXIT.badInput,
    );
  const labels = resuming ? (saved as string[]) : labelSet(all);
  const labelId = new Map(labels.map((l, i) => [l, i]));
  for (const [rows, flag, file] of [
    [trainRows, "--data", cfg.data],
    [valRows, "--val-data", cfg.valData],
  ] as const) {
    for (const r of rows)
      if (!labelId.has(r.label as string))
        throw new CliError(
          `${flag}: ${file} line ${r.line}: label ${JSON.stringify(r.label)} is not one of ${resuming ? "the checkpoint's labels" : `the labels of ${cfg.data}`} (${labels.join(", ")})`,
          EXIT.badInput,
        );
  }
  if (labels.length < 2)
    throw new CliError(
      `--data: ${cfg.data} has one label (${labels[0]}); classification needs 2 or more`,
      EXIT.badInput,
    );

  const tok =
    ctx.resume?.tokenizer ?? ctx.buildTokenizer(cfg, all.map((r) => r.text).join("\n"), BERT_SPECIALS);
  const specials = classifierSpecials(
    tok,
    ctx.resume ? (ctx.initFrom ? "--init-from" : "--resume") : "--data",
  );
  const id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
  const label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
  const head = { id2label, label2id, num_labels: labels.length };
  let model: BertForSequenceClassification;
  if (ctx.resume) {
    // A folder that already classifies into exactly these labels keeps its head; any other
    // (a masked-LM folder, other labels) gets a fresh one, drawn from the seeded default generator.
    const keepHead = saved !== null && saved.join("\u0000") === labels.join("\u0000");
    const weights = new Map(
      [...ctx.resume.weights].filter(([k]) => keepHead || !k.startsWith("classifier.")),
    );
    try {
      model = BertForSequenceClassification.fromHF({ ...ctx.resume.config, ...head }, weights, {
        numLabels: labels.length,
        warn: () => {},
      });
    } catch (e) {
      throw new CliError(
        `${ctx.initFrom ? "--init-from" : "--resume"}: ${(e as Error).message}`,
        exitCodeOf(e),
      );
    }
  } else {
    model = new BertForSequenceClassification(
      {
        vocabSize: tok.vocabSize,
        hiddenSize: cfg.nEmbd,
        numHiddenLayers: cfg.nLayer,
        numAttentionHeads: cfg.nHead,
        intermediateSize: 4 * cfg.nEmbd,
        hiddenAct: "gelu",
        hiddenDropoutProb: cfg.dropout,
        attentionProbsDropoutProb: cfg.dropout,
        maxPositionEmbeddings: cfg.blockSize,
        typeVocabSize: 2,
        layerNormEps: 1e-12,
      },
      { numLabels: labels.length, generator: new Generator(cfg.seed) },
    );
    model.hfConfig = { ...head, pad_token_id: specials.padId };
  }
  const maxLen = Math.min(cfg.blockSize, model.config.maxPositionEmbeddings);
  const encode = (rows: LabelledText[]): EncodedTexts => ({
    ids: rows.map((r) => encodeForClassifier(tok, r.text, { ...specials, maxLen })),
    labels: rows.map((r) => labelId.get(r.label as string) as number),
  });
  const train = encode(trainRows);
  const val = encode(valRows);
  const task = new SequenceClassificationTask(model, train, val, {
    batchSize: cfg.batchSize,
    seed: cfg.seed,
    padId: specials.padId,
  });
  const c = model.config;
  return {
    task,
    tokenizer: tok,
    describe: `BERT sequence classification ${ctx.initFrom ? `from ${cfg.initFrom} ` : ""}(${c.numHiddenLayers} layers, ${c.numAttentionHeads} heads, ${c.hiddenSize} wide, texts cut to ${maxLen} tokens) on ${cfg.data}: ${train.ids.length} train / ${val.ids.length} validation rows (${valSource === cfg.valData ? cfg.valData : valSource}), ${labels.length} labels (${labels.join(", ")})`,
    paramGroups: (wd) => decayGroups(model.namedParameters(), (n) => n.includes("embeddings"), wd),
    config: () => model.toHF().config,
    weights: () => model.toHF().tensors,
    finish: (_c, write) => {
      model.eval();
      const m = withNoGrad(() => task.evalMetrics());
      write(
        `validation accuracy: ${(100 * m.accuracy).toFixed(1)}%, macro-F1: ${m.macroF1.toFixed(4)} on ${val.ids.length} rows (majority-class baseline: ${(100 * m.majorityBaseline).toFixed(1)}%)\n`,
      );
    },
  };
}

/** Padded batches of at most `size` rows, in order. */
export function classifierBatches(
  ids: number[][],
  labels: number[] | null,
  size: number,
  padId: number,
): ClassifierBatch[] {
  const out: ClassifierBatch[] = [];
  for (let s = 0; s < ids.length; s += size)
    out.push(collateClassifier(ids.slice(s, s + size), labels ? labels.slice(s, s + size) : null, padId));
  return out;
}

// ---- Encoder-decoder -------------------------------------------------------------------------------

const S2S_SPECIALS = ["<pad>", "<bos>", "<eos>"];

function seq2seqPairs(
  data: string,
  seed: number,
): { train: TextPair[]; val: TextPair[]; source: string } | null {
  if (data === "reverse" || data === "") {
    const all = reverseTask({ numSymbols: 10, minLen: 1, maxLen: 12, count: 60000, seed });
    return { ...splitPairs(all), source: "built-in task: reverse strings of up to 12 symbols" };
  }
  if (data === "addition") {
    const all = additionTask({ maxDigits: 3, count: 60000, seed });
    return { ...splitPairs(all), source: "built-in task: add two numbers of up to 3 digits" };
  }
  return null;
}

/** 95/5 split with no held-out pair that also appears in training. */
function splitPairs(all: TextPair[]): { train: TextPair[]; val: TextPair[] } {
  const cut = Math.floor(all.length * 0.95);
  const train = all.slice(0, cut);
  const seen = new Set(train.map((p) => `${p.source}\t${p.target}`));
  const val = all.slice(cut).filter((p) => !seen.has(`${p.source}\t${p.target}`));
  return { train, val };
}

async function buildSeq2Seq(cfg: TrainConfig, ctx: BuildContext): Promise<BuiltTask> {
  let pairs = seq2seqPairs(cfg.data, cfg.seed);
  if (!pairs) {
    const text = await loadTextSource(cfg.data);
    const all = parseTsv(text, cfg.data);
    pairs = { ...splitPairs(all), source: cfg.data };
  }
  if (cfg.initFrom !== "") return buildBart(cfg, ctx, pairs);
  const allText = [...pairs.train, ...pairs.val].map((p) => `${p.source}${p.target}`).join("");
  const tok = ctx.resume?.tokenizer ?? ctx.buildTokenizer(cfg, allText, S2S_SPECIALS);
  const [padId, bosId, eosId] = S2S_SPECIALS.map((s) => tok.tokenToId(s)) as number[];
  const collateOpts = { padId, bosId, eosId };
  const train = PairDataset.fromPairs(pairs.train, tok);
  const val = PairDataset.fromPairs(pairs.val, tok);
  const maxLen =
    Math.max(...[...train.pairs, ...val.pairs].map((p) => Math.max(p.source.length, p.target.length))) + 2;
  const config = {
    srcVocabSize: tok.vocabSize,
    tgtVocabSize: tok.vocabSize,
    dModel: cfg.nEmbd,
    nhead: cfg.nHead,
    numEncoderLayers: cfg.nLayer,
    numDecoderLayers: cfg.nLayer,
    dimFeedforward: 4 * cfg.nEmbd,
    dropout: cfg.dropout,
    maxLen: Math.max(maxLen, cfg.blockSize),
  };
  const model = new Seq2SeqTransformer({ ...config, generator: new Generator(cfg.seed) });
  if (ctx.resume) loadStateWeights(model, ctx.resume.weights);
  const task = new Seq2SeqTask(model, train, val, {
    batchSize: cfg.batchSize,
    seed: cfg.seed,
    maxLen,
    ...collateOpts,
  });
  return {
    task,
    tokenizer: tok,
    describe: `encoder-decoder (${cfg.nLayer}+${cfg.nLayer} layers, ${cfg.nHead} heads, ${cfg.nEmbd} wide) on ${pairs.source}: ${train.length} train / ${val.length} held-out pairs`,
    paramGroups: (wd) => decayGroups(model.namedParameters(), (n) => n.includes("tok_emb"), wd),
    config: () => ({ model_type: "qkv-seq2seq", ...config, maxLen: config.maxLen, padId, bosId, eosId }),
    weights: () => stateWeights(model),
    finish: (_c, write) => {
      model.eval();
      const em = task.exactMatch(val.length);
      write(`greedy exact match on ${val.length} held-out pairs: ${(100 * em).toFixed(2)}%\n`);
      const out = task.decode([0, 1, 2]);
      out.forEach((ids, i) => {
        write(`  ${pairs.val[i].source} → ${tok.decode(ids)}\n`);
      });
    },
  };
}

// ---- BART fine-tuning -------------------------------------------------------------------------------

/** The folder's tokenizer.json for BartTask, which adds <s> and </s> itself (see withoutPostProcessor). */
function bartTokenizer(json: Record<string, unknown>, where: string): Tokenizer {
  try {
    return withoutPostProcessor(json);
  } catch (e) {
    throw new CliError(`--init-from: ${where}: ${(e as Error).message}`);
  }
}

async function buildBart(
  cfg: TrainConfig,
  ctx: BuildContext,
  pairs: { train: TextPair[]; val: TextPair[]; source: string },
): Promise<BuiltTask> {
  if (ctx.resume) throw new CliError("--resume: resuming a BART fine-tuning run is not supported yet", 2);
  const dir = cfg.initFrom;
  let ck: Awaited<ReturnType<typeof readPretrainedDir>>;
  try {
    ck = await readPretrainedDir(dir);
  } catch (e) {
    throw new CliError(`--init-from: ${(e as Error).message}`);
  }
  if (ck.config.model_type !== "bart")
    throw new CliError(
      `--init-from: ${dir} holds model_type ${JSON.stringify(ck.config.model_type)}; only "bart" folders are supported`,
    );
  const model = BartForConditionalGeneration.fromHF(ck.config, ck.tensors, {
    generationConfig: ck.generationConfig,
  });
  model.config.dropout = cfg.dropout > 0 ? cfg.dropout : (model.config.dropout ?? 0.1);
  const tokPath = `${dir}/tokenizer.json`;
  const tok = bartTokenizer(await readJson<Record<string, unknown>>(tokPath, "tokenizer"), tokPath);
  const c = model.config;
  const ids = { bosId: c.bosTokenId ?? 0, eosId: c.eosTokenId ?? 2 };
  const train = new PairDataset(bartPairs(PairDataset.fromPairs(pairs.train, tok).pairs, ids));
  const val = new PairDataset(bartPairs(PairDataset.fromPairs(pairs.val, tok).pairs, ids));
  const longest = Math.max(
    ...[...train.pairs, ...val.pairs].map((p) => Math.max(p.source.length, p.target.length + 1)),
  );
  if (longest > c.maxPositionEmbeddings)
    throw new CliError(
      `--data: a pair has ${longest} tokens, more than the model's max_position_embeddings ${c.maxPositionEmbeddings}`,
    );
  const maxLen = Math.min(c.maxPositionEmbeddings, longest + 2);
  const task = new BartTask(model, train, val, {
    batchSize: cfg.batchSize,
    seed: cfg.seed,
    maxLen,
    padId: c.padTokenId ?? 1,
    ...ids,
    decoderStartId: c.decoderStartTokenId ?? 2,
  });
  model.train();
  const names = (n: string) => n.includes("embed") || n.includes("shared");
  return {
    task,
    tokenizer: tok,
    describe: `BART fine-tuning from ${dir} (${c.encoderLayers}+${c.decoderLayers} layers, d_model ${c.dModel}) on ${pairs.source}: ${train.length} train / ${val.length} held-out pairs`,
    paramGroups: (wd) => decayGroups(model.namedParameters(), names, wd),
    config: () => model.toHF().config,
    weights: () => model.toHF().tensors,
    afterSave: (out) => savePretrained(model, out),
    finish: (_c, write) => {
      model.eval();
      const em = task.exactMatch(val.length);
      write(`greedy exact match on ${val.length} held-out pairs: ${(100 * em).toFixed(2)}%\n`);
      const shown = Math.min(3, val.length);
      const out = task.decode(Array.from({ length: shown }, (_, i) => i));
      out.forEach((row, i) => {
        write(`  ${pairs.val[i].source} → ${tok.decode(row)}\n`);
      });
    },
  };
}
