/**
 * The playground's worker: it owns the model and does all the compute (training, generation,
 * attention maps, checkpoint parsing and zipping), so the page's thread only draws. Requests run
 * one at a time; training runs in slices of about 50 ms between them, so pause, generate and
 * stop are answered mid-run.
 */
import {
  CharTokenizer,
  defaultGenerator,
  Generator,
  GPT,
  generateAsync,
  gptStepModel,
  LanguageModelTask,
  manualSeed,
  optim,
  TokenDataset,
  type Tokenizer,
  Trainer,
  type TrainerState,
  tensor,
  withNoGrad,
} from "qkv";
import type { FromWorker, ModelInfo, SampleSettings, ToWorker, TrainSettings } from "./protocol.js";
import {
  backendNames,
  checkpointFromFiles,
  checkpointToFiles,
  chooseBackend,
  trainConfigFor,
} from "./qkv-api.js";
import { unzip, zipStored } from "./zip.js";

const post = (m: FromWorker, transfer: Transferable[] = []) => postMessage(m, { transfer });

/** A zero-delay yield to the event loop (setTimeout is clamped to 4 ms once nested). */
const channel = new MessageChannel();
const waiting: (() => void)[] = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldToEvents = () =>
  new Promise<void>((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(0);
  });

interface Run {
  settings: TrainSettings;
  trainer: Trainer;
  maxIters: number;
  lrAt: (it: number) => number;
  evalInterval: number;
}

let model: GPT | null = null;
let tokenizer: Tokenizer | null = null;
let source: ModelInfo["source"] = "trained";
let checkpointIter: number | null = null;
let checkpointTrainConfig: Record<string, unknown> | null = null;
let run: Run | null = null;
let training = false;
let stopGeneration = false;
const queue: ToWorker[] = [];
let pumping = false;

function info(): ModelInfo {
  const m = model!;
  const unique = new Set(m.parameters());
  let params = 0;
  for (const p of unique) params += p.numel();
  return {
    source,
    nLayer: m.config.nLayer,
    nHead: m.config.nHead,
    nEmbd: m.config.nEmbd,
    blockSize: m.config.blockSize,
    vocabSize: m.config.vocabSize,
    params,
    iter: source === "trained" ? (run?.trainer.iter ?? 0) : checkpointIter,
    tokenizer: tokenizer!.type,
  };
}

function announceModel(): void {
  post({ type: "model", info: info(), trainable: run !== null });
}

function trainingState(): void {
  post({ type: "training", running: training, iter: run?.trainer.iter ?? 0, maxIters: run?.maxIters ?? 0 });
}

function trainNew(settings: TrainSettings, text: string): void {
  training = false;
  if (text.length < settings.blockSize + 2)
    throw new Error(
      `the training text has ${text.length} characters; it needs more than the context (${settings.blockSize})`,
    );
  manualSeed(settings.seed); // dropout masks and any other default-generator draw
  const tok = CharTokenizer.fromText(text);
  const dataset = TokenDataset.fromText(text, tok);
  if (dataset.val.length <= settings.blockSize)
    throw new Error(
      `the text is too short for a validation split longer than the context (${settings.blockSize})`,
    );
  // PyTorch's generator, as `qkv train` seeds its model and batches.
  const m = new GPT(
    {
      vocabSize: tok.vocabSize,
      blockSize: settings.blockSize,
      nLayer: settings.nLayer,
      nHead: settings.nHead,
      nEmbd: settings.nEmbd,
      dropout: 0,
      bias: false,
    },
    { generator: new Generator(settings.seed, { algorithm: "mt19937" }) },
  );
  const task = new LanguageModelTask(m, dataset, {
    batchSize: settings.batchSize,
    blockSize: settings.blockSize,
    seed: settings.seed,
    algorithm: "mt19937",
  });
  const weightDecay = 0.1;
  const opt = new optim.AdamW(
    m.configureOptimizerGroups(weightDecay).map(({ params, weightDecay }) => ({ params, weightDecay })),
    { lr: settings.lr, betas: [0.9, 0.99], weightDecay },
  );
  const warmupIters = Math.min(100, Math.floor(settings.maxIters / 10));
  const minLr = settings.lr / 10;
  const lrAt = (it: number) =>
    optim.cosineWithWarmupLr(it, { lr: settings.lr, warmupIters, lrDecayIters: settings.maxIters, minLr });
  const trainer = new Trainer(task, opt, {
    maxIters: settings.maxIters,
    gradAccum: 1,
    gradClip: 1,
    evalInterval: 100,
    evalIters: 8,
    logInterval: 1,
    alwaysSaveCheckpoint: false,
    lrAt,
  });
  model = m;
  tokenizer = tok;
  source = "trained";
  run = { settings, trainer, maxIters: settings.maxIters, lrAt, evalInterval: 100 };
  post({
    type: "data",
    trainTokens: dataset.train.length,
    valTokens: dataset.val.length,
    vocabSize: tok.vocabSize,
  });
  announceModel();
  training = true;
  trainingState();
}

function evaluate(r: Run): void {
  const ev = r.trainer.evaluate();
  if (ev.valLoss < r.trainer.bestValLoss) r.trainer.bestValLoss = ev.valLoss;
  post({ type: "eval", iter: r.trainer.iter, trainLoss: ev.trainLoss, valLoss: ev.valLoss });
}

/** Trains for about `budgetMs`, one step at a time, posting each step's loss. */
function trainSlice(budgetMs: number): void {
  const r = run!;
  const t0 = performance.now();
  while (training && performance.now() - t0 < budgetMs) {
    const it = r.trainer.iter;
    if (it >= r.maxIters) {
      training = false;
      evaluate(r);
      trainingState();
      announceModel();
      return;
    }
    if (it % r.evalInterval === 0) evaluate(r);
    const s0 = performance.now();
    const { loss } = r.trainer.step(r.lrAt(it));
    const ms = performance.now() - s0;
    r.trainer.iter = it + 1;
    const tokens = r.settings.batchSize * r.settings.blockSize;
    post({ type: "step", iter: it, loss, lr: r.lrAt(it), msPerIter: ms, tokensPerSec: (tokens * 1000) / ms });
  }
}

/** `qkv sample`'s generation: the same Generator, option mapping and decoding, streamed. */
async function sample(s: SampleSettings): Promise<void> {
  const m = model!;
  const tok = tokenizer!;
  let prompt: number[];
  try {
    prompt = tok.encode(s.prompt);
  } catch (e) {
    throw new Error(`prompt: ${(e as Error).message}`);
  }
  if (prompt.length === 0) throw new Error("prompt: the prompt encodes to no tokens");
  m.eval();
  stopGeneration = false;
  const t0 = performance.now();
  let tokens = 0;
  try {
    const result = await generateAsync(gptStepModel(m), prompt, {
      maxNewTokens: s.maxNewTokens,
      temperature: s.temperature,
      topK: s.topK > 0 ? s.topK : undefined,
      topP: s.topP < 1 ? s.topP : undefined,
      generator: new Generator(s.seed),
      decode: (ids) => tok.decode(ids),
      onToken: () => {
        tokens++;
        return !stopGeneration;
      },
      onText: async (delta) => {
        post({ type: "token", text: delta });
        await yieldToEvents(); // lets a stop request in
      },
    });
    post({
      type: "generated",
      text: result.text,
      tokens,
      ms: performance.now() - t0,
      finishReason: result.finishReason,
    });
  } finally {
    m.train();
  }
}

function attention(promptText: string): void {
  const m = model!;
  const tok = tokenizer!;
  let ids: number[];
  try {
    ids = tok.encode(promptText);
  } catch (e) {
    throw new Error(`prompt: ${(e as Error).message}`);
  }
  if (ids.length === 0) throw new Error("prompt: the prompt encodes to no tokens");
  const dropped = Math.max(0, ids.length - m.config.blockSize);
  ids = ids.slice(dropped);
  const T = ids.length;
  const { nLayer, nHead } = m.config;
  m.eval();
  try {
    const weights = new Float32Array(nLayer * nHead * T * T);
    withNoGrad(() => {
      const out = m.forward(tensor([ids], { dtype: "int32" }), null, {
        outputAttentions: true,
        lastOnly: true,
      });
      // each (1, nh, T, T)
      for (const [l, a] of out.attentions!.entries()) weights.set(a.toArray(), l * nHead * T * T);
    });
    post(
      { type: "attention", tokens: ids.map((id) => tok.decode([id])), dropped, nLayer, nHead, T, weights },
      [weights.buffer],
    );
  } finally {
    m.train();
  }
}

async function load(files: { name: string; data: Uint8Array }[]): Promise<void> {
  const map = new Map<string, Uint8Array>();
  const add = (name: string, data: Uint8Array) => {
    const base = name.split("/").pop()!;
    if (map.has(base))
      throw new Error(
        `two files named ${base}: open one checkpoint folder (e.g. runs/default/best), not several`,
      );
    map.set(base, data);
  };
  for (const f of files) {
    if (f.name.toLowerCase().endsWith(".zip")) for (const e of await unzip(f.data)) add(e.name, e.data);
    else add(f.name, f.data);
  }
  const ck = await checkpointFromFiles(map);
  training = false;
  run = null;
  model = ck.model;
  tokenizer = ck.tokenizer;
  source = "checkpoint";
  checkpointIter = ck.iter;
  checkpointTrainConfig = ck.trainConfig;
  announceModel();
  trainingState();
}

function exportCheckpoint(): void {
  const m = model!;
  const tok = tokenizer!;
  const iter = source === "trained" ? run!.trainer.iter : (checkpointIter ?? 0);
  const trainConfig =
    source === "trained"
      ? trainConfigFor({
          data: run!.settings.dataName,
          nLayer: m.config.nLayer,
          nHead: m.config.nHead,
          nEmbd: m.config.nEmbd,
          blockSize: m.config.blockSize,
          batchSize: run!.settings.batchSize,
          maxIters: run!.maxIters,
          lrDecayIters: run!.maxIters,
          warmupIters: Math.min(100, Math.floor(run!.maxIters / 10)),
          lr: run!.settings.lr,
          minLr: run!.settings.lr / 10,
          seed: run!.settings.seed,
          evalInterval: run!.evalInterval,
          evalIters: 8,
          dropout: 0,
          bias: false,
        })
      : (checkpointTrainConfig ?? trainConfigFor({}));
  const state: TrainerState =
    source === "trained"
      ? run!.trainer.state()
      : {
          iter,
          bestValLoss: Number.POSITIVE_INFINITY,
          rng: defaultGenerator.getState(),
          task: null,
          elapsedMs: 0,
        };
  const files = checkpointToFiles(m, tok, trainConfig, state);
  const folder = `qkv-playground-step${iter}`;
  const zip = zipStored([...files].map(([name, data]) => ({ name: `${folder}/${name}`, data })));
  post({ type: "exported", name: `${folder}.zip`, zip }, [zip.buffer]);
}

function needModel(what: string): void {
  if (!model) throw new Error(`${what}: train a model or open a checkpoint first`);
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case "init": {
      const { name: backend, note } = await chooseBackend(msg.backend);
      if (note) post({ type: "error", where: "backend", message: note });
      post({
        type: "ready",
        backend,
        backends: backendNames(),
        isolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
        cores: navigator.hardwareConcurrency ?? 1,
      });
      return;
    }
    case "train-new":
      return trainNew(msg.settings, msg.text);
    case "resume":
      if (!run) throw new Error("resume: nothing to resume; train a new model first");
      training = run.trainer.iter < run.maxIters;
      return trainingState();
    case "generate":
      needModel("generate");
      return sample(msg.settings);
    case "attention":
      needModel("attention");
      return attention(msg.prompt);
    case "load":
      return load(msg.files);
    case "export":
      needModel("download");
      return exportCheckpoint();
    case "pause":
    case "stop-generate":
      return; // handled on arrival
  }
}

/** Runs queued requests in order, and training slices while nothing is queued. */
async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  try {
    for (;;) {
      const msg = queue.shift();
      if (msg) {
        try {
          await handle(msg);
        } catch (e) {
          post({ type: "error", where: msg.type, message: (e as Error).message ?? String(e) });
        }
        continue;
      }
      if (!training || !run) break;
      try {
        trainSlice(50);
      } catch (e) {
        training = false;
        trainingState();
        post({ type: "error", where: "train", message: (e as Error).message ?? String(e) });
      }
      await yieldToEvents();
    }
  } finally {
    pumping = false;
  }
}

self.addEventListener("message", (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === "pause") {
    training = false;
    trainingState();
  } else if (msg.type === "stop-generate") {
    stopGeneration = true;
  } else {
    queue.push(msg);
  }
  void pump();
});
