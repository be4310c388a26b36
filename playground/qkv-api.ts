/**
 * The playground's use of qkv's checkpoint and backend API, kept in one module so the page can
 * follow the library as it grows (a core checkpoint-from-bytes API, `await ready()` for the
 * default backend). A checkpoint here is a file map: names → bytes, laid out as `qkv train`
 * writes a checkpoint folder (config.json, model.safetensors, tokenizer.json,
 * train_config.json, trainer_state.json), so `qkv sample --checkpoint <folder>` opens it.
 */
import {
  GPT,
  getBackendName,
  listBackends,
  loadTokenizer,
  parseHFCheckpoint,
  resolveConfig,
  serializeHFCheckpoint,
  setBackend,
  type Tokenizer,
  type TrainConfig,
  type TrainerState,
} from "qkv";

/** A checkpoint folder as bytes: file name (no folder part) → contents. */
export type FileMap = Map<string, Uint8Array>;

/** What the page needs from a checkpoint. */
export interface LoadedCheckpoint {
  model: GPT;
  tokenizer: Tokenizer;
  /** train_config.json, when the folder has one. */
  trainConfig: Record<string, unknown> | null;
  /** trainer_state.json's `iter`: the steps the model was trained for, when known. */
  iter: number | null;
}

const REQUIRED = ["config.json", "model.safetensors", "tokenizer.json"];

function text(files: FileMap, name: string): string {
  return new TextDecoder().decode(files.get(name)!);
}

function json(files: FileMap, name: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text(files, name));
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
    return v as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
}

/**
 * Opens a GPT checkpoint from its files (as `qkv sample` opens a folder: GPT.fromHF in eval mode
 * and the saved tokenizer). Errors name the missing or broken file.
 */
export function checkpointFromFiles(files: FileMap): LoadedCheckpoint {
  const missing = REQUIRED.filter((n) => !files.has(n));
  if (missing.length > 0)
    throw new Error(
      `the checkpoint lacks ${missing.join(", ")} (a qkv checkpoint folder holds ${REQUIRED.join(", ")})`,
    );
  const trainConfig = files.has("train_config.json") ? json(files, "train_config.json") : null;
  if (trainConfig && trainConfig.model !== undefined && trainConfig.model !== "gpt")
    throw new Error(
      `train_config.json: the playground runs GPT checkpoints; this one holds a ${String(trainConfig.model)} model`,
    );
  const { config, tensors } = parseHFCheckpoint({
    config: text(files, "config.json"),
    safetensors: files.get("model.safetensors")!,
  });
  const model = GPT.fromHF(config, tensors);
  model.eval();
  let tokenizer: Tokenizer;
  try {
    tokenizer = loadTokenizer(text(files, "tokenizer.json"));
  } catch (e) {
    throw new Error(`tokenizer.json: ${(e as Error).message}`);
  }
  if (tokenizer.vocabSize > model.config.vocabSize)
    throw new Error(
      `tokenizer.json has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${model.config.vocabSize}`,
    );
  let iter: number | null = null;
  if (files.has("trainer_state.json")) {
    const it = json(files, "trainer_state.json").iter;
    if (typeof it === "number") iter = it;
  }
  return { model, tokenizer, trainConfig, iter };
}

/** JSON with non-finite numbers tagged as the CLI's checkpoint writer tags them ({"$number": "Infinity"}). */
function encodeJson(value: unknown): string {
  const tag = (_k: string, v: unknown) =>
    typeof v === "number" && !Number.isFinite(v) ? { $number: String(v) } : v;
  return `${JSON.stringify(value, tag, 2)}\n`;
}

/** The training settings recorded in train_config.json, as `qkv train` would resolve them. */
export function trainConfigFor(fields: Partial<TrainConfig>): TrainConfig {
  return resolveConfig({ overrides: [{ model: "gpt", tokenizer: "char", ...fields }] });
}

/**
 * The files of a checkpoint folder for a page-trained (or loaded) model. Without optimizer
 * state, `qkv sample`, `eval` and `info` open it; `qkv train --resume` does not.
 */
export function checkpointToFiles(
  model: GPT,
  tokenizer: Tokenizer,
  trainConfig: TrainConfig | Record<string, unknown>,
  trainerState: TrainerState,
): FileMap {
  const enc = new TextEncoder();
  const { config, safetensors } = serializeHFCheckpoint(model.toHF());
  return new Map([
    ["config.json", enc.encode(config)],
    ["model.safetensors", safetensors],
    ["tokenizer.json", enc.encode(JSON.stringify(tokenizer.toJSON()))],
    ["train_config.json", enc.encode(`${JSON.stringify(trainConfig, null, 2)}\n`)],
    ["trainer_state.json", enc.encode(encodeJson(trainerState))],
  ]);
}

/**
 * Selects the compute backend: `wanted` when it loads, else the library's default. Returns the
 * name of the one that runs and, when `wanted` could not run, why.
 */
export async function chooseBackend(wanted?: string | null): Promise<{ name: string; note: string | null }> {
  let note: string | null = null;
  if (wanted) {
    try {
      setBackend(wanted);
    } catch (e) {
      note = `${wanted} does not run here (${(e as Error).message}); using ${getBackendName()}`;
    }
  }
  return { name: getBackendName(), note };
}

/** Names of the registered backends (not all of them may load in this browser). */
export function backendNames(): string[] {
  return listBackends();
}
