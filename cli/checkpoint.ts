/** Opening a checkpoint folder for `sample`, `eval` and `info`. */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  ByteLevelBPE,
  ConfigError,
  GPT,
  loadTokenizer,
  resolveConfig,
  type Tokenizer,
  type TrainerState,
} from "../src/index.js";
import { oldDirPath, readCheckpoint, readJson, readPretrainedDir } from "../src/node.js";
import { CliError, EXIT, exitCodeOf } from "./errors.js";
import { repairCheckpointFolder } from "./run-folder.js";

export interface OpenCheckpoint {
  dir: string;
  config: Record<string, unknown>;
  trainConfig: Record<string, unknown>;
  /** null for a plain Hugging Face folder (no training run behind it). */
  trainerState: TrainerState | null;
  tokenizer: Tokenizer;
  weights: Awaited<ReturnType<typeof readCheckpoint>>["weights"];
  /** Set for a plain Hugging Face folder: its config's model_type and the files read. */
  hf: { modelType: string; files: string[] } | null;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (st) => st.isFile(),
    () => false,
  );
}

/** The qkv model family of a Hugging Face model_type ("" when qkv has none). */
function familyOf(modelType: unknown): string {
  if (modelType === "gpt2") return "gpt";
  if (modelType === "bert") return "bert";
  if (modelType === "bart") return "seq2seq";
  return "";
}

/**
 * A tokenizer.json read without its post-processor (BART's RobertaProcessing, which qkv does not
 * read yet; BART fine-tuning adds <s> and </s> itself). `toJSON` gives back the file unchanged,
 * so a checkpoint saved from it carries the original. Errors are the loader's.
 * @example const tok = withoutPostProcessor(JSON.parse(readFileSync("bart/tokenizer.json", "utf8")));
 */
export function withoutPostProcessor(json: Record<string, unknown>): Tokenizer {
  const bare = loadTokenizer({ ...json, post_processor: null });
  const toJSON = () => json as unknown as ReturnType<Tokenizer["toJSON"]>;
  return Object.assign(Object.create(bare) as Tokenizer, { toJSON });
}

/**
 * The tokenizer of a Hugging Face folder: tokenizer.json, else GPT-2's vocab.json + merges.txt.
 * BART's tokenizer.json is read {@link withoutPostProcessor}.
 */
async function hfTokenizer(
  dir: string,
  modelType: unknown,
  flag: string,
): Promise<{ tokenizer: Tokenizer; files: string[] }> {
  const tokPath = join(dir, "tokenizer.json");
  try {
    if (await isFile(tokPath)) {
      const json = await readJson<Record<string, unknown>>(tokPath, "tokenizer");
      const tokenizer = modelType === "bart" ? withoutPostProcessor(json) : loadTokenizer(json);
      return { tokenizer, files: ["tokenizer.json"] };
    }
  } catch (e) {
    throw new CliError(`${flag}: ${tokPath}: ${(e as Error).message}`, exitCodeOf(e));
  }
  const vocabPath = join(dir, "vocab.json");
  const mergesPath = join(dir, "merges.txt");
  if ((await isFile(vocabPath)) && (await isFile(mergesPath))) {
    try {
      const vocab = await readJson<Record<string, number>>(vocabPath, "GPT-2 vocabulary");
      const merges = await readFile(mergesPath, "utf8");
      const specials = Object.hasOwn(vocab, "<|endoftext|>") ? ["<|endoftext|>"] : [];
      const tokenizer = ByteLevelBPE.fromVocabMerges(vocab, merges, { specialTokens: specials });
      return { tokenizer, files: ["vocab.json", "merges.txt"] };
    } catch (e) {
      throw new CliError(`${flag}: ${vocabPath} + merges.txt: ${(e as Error).message}`, exitCodeOf(e));
    }
  }
  throw new CliError(
    `${flag}: ${dir} has no tokenizer: expected ${tokPath} (or vocab.json and merges.txt)`,
    EXIT.badInput,
  );
}

/**
 * A plain Hugging Face folder (config.json + model.safetensors or a sharded index, and its
 * tokenizer), opened as a checkpoint with no training run: `trainConfig` holds only the family.
 */
export async function openHFFolder(dir: string, flag = "--checkpoint"): Promise<OpenCheckpoint> {
  const configPath = join(dir, "config.json");
  if (!(await isFile(configPath))) {
    // A run folder holds its checkpoints one level down: point at them.
    const inside: string[] = [];
    for (const sub of ["best", "last"])
      if (await isFile(join(dir, sub, "train_config.json"))) inside.push(join(dir, sub));
    const hint =
      inside.length > 0
        ? `; it looks like a run folder: pass one of its checkpoints, ${inside.join(" or ")}`
        : "";
    throw new CliError(
      `${flag}: ${dir} is neither a qkv checkpoint (no train_config.json) nor a Hugging Face folder (no config.json)${hint}`,
      EXIT.badInput,
    );
  }
  let ck: Awaited<ReturnType<typeof readPretrainedDir>>;
  try {
    ck = await readPretrainedDir(dir);
  } catch (e) {
    throw new CliError(`${flag}: ${(e as Error).message}`, exitCodeOf(e));
  }
  const modelType = ck.config.model_type;
  const family = familyOf(modelType);
  if (family === "")
    throw new CliError(
      `${flag}: ${configPath} has model_type ${JSON.stringify(modelType)}; qkv opens "gpt2", "bert" and "bart" folders`,
      EXIT.badInput,
    );
  const { tokenizer, files } = await hfTokenizer(dir, modelType, flag);
  const weightFiles = (await isFile(join(dir, "model.safetensors")))
    ? ["model.safetensors"]
    : ["model.safetensors.index.json"];
  return {
    dir,
    config: ck.config,
    trainConfig: { model: family },
    trainerState: null,
    tokenizer,
    weights: ck.tensors,
    hf: { modelType: String(modelType), files: ["config.json", ...weightFiles, ...files] },
  };
}

export async function openCheckpoint(dir: string, flag = "--checkpoint"): Promise<OpenCheckpoint> {
  // A crash mid-swap leaves `last.qkv-old` instead of `last`: every reader repairs that first
  // (unless a live writer holds the run folder, which then reads the parked copy as it is).
  await repairCheckpointFolder(dir);
  let readFrom = dir;
  try {
    if (!(await stat(dir)).isDirectory()) throw new CliError(`${flag}: ${dir} is not a folder`);
  } catch (e) {
    if (e instanceof CliError) throw e;
    const parked = oldDirPath(dir);
    if (
      !(await stat(parked).then(
        (st) => st.isDirectory(),
        () => false,
      ))
    )
      throw new CliError(`${flag}: ${dir} does not exist`);
    readFrom = parked;
  }
  // No train_config.json: a plain Hugging Face folder (or neither, which openHFFolder names).
  if (readFrom === dir && !(await isFile(join(dir, "train_config.json")))) return openHFFolder(dir, flag);
  let c: Awaited<ReturnType<typeof readCheckpoint>>;
  try {
    c = await readCheckpoint(readFrom, { optimizer: false });
  } catch (e) {
    throw new CliError(`${flag}: ${(e as Error).message}`, exitCodeOf(e));
  }
  // train_config.json is checked as a whole (types, ranges, sizes) before anything uses it.
  try {
    resolveConfig({ overrides: [c.trainConfig as Record<string, unknown>] });
  } catch (e) {
    if (e instanceof ConfigError)
      throw new CliError(
        `${flag}: ${join(readFrom, "train_config.json")}: field "${e.field}": ${e.message}`,
        EXIT.badInput,
      );
    throw e;
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = loadTokenizer(c.tokenizer);
  } catch (e) {
    throw new CliError(`${flag}: ${join(dir, "tokenizer.json")}: ${(e as Error).message}`, exitCodeOf(e));
  }
  return {
    dir,
    config: c.config as Record<string, unknown>,
    trainConfig: c.trainConfig as Record<string, unknown>,
    trainerState: c.trainerState as TrainerState,
    tokenizer,
    weights: c.weights,
    hf: null,
  };
}

/** The GPT in a checkpoint, in eval mode; other model kinds are rejected by name. */
export function gptOf(ck: OpenCheckpoint, command: string): GPT {
  const kind = ck.trainConfig.model;
  if (ck.hf && kind !== "gpt")
    throw new CliError(
      `${command} supports GPT-2 Hugging Face folders (model_type "gpt2") and qkv gpt checkpoints; ${ck.dir} holds model_type ${JSON.stringify(ck.hf.modelType)}`,
      EXIT.usage,
    );
  if (kind !== "gpt")
    throw new CliError(
      `${command} needs a GPT checkpoint; ${ck.dir} holds a ${String(kind)} model`,
      EXIT.usage,
    );
  const flag = command === "--init-from" ? command : "--checkpoint";
  let model: GPT;
  try {
    model = GPT.fromHF(ck.config, ck.weights);
  } catch (e) {
    throw new CliError(`${flag}: ${ck.dir}: ${(e as Error).message}`, exitCodeOf(e));
  }
  model.eval();
  return model;
}
