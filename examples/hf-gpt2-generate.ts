/**
 * Generate text with a Hugging Face GPT-2 checkpoint: open the folder with `qkv/node`'s
 * `loadPretrainedDir` (config.json + model.safetensors, and tokenizer.json, or GPT-2's
 * vocab.json + merges.txt), then sample with temperature, top-k and top-p (nucleus) filtering,
 * printing each piece of text as soon as its token is chosen. The KV cache makes each new token
 * cost one position's work.
 *
 * Nothing is downloaded: fetch the folder yourself first, e.g.
 *     huggingface-cli download gpt2 --local-dir models/gpt2   (or git clone https://huggingface.co/gpt2)
 * then
 *     npx tsx examples/hf-gpt2-generate.ts --model models/gpt2 [--prompt "Hello, I'm a language model,"]
 *       [--max-new-tokens 50] [--temperature 0.8] [--top-k 50] [--top-p 0.95] [--seed 42]
 *
 * `--temperature 0` decodes greedily (top-k and top-p then have no effect).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ByteLevelBPE, Generator, GPT, generate, gptStepModel, type Tokenizer } from "../src/index.js";
import { loadPretrainedDir } from "../src/node.js";
import { parseFlags, runMain } from "./flags.js";

export interface HFGenerateOptions {
  /** A Hugging Face GPT-2 folder. */
  model: string;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  /** Keep the k most likely tokens (0: off). */
  topK: number;
  /** Keep the most likely tokens whose probabilities add up to p (1: off). */
  topP: number;
  seed: number;
}

export const DEFAULTS: HFGenerateOptions = {
  model: "",
  prompt: "Hello, I'm a language model,",
  maxNewTokens: 50,
  temperature: 0.8,
  topK: 50,
  topP: 0.95,
  seed: 42,
};

/** A GPT-2 folder's model (eval mode), its tokenizer and its end-of-text id. */
export async function openGpt2(dir: string): Promise<{ model: GPT; tokenizer: Tokenizer; eosId?: number }> {
  if (!existsSync(join(dir, "config.json")))
    throw new Error(`--model ${dir}: no config.json there; pass a Hugging Face GPT-2 folder`);
  const loaded = await loadPretrainedDir(GPT, dir);
  let tokenizer = loaded.tokenizer;
  if (!tokenizer) {
    // Older GPT-2 folders carry the original vocab.json + merges.txt instead of tokenizer.json.
    const [vocabPath, mergesPath] = [join(dir, "vocab.json"), join(dir, "merges.txt")];
    if (!existsSync(vocabPath) || !existsSync(mergesPath))
      throw new Error(`--model ${dir}: no tokenizer.json, nor vocab.json + merges.txt`);
    const vocab = JSON.parse(await readFile(vocabPath, "utf8")) as Record<string, number>;
    const specialTokens = Object.hasOwn(vocab, "<|endoftext|>") ? ["<|endoftext|>"] : [];
    tokenizer = ByteLevelBPE.fromVocabMerges(vocab, await readFile(mergesPath, "utf8"), { specialTokens });
  }
  const eos = loaded.config.eos_token_id;
  return { model: loaded.model, tokenizer, eosId: typeof eos === "number" ? eos : undefined };
}

/**
 * Samples a continuation of `o.prompt`, calling `write` with each new piece of text; returns the
 * whole continuation, the number of tokens and the seconds it took.
 */
export async function generateFromFolder(o: HFGenerateOptions, write: (piece: string) => void) {
  const { model, tokenizer, eosId } = await openGpt2(o.model);
  const prompt = tokenizer.encode(o.prompt);
  if (prompt.length === 0) throw new Error("--prompt is empty; give at least one token of text");
  const t0 = performance.now();
  const r = generate(gptStepModel(model), prompt, {
    maxNewTokens: o.maxNewTokens,
    temperature: o.temperature,
    topK: o.topK,
    topP: o.topP,
    eosId,
    generator: new Generator(o.seed),
    decode: (ids) => tokenizer.decode(ids),
    onText: write,
  });
  return { text: r.text, tokens: r.ids.length, seconds: (performance.now() - t0) / 1000, model };
}

async function main(): Promise<void> {
  const o = parseFlags(process.argv.slice(2), DEFAULTS);
  if (!o.model) throw new Error("--model <dir> is required: a Hugging Face GPT-2 folder you downloaded");
  if (!(o.topP > 0 && o.topP <= 1)) throw new Error(`--top-p must be in (0, 1], got ${o.topP}`);
  if (!(o.temperature >= 0)) throw new Error(`--temperature must be ≥ 0, got ${o.temperature}`);
  process.stdout.write(o.prompt);
  const r = await generateFromFolder(o, (piece) => process.stdout.write(piece));
  const { nLayer, nEmbd } = r.model.config;
  console.log(
    `\n\n[${r.tokens} tokens in ${r.seconds.toFixed(2)}s, ${(r.tokens / r.seconds).toFixed(1)} tokens/s; ${nLayer} layers, width ${nEmbd}]`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) runMain(main);
