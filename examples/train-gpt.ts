/**
 * Train a small GPT on your own text file, the whole loop written out: tokenize (characters, or a
 * byte-level BPE trained on the text), draw random (B, T) windows, AdamW with weight decay on the
 * matrices only, nanoGPT's warmup + cosine learning-rate schedule, gradient clipping, a periodic
 * held-out evaluation, then save a Hugging Face style folder (config.json, model.safetensors,
 * tokenizer.json) with `savePretrained`, reload it with `loadPretrainedDir` and sample from it.
 *
 *     npx tsx examples/train-gpt.ts [--data data/tinyshakespeare.txt] [--out runs/example-gpt]
 *       [--tokenizer char|bpe] [--vocab-size 512] [--steps 300] [--batch-size 16] [--block-size 64]
 *       [--n-layer 2] [--n-head 4] [--n-embd 64] [--lr 3e-3] [--eval-every 50] [--eval-iters 4]
 *       [--chars 200000] [--prompt "ROMEO:"] [--max-new-tokens 200] [--temperature 0.8] [--top-k 40]
 *       [--seed 1337]
 *
 * The folder it writes opens in Hugging Face transformers too (`GPT2LMHeadModel.from_pretrained`).
 */
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BatchSampler,
  ByteLevelBPE,
  CharTokenizer,
  Generator,
  GPT,
  generate,
  gptStepModel,
  manualSeed,
  optim,
  TokenDataset,
  type Tokenizer,
  tidy,
  withNoGrad,
} from "../src/index.js";
import { loadPretrainedDir, loadTextSource, savePretrained } from "../src/node.js";
import { parseFlags, runMain } from "./flags.js";

export interface TrainGptOptions {
  /** A text file (default: the bundled tiny Shakespeare). */
  data: string;
  /** Folder to save the model, its config and its tokenizer in. */
  out: string;
  tokenizer: "char" | "bpe";
  /** BPE vocabulary size (ignored for characters). */
  vocabSize: number;
  steps: number;
  batchSize: number;
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  /** Peak learning rate; the cosine decays it to a tenth. */
  lr: number;
  evalEvery: number;
  /** Batches averaged per evaluation. */
  evalIters: number;
  /** Use only the first this many characters of the file (0: all of it). */
  chars: number;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  seed: number;
}

export const DEFAULTS: TrainGptOptions = {
  data: resolve(import.meta.dirname, "../data/tinyshakespeare.txt"),
  out: "runs/example-gpt",
  tokenizer: "char",
  vocabSize: 512,
  steps: 300,
  batchSize: 16,
  blockSize: 64,
  nLayer: 2,
  nHead: 4,
  nEmbd: 64,
  lr: 3e-3,
  evalEvery: 50,
  evalIters: 4,
  chars: 200_000,
  prompt: "ROMEO:",
  maxNewTokens: 200,
  temperature: 0.8,
  topK: 40,
  seed: 1337,
};

/** One evaluation: mean loss on `evalIters` fixed batches of each split. */
export interface EvalPoint {
  step: number;
  train: number;
  val: number;
  lr: number;
}

/** Mean loss over the first `iters` consecutive windows of a split (the same windows every time). */
function evalLoss(model: GPT, sampler: BatchSampler, split: "train" | "val", o: TrainGptOptions): number {
  return withNoGrad(() => {
    let sum = 0;
    let n = 0;
    for (const { x, y } of sampler.evalBatches(split, o.batchSize, o.blockSize, {
      maxBatches: o.evalIters,
    })) {
      sum += tidy(() => model.forward(x, y).loss!.item());
      n++;
    }
    return sum / n;
  });
}

/**
 * Trains, evaluates every `evalEvery` steps, saves the folder and returns the history.
 * Everything random (init, batches, dropout, sampling) follows `seed`.
 */
export async function trainGpt(o: TrainGptOptions, log: (line: string) => void = console.log) {
  let text = await loadTextSource(o.data);
  if (o.chars > 0) text = text.slice(0, o.chars);
  const tok: Tokenizer =
    o.tokenizer === "bpe"
      ? ByteLevelBPE.train(text, { vocabSize: o.vocabSize })
      : CharTokenizer.fromText(text);
  const data = TokenDataset.fromText(text, tok); // last 10% of the tokens held out
  log(
    `${o.data}: ${text.length} characters → ${data.train.length + data.val.length} ${tok.type} tokens, vocab ${tok.vocabSize}`,
  );

  manualSeed(o.seed); // dropout and anything else drawing from the default generator
  const model = new GPT(
    {
      vocabSize: tok.vocabSize,
      blockSize: o.blockSize,
      nLayer: o.nLayer,
      nHead: o.nHead,
      nEmbd: o.nEmbd,
      dropout: 0,
      bias: true,
    },
    { generator: new Generator(o.seed) },
  );
  const nParams = model.parameters().reduce((s, p) => s + p.numel(), 0);
  log(
    `GPT: ${o.nLayer} layers, ${o.nHead} heads, width ${o.nEmbd}, context ${o.blockSize}, ${nParams} parameters`,
  );

  // Decay the 2-D weights only: biases and LayerNorm gains are left alone, as nanoGPT does.
  const opt = new optim.AdamW(model.configureOptimizerGroups(0.1), { lr: o.lr, betas: [0.9, 0.99] });
  const warmupIters = Math.max(1, Math.floor(o.steps / 10));
  const sched = new optim.CosineWithWarmup(opt, {
    warmupIters,
    lrDecayIters: Math.max(o.steps, warmupIters + 1),
    minLr: o.lr / 10,
  });
  const sampler = new BatchSampler(data, { seed: o.seed });

  const history: EvalPoint[] = [];
  const evaluate = (step: number) => {
    model.eval();
    const p = {
      step,
      train: evalLoss(model, sampler, "train", o),
      val: evalLoss(model, sampler, "val", o),
      lr: opt.paramGroups[0].lr,
    };
    model.train();
    history.push(p);
    log(
      `step ${String(step).padStart(5)}  train loss ${p.train.toFixed(4)}  val loss ${p.val.toFixed(4)}  lr ${p.lr.toExponential(2)}`,
    );
  };

  const t0 = performance.now();
  evaluate(0);
  model.train();
  for (let step = 1; step <= o.steps; step++) {
    const { x, y } = sampler.getBatch("train", o.batchSize, o.blockSize); // (B, T) each
    opt.zeroGrad();
    // tidy: this step's activations go back to qkv's memory pool once the loss is read.
    tidy(() => {
      const loss = model.forward(x, y).loss!; // mean cross-entropy of every next character
      loss.backward();
      return loss.item();
    });
    optim.clipGradNorm(model.parameters(), 1.0);
    opt.step();
    sched.step();
    if (step % o.evalEvery === 0 || step === o.steps) evaluate(step);
  }
  const secs = (performance.now() - t0) / 1000;
  log(
    `trained ${o.steps} steps in ${secs.toFixed(1)}s (${((o.steps * o.batchSize * o.blockSize) / secs).toFixed(0)} tokens/s)`,
  );

  // config.json + model.safetensors, then the tokenizer beside them.
  model.eval();
  await savePretrained(model, o.out);
  await writeFile(join(o.out, "tokenizer.json"), JSON.stringify(tok.toJSON()));
  log(`saved ${o.out}: config.json, model.safetensors, tokenizer.json`);
  return { model, tokenizer: tok, history };
}

/** Reloads a saved folder and samples `maxNewTokens` after `prompt`, streaming the text. */
export async function sampleFolder(
  dir: string,
  o: TrainGptOptions,
  write: (s: string) => void,
): Promise<string> {
  const { model, tokenizer } = await loadPretrainedDir(GPT, dir);
  if (!tokenizer) throw new Error(`${dir} has no tokenizer.json`);
  const { text } = generate(gptStepModel(model), tokenizer.encode(o.prompt), {
    maxNewTokens: o.maxNewTokens,
    temperature: o.temperature,
    topK: o.topK,
    generator: new Generator(o.seed),
    decode: (ids) => tokenizer.decode(ids),
    onText: write,
  });
  return text;
}

async function main(): Promise<void> {
  const o = parseFlags(process.argv.slice(2), DEFAULTS);
  if (o.tokenizer !== "char" && o.tokenizer !== "bpe")
    throw new Error(`--tokenizer must be char or bpe, got ${o.tokenizer}`);
  await trainGpt(o);
  console.log(`sample from the reloaded ${o.out}:`);
  process.stdout.write(o.prompt);
  await sampleFolder(o.out, o, (s) => process.stdout.write(s));
  process.stdout.write("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) runMain(main);
