/**
 * Builds what `qkv train` needs for each model family: tokenizer, data, model, the training task
 * (from src/train/tasks.ts), checkpoint weights, and the sample or evaluation printed at the end.
 */
import {
  additionTask,
  BartForConditionalGeneration,
  BartTask,
  BertForMaskedLM,
  bartPairs,
  Generator,
  GPT,
  generate,
  gptStepModel,
  LanguageModelTask,
  loadTokenizer,
  MaskedLMTask,
  PairDataset,
  type Parameter,
  parseTsv,
  type RawTensor,
  reverseTask,
  Seq2SeqTask,
  Seq2SeqTransformer,
  type Tensor,
  type TextPair,
  TokenDataset,
  type Tokenizer,
  type TrainConfig,
  type TrainTask,
  withNoGrad,
} from "../src/index.js";
import { fromRaw, loadTextSource, readJson, readPretrainedDir, savePretrained, toRaw } from "../src/node.js";
import { CliError } from "./errors.js";

export interface BuildContext {
  /** A checkpoint to continue from (its tokenizer, config and weights), or null for a fresh run. */
  resume: { tokenizer: Tokenizer; config: Record<string, unknown>; weights: Map<string, RawTensor> } | null;
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
      return buildBert(cfg, ctx);
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
  const model = ctx.resume
    ? BertForMaskedLM.fromHF(ctx.resume.config, ctx.resume.weights)
    : new BertForMaskedLM(config, { generator: new Generator(cfg.seed) });
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
    describe: `BERT masked-LM (${cfg.nLayer} layers, ${cfg.nHead} heads, ${cfg.nEmbd} wide, context ${cfg.blockSize}) on ${ctx.dataPath}, vocabulary ${tok.vocabSize}`,
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

/**
 * The folder's tokenizer.json without its post-processor: the byte-level BPE ids of a text, to
 * which BartTask adds <s> and </s> as RobertaProcessing does (qkv's loadTokenizer does not read
 * RobertaProcessing yet; the file is saved with the checkpoint unchanged).
 */
function bartTokenizer(json: Record<string, unknown>, where: string): Tokenizer {
  let bare: Tokenizer;
  try {
    bare = loadTokenizer({ ...json, post_processor: null });
  } catch (e) {
    throw new CliError(`--init-from: ${where}: ${(e as Error).message}`);
  }
  const toJSON = () => json as unknown as ReturnType<Tokenizer["toJSON"]>;
  return Object.assign(Object.create(bare) as Tokenizer, { toJSON });
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
