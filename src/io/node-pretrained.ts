/**
 * Node-only reading and writing of Hugging Face model folders (config.json + model.safetensors,
 * or shards listed in model.safetensors.index.json), and `fromPretrained` / `savePretrained` for
 * any model class with a static `fromHF` and an instance `toHF`. Exported from `qkv/node` only:
 * the models themselves know nothing of folders, so the main entry bundles for a browser, where
 * `loadPretrained(cls, files)` reads the same files from bytes by the same code (./pretrained.ts).
 */
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { type HFCheckpoint, serializeHFCheckpoint } from "./hf-checkpoint.js";
import { readJson, readSafetensorsFile, writeFileAtomic } from "./node-fs.js";
import {
  type CheckpointSource,
  type HFLoadable,
  type HFSavable,
  loadPretrainedFrom,
  type Pretrained,
  readHFCheckpointFrom,
} from "./pretrained.js";

export type { HFLoadable, HFSavable, Pretrained } from "./pretrained.js";

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * A folder on disk as a checkpoint source: the reader shared with the browser's `loadPretrained`,
 * with messages naming each file's path.
 * @example const { config } = await readHFCheckpointFrom(folderSource("checkpoints/gpt2"));
 */
export function folderSource(dir: string): CheckpointSource {
  return {
    where: dir,
    path: (name) => join(dir, name),
    has: (name) => isFile(join(dir, name)),
    json: (name, what) => readJson(join(dir, name), what),
    safetensors: async (name) => (await readSafetensorsFile(join(dir, name))).tensors,
  };
}

/**
 * Reads `dir/config.json` and the weights: `model.safetensors`, or the shards listed in
 * `model.safetensors.index.json`. PyTorch pickles (`pytorch_model.bin`) are refused with a hint.
 * @example const { config, tensors } = await readPretrainedDir("checkpoints/gpt2");
 */
export async function readPretrainedDir(dir: string): Promise<HFCheckpoint> {
  return readHFCheckpointFrom(folderSource(dir));
}

/**
 * Writes `dir/model.safetensors` and then `dir/config.json`, each atomically, with the bytes
 * `serializeHFCheckpoint` gives (so a page's download and a folder hold the same files); other
 * files in `dir` are left alone.
 * @example await writePretrainedDir("out/model", model.toHF());
 */
export async function writePretrainedDir(dir: string, checkpoint: HFCheckpoint): Promise<void> {
  const files = serializeHFCheckpoint(checkpoint);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, "model.safetensors"), files.safetensors);
  await writeFileAtomic(join(dir, "config.json"), files.config);
}

/**
 * Loads a Hugging Face folder into `cls` (HF's `Cls.from_pretrained(dir)`), through the class's
 * `fromHF`; `opts` are that class's load options. The model comes back in eval mode.
 * @example
 * const gpt = await fromPretrained(GPT, "checkpoints/gpt2");
 * const clf = await fromPretrained(BertForSequenceClassification, dir, { numLabels: 3, strict: false });
 */
export async function fromPretrained<M, O>(cls: HFLoadable<M, O>, dir: string, opts?: O): Promise<M> {
  const { config, tensors } = await readPretrainedDir(dir);
  return cls.fromHF(config, tensors, opts);
}

/**
 * Loads a folder's model (through `cls.fromHF`, eval mode), tokenizer.json and train_config.json
 * where present: what the browser's `loadPretrained(cls, files)` returns for the same files, by the
 * same code.
 * @example const { model, tokenizer } = await loadPretrainedDir(GPT, "runs/default/best");
 */
export async function loadPretrainedDir<M, O>(
  cls: HFLoadable<M, O>,
  dir: string,
  opts?: O,
): Promise<Pretrained<M>> {
  return loadPretrainedFrom(cls, folderSource(dir), opts);
}

/**
 * Writes `model` as a Hugging Face folder (HF's `model.save_pretrained(dir)`): what `toHF()`
 * returns, through {@link writePretrainedDir}.
 * @example await savePretrained(model, "out/my-gpt"); // then AutoModel.from_pretrained("out/my-gpt")
 */
export async function savePretrained(model: HFSavable, dir: string): Promise<void> {
  await writePretrainedDir(dir, model.toHF());
}
