/**
 * The playground's use of qkv's checkpoint and backend API, in one module: checkpoints from and
 * to bytes (`loadPretrained`, `pretrainedFiles`) and the backend choice (`ready()`, the library's
 * fastest-that-loads order, or `setBackend`). A checkpoint here is a file map: names → bytes, laid
 * out as `qkv train` writes a checkpoint folder (config.json, model.safetensors, tokenizer.json,
 * train_config.json, trainer_state.json), so `qkv sample --checkpoint <folder>` opens it.
 */
import {
  backendInfo,
  GPT,
  getBackendName,
  listBackends,
  loadPretrained,
  pretrainedFiles,
  ready,
  resolveConfig,
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

/**
 * Opens a GPT checkpoint from its files, as `qkv sample` opens a folder (GPT.fromHF in eval mode and
 * the saved tokenizer), through the library's `loadPretrained`. Errors name the missing or broken file.
 */
export async function checkpointFromFiles(files: FileMap): Promise<LoadedCheckpoint> {
  const missing = REQUIRED.filter((n) => !files.has(n));
  if (missing.length > 0)
    throw new Error(
      `the checkpoint lacks ${missing.join(", ")} (a qkv checkpoint folder holds ${REQUIRED.join(", ")})`,
    );
  const ck = await loadPretrained(GPT, files);
  if (ck.trainConfig && ck.trainConfig.model !== undefined && ck.trainConfig.model !== "gpt")
    throw new Error(
      `train_config.json: the playground runs GPT checkpoints; this one holds a ${String(ck.trainConfig.model)} model`,
    );
  const tokenizer = ck.tokenizer!;
  if (tokenizer.vocabSize > ck.model.config.vocabSize)
    throw new Error(
      `tokenizer.json has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${ck.model.config.vocabSize}`,
    );
  let iter: number | null = null;
  if (files.has("trainer_state.json")) {
    try {
      const it = JSON.parse(new TextDecoder().decode(files.get("trainer_state.json"))).iter;
      if (typeof it === "number") iter = it;
    } catch (e) {
      throw new Error(`trainer_state.json: ${(e as Error).message}`);
    }
  }
  return { model: ck.model, tokenizer, trainConfig: ck.trainConfig, iter };
}

/** The training settings recorded in train_config.json, as `qkv train` would resolve them. */
export function trainConfigFor(fields: Partial<TrainConfig>): TrainConfig {
  return resolveConfig({ overrides: [{ model: "gpt", tokenizer: "char", ...fields }] });
}

/**
 * The files of a checkpoint folder for a page-trained (or loaded) model, from the library's
 * `pretrainedFiles`. Without optimizer state, `qkv sample`, `eval` and `info` open it;
 * `qkv train --resume` does not.
 */
export function checkpointToFiles(
  model: GPT,
  tokenizer: Tokenizer,
  trainConfig: TrainConfig | Record<string, unknown>,
  trainerState: TrainerState,
): FileMap {
  return pretrainedFiles(model, {
    tokenizer,
    trainConfig: { ...trainConfig },
    trainerState: { ...trainerState },
  });
}

/**
 * Selects the compute backend: `wanted` when it loads, else the library's automatic choice (the
 * fastest that loads, after `ready()`). Returns the name of the one that runs and, when `wanted`
 * could not run, why.
 */
export async function chooseBackend(wanted?: string | null): Promise<{ name: string; note: string | null }> {
  let note: string | null = null;
  if (wanted) {
    try {
      setBackend(wanted);
      return { name: getBackendName(), note };
    } catch (e) {
      note = `${wanted} does not run here (${(e as Error).message})`;
    }
  }
  const name = await ready();
  return { name, note: note && `${note}; using ${name}` };
}

/** The backends this page can offer: the one running, and the registered ones that did not fail to load. */
export function backendNames(): string[] {
  const failed = new Set(backendInfo().skipped.map((s) => s.name));
  return listBackends().filter((n) => n === getBackendName() || !failed.has(n));
}
