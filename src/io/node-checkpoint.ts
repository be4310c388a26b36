/**
 * Checkpoint folders (node-only). A checkpoint holds config.json, train_config.json,
 * tokenizer.json, model.safetensors, optimizer.safetensors + optimizer.json and
 * trainer_state.json. It is written whole into a temporary folder and swapped in by renames,
 * so a crash at any moment leaves the previous checkpoint intact (see replaceDirAtomic).
 */
import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Tensor } from "../tensor/tensor.js";
import {
  checkBertConfigAgainstWeights,
  checkGpt2ConfigAgainstWeights,
  checkTrainerState,
} from "./checkpoint-schema.js";
import {
  checkpointPhase,
  makeTempDirFor,
  readJson,
  readSafetensorsFile,
  recoverDir,
  replaceDirAtomic,
  writeSafetensorsFile,
} from "./node-fs.js";
import type { RawTensor } from "./safetensors.js";
import { FileError, SchemaError, s, validateJson } from "./schema.js";

/** The files of a training checkpoint folder, as {@link writeCheckpoint} writes and {@link readCheckpoint} returns them. */
export interface CheckpointContent {
  /** config.json: the model's configuration (Hugging Face field names where a layout exists). */
  config: object;
  /** train_config.json: the training configuration. */
  trainConfig: object;
  /** tokenizer.json (Hugging Face format). */
  tokenizer: object;
  /** model.safetensors. */
  weights: Map<string, RawTensor>;
  /** Optimizer state: any JSON-like value whose tensors go to optimizer.safetensors. */
  optimizer: unknown;
  /** trainer_state.json: step, RNG and data positions, best loss. */
  trainerState: unknown;
}

/** Converts a tensor to the safetensors record form (bool becomes int32). */
export function toRaw(t: Tensor): RawTensor {
  const data = t.toArray();
  if (data instanceof Uint8Array) return { dtype: "int32", shape: [...t.shape], data: Int32Array.from(data) };
  return { dtype: t.dtype as RawTensor["dtype"], shape: [...t.shape], data: data as RawTensor["data"] };
}

/** Wraps a safetensors record as a tensor (sharing its buffer). */
export function fromRaw(r: RawTensor): Tensor {
  return new Tensor(r.data, r.shape);
}

/** Splits a JSON-like value into JSON (tensors replaced by {"$tensor": key}) and a tensor map. */
function extractTensors(value: unknown, tensors: Map<string, RawTensor>): unknown {
  if (value instanceof Tensor) {
    const key = `t${tensors.size}`;
    tensors.set(key, toRaw(value));
    return { $tensor: key };
  }
  if (Array.isArray(value)) return value.map((v) => extractTensors(v, tensors));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = extractTensors(v, tensors);
    return out;
  }
  // JSON has no Infinity/NaN; keep them as tagged strings so state restores exactly.
  if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
  return value;
}

function restoreTensors(value: unknown, tensors: Map<string, RawTensor>, file: string): unknown {
  if (Array.isArray(value)) return value.map((v) => restoreTensors(v, tensors, file));
  if (value && typeof value === "object") {
    const rec = value as Record<string, unknown>;
    if (typeof rec.$tensor === "string") {
      const raw = tensors.get(rec.$tensor);
      if (!raw)
        throw new SchemaError(`${file}: tensor "${rec.$tensor}" is missing from optimizer.safetensors`, {
          file,
          field: rec.$tensor,
        });
      return fromRaw(raw);
    }
    if (typeof rec.$number === "string") return Number(rec.$number);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rec)) out[k] = restoreTensors(v, tensors, file);
    return out;
  }
  return value;
}

/** JSON-like value with non-finite numbers tagged (Infinity survives the round trip). */
function encodeJson(value: unknown): string {
  return `${JSON.stringify(extractTensors(value, new Map()), null, 2)}\n`;
}

/**
 * Writes a checkpoint folder atomically (old contents stay until the new folder is complete).
 * @example await writeCheckpoint("runs/default/last", content)
 */
export async function writeCheckpoint(dir: string, c: CheckpointContent): Promise<void> {
  const tmp = await makeTempDirFor(dir);
  await checkpointPhase("temp-made");
  const optTensors = new Map<string, RawTensor>();
  const optJson = extractTensors(c.optimizer, optTensors);
  await writeFile(join(tmp, "config.json"), `${JSON.stringify(c.config, null, 2)}\n`);
  await checkpointPhase("config");
  await writeFile(join(tmp, "train_config.json"), `${JSON.stringify(c.trainConfig, null, 2)}\n`);
  await checkpointPhase("train-config");
  await writeFile(join(tmp, "tokenizer.json"), JSON.stringify(c.tokenizer));
  await checkpointPhase("tokenizer");
  await writeSafetensorsFile(join(tmp, "model.safetensors"), c.weights, { format: "pt" });
  await checkpointPhase("model");
  await writeSafetensorsFile(join(tmp, "optimizer.safetensors"), optTensors);
  await checkpointPhase("optimizer-tensors");
  await writeFile(join(tmp, "optimizer.json"), `${JSON.stringify(optJson)}\n`);
  await checkpointPhase("optimizer-json");
  await writeFile(join(tmp, "trainer_state.json"), encodeJson(c.trainerState));
  await checkpointPhase("trainer-state");
  await replaceDirAtomic(tmp, dir);
}

/** True when `dir` (or its interrupted-swap backup) holds a checkpoint. */
export async function checkpointExists(dir: string): Promise<boolean> {
  if ((await recoverDir(dir)) === "absent") return false;
  try {
    await access(join(dir, "trainer_state.json"));
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a checkpoint folder, recovering it first if a previous swap was interrupted.
 * Errors name the folder and the file.
 */
export async function readCheckpoint(
  dir: string,
  opts: { optimizer?: boolean } = {},
): Promise<CheckpointContent> {
  if ((await recoverDir(dir)) === "absent")
    throw new FileError(`checkpoint folder ${dir} does not exist`, { file: dir, code: "ENOENT" });
  const object = (v: unknown, file: string): object =>
    validateJson(s.object({}, { extra: "allow" }), v, file);
  const configPath = join(dir, "config.json");
  const trainConfigPath = join(dir, "train_config.json");
  const config = object(await readJson(configPath, "checkpoint config"), configPath);
  const trainConfig = object(await readJson(trainConfigPath, "checkpoint training config"), trainConfigPath);
  const model = validateJson(
    s.object({ model: s.oneOf("gpt", "bert", "seq2seq") }, { extra: "allow" }),
    trainConfig,
    trainConfigPath,
  ).model;
  const tokenizerPath = join(dir, "tokenizer.json");
  const tokenizer = object(await readJson(tokenizerPath, "checkpoint tokenizer"), tokenizerPath);
  const weights = (await readSafetensorsFile(join(dir, "model.safetensors"))).tensors;
  // config.json must describe these weights before any model is built from it.
  if (model === "gpt") checkGpt2ConfigAgainstWeights(config, weights, configPath);
  if (model === "bert") checkBertConfigAgainstWeights(config, weights, configPath);
  const statePath = join(dir, "trainer_state.json");
  const trainerState = checkTrainerState(
    restoreTensors(await readJson(statePath, "checkpoint trainer state"), new Map(), statePath),
    model,
    statePath,
  );
  let optimizer: unknown = null;
  if (opts.optimizer ?? true) {
    const optTensors = (await readSafetensorsFile(join(dir, "optimizer.safetensors"))).tensors;
    optimizer = restoreTensors(
      await readJson(join(dir, "optimizer.json"), "checkpoint optimizer state"),
      optTensors,
      join(dir, "optimizer.json"),
    );
  }
  return { config, trainConfig, tokenizer, weights, optimizer, trainerState };
}
