/**
 * Node-only reading and writing of Hugging Face model folders (config.json + model.safetensors,
 * or shards listed in model.safetensors.index.json), and `fromPretrained` / `savePretrained` for
 * any model class with a static `fromHF` and an instance `toHF`. Exported from `qkv/node` only:
 * the models themselves know nothing of folders, so the main entry bundles for a browser, where
 * `parseHFCheckpoint` turns fetched bytes into the same checkpoint.
 */
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { QkvError } from "../util/errors.js";
import {
  type HFCheckpoint,
  type HFSaveOptions,
  hfConfigObject,
  serializeHFCheckpointFiles,
} from "./hf-checkpoint.js";
import { readJson, readSafetensorsFile, writeFileAtomic } from "./node-fs.js";
import { openSafetensorsFile, type SafetensorsFile } from "./node-safetensors.js";
import {
  type CheckpointSource,
  checkShardHolds,
  type HFLoadable,
  type HFSavable,
  loadPretrainedFrom,
  type Pretrained,
  shardsOfIndex,
} from "./pretrained.js";
import type { RawTensor } from "./safetensors.js";

export type { HFLoadable, HFSavable, Pretrained } from "./pretrained.js";

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * A Hugging Face folder opened for loading: its config, and its tensors as lazy RawTensors
 * (dtype and shape from the safetensors headers, `data` read from the file on each access), so
 * a loader can check every name and shape before reading a byte of tensor data.
 * @example
 * const src = await openPretrainedDir("checkpoints/gpt2");
 * try { console.log([...src.tensors.keys()]); } finally { await src.close(); }
 */
export interface PretrainedSource {
  config: Record<string, unknown>;
  /** generation_config.json, when the folder has one. */
  generationConfig?: Record<string, unknown>;
  /** Lazy tensors, valid until {@link close}: reading `data` reads the tensor from its file. */
  tensors: Map<string, RawTensor>;
  /** Reads one tensor eagerly (into its own storage). */
  read(name: string): Promise<RawTensor>;
  /** Closes the safetensors files; the lazy tensors are unreadable afterwards. */
  close(): Promise<void>;
}

/**
 * Opens `dir`: reads config.json and the safetensors headers only (`model.safetensors`, or every
 * shard listed in `model.safetensors.index.json`, whose entries are checked against the shards'
 * headers). PyTorch pickles (`pytorch_model.bin`) are refused with a hint. Errors name the file.
 * @example const { config, tensors, close } = await openPretrainedDir("checkpoints/gpt2");
 */
export async function openPretrainedDir(dir: string): Promise<PretrainedSource> {
  const configPath = join(dir, "config.json");
  const config = hfConfigObject(await readJson(configPath, "model config"), configPath);
  const genPath = join(dir, "generation_config.json");
  const generationConfig = (await isFile(genPath))
    ? hfConfigObject(await readJson(genPath, "generation config"), genPath)
    : undefined;
  const files: SafetensorsFile[] = [];
  const owner = new Map<string, SafetensorsFile>();
  const source = (): PretrainedSource => {
    const tensors = new Map<string, RawTensor>();
    for (const [name, f] of owner) tensors.set(name, f.lazy(name));
    return {
      config,
      ...(generationConfig ? { generationConfig } : {}),
      tensors,
      read: async (name) => {
        const f = owner.get(name);
        if (!f)
          throw new QkvError(`${dir}: no tensor named ${JSON.stringify(name)}`, { file: dir, field: name });
        return f.read(name);
      },
      close: async () => {
        await Promise.all(files.map((f) => f.close()));
      },
    };
  };
  try {
    const single = join(dir, "model.safetensors");
    if (await isFile(single)) {
      const f = await openSafetensorsFile(single);
      files.push(f);
      for (const e of f.header.entries) owner.set(e.name, f);
      return source();
    }
    const indexPath = join(dir, "model.safetensors.index.json");
    if (await isFile(indexPath)) {
      const byShard = shardsOfIndex(await readJson(indexPath, "safetensors index"), indexPath);
      for (const [shard, names] of byShard) {
        const f = await openSafetensorsFile(join(dir, shard));
        files.push(f);
        checkShardHolds(indexPath, shard, names, (n) => f.entries.has(n));
        for (const n of names) owner.set(n, f);
      }
      return source();
    }
  } catch (e) {
    await Promise.all(files.map((f) => f.close().catch(() => {})));
    throw e;
  }
  const hint = (await isFile(join(dir, "pytorch_model.bin")))
    ? " (only pytorch_model.bin is present: qkv reads safetensors only; convert it with HF's save_pretrained(safe_serialization=True))"
    : "";
  throw new QkvError(`no model.safetensors in ${dir}${hint}`, { file: join(dir, "model.safetensors") });
}

/**
 * Reads `dir/config.json` and every tensor of the weights: `model.safetensors`, or the shards
 * listed in `model.safetensors.index.json` (each tensor by its own positional read, so files
 * over 4 GiB load). Use {@link fromPretrained} to load a model without reading what it lacks.
 * @example const { config, tensors } = await readPretrainedDir("checkpoints/gpt2");
 */
export async function readPretrainedDir(dir: string): Promise<HFCheckpoint> {
  const src = await openPretrainedDir(dir);
  try {
    const tensors = new Map<string, RawTensor>();
    for (const name of src.tensors.keys()) tensors.set(name, await src.read(name));
    return {
      config: src.config,
      tensors,
      ...(src.generationConfig ? { generationConfig: src.generationConfig } : {}),
    };
  } finally {
    await src.close();
  }
}

/**
 * Writes the weights (`dir/model.safetensors`, or with `opts.maxShardSize` HF-named shards and
 * `model.safetensors.index.json`) and then `dir/config.json`, each atomically, with the bytes
 * `serializeHFCheckpointFiles` gives (so a page's download and a folder hold the same files);
 * other files in `dir` are left alone.
 * @example await writePretrainedDir("out/model", model.toHF());
 */
export async function writePretrainedDir(
  dir: string,
  checkpoint: HFCheckpoint,
  opts: HFSaveOptions = {},
): Promise<void> {
  const files = serializeHFCheckpointFiles(checkpoint, opts);
  await mkdir(dir, { recursive: true });
  for (const f of files) await writeFileAtomic(join(dir, f.name), f.content);
}

/**
 * Loads a Hugging Face folder into `cls` (HF's `Cls.from_pretrained(dir)`), through the class's
 * `fromHF`; `opts` are that class's load options. The model comes back in eval mode.
 * @example
 * const gpt = await fromPretrained(GPT, "checkpoints/gpt2");
 * const clf = await fromPretrained(BertForSequenceClassification, dir, { numLabels: 3, strict: false });
 */
export async function fromPretrained<M, O>(cls: HFLoadable<M, O>, dir: string, opts?: O): Promise<M> {
  // Lazy tensors: the model checks names and shapes from the headers, then reads the tensors it
  // uses together into one buffer its parameters view, so a mismatched checkpoint is refused
  // without reading its data, and a file costs the model's weights, not the file's size.
  const src = await openPretrainedDir(dir);
  try {
    // A generation_config.json reaches classes that take one (BART) as a load option.
    const gc = src.generationConfig;
    return cls.fromHF(src.config, src.tensors, gc ? ({ generationConfig: gc, ...opts } as O) : opts);
  } finally {
    await src.close();
  }
}

/**
 * Writes `model` as a Hugging Face folder (HF's `model.save_pretrained(dir)`): what `toHF()`
 * returns, through {@link writePretrainedDir}.
 * @example await savePretrained(model, "out/my-gpt"); // then AutoModel.from_pretrained("out/my-gpt")
 */
export async function savePretrained(model: HFSavable, dir: string, opts: HFSaveOptions = {}): Promise<void> {
  await writePretrainedDir(dir, model.toHF(), opts);
}

/**
 * A folder on disk as a checkpoint source: the reader shared with the browser's `loadPretrained`,
 * with messages naming each file's path.
 * @example const { model } = await loadPretrainedFrom(GPT, folderSource("runs/default/best"));
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
