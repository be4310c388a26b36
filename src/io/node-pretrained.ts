/**
 * Node-only reading and writing of Hugging Face model folders (config.json + model.safetensors,
 * or shards listed in model.safetensors.index.json), and `fromPretrained` / `savePretrained` for
 * any model class with a static `fromHF` and an instance `toHF`. Exported from `qkv/node` only:
 * the models themselves know nothing of folders, so the main entry bundles for a browser, where
 * `parseHFCheckpoint` turns fetched bytes into the same checkpoint.
 */
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { type HFCheckpoint, hfConfigObject, serializeHFCheckpoint } from "./hf-checkpoint.js";
import { readJson, readSafetensorsFile, writeFileAtomic } from "./node-fs.js";
import type { RawTensor } from "./safetensors.js";

/**
 * A model class that loads from an in-memory checkpoint: GPT, Bert, BertForMaskedLM,
 * BertForSequenceClassification, or your own class with the same static.
 * @example const cls: HFLoadable<GPT, HFLoadOptions> = GPT;
 */
export interface HFLoadable<M, O> {
  fromHF(config: Record<string, unknown>, tensors: Map<string, RawTensor>, opts?: O): M;
}

/**
 * A model that exports an in-memory checkpoint (any qkv model with `toHF()`).
 * @example const m: HFSavable = new GPT(config);
 */
export interface HFSavable {
  toHF(): HFCheckpoint;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads `dir/config.json` (and `generation_config.json` when present) and the weights:
 * `model.safetensors`, or the shards listed in `model.safetensors.index.json`. PyTorch pickles (`pytorch_model.bin`) are refused with a hint.
 * @example const { config, tensors } = await readPretrainedDir("checkpoints/gpt2");
 */
export async function readPretrainedDir(dir: string): Promise<HFCheckpoint> {
  const configPath = join(dir, "config.json");
  const config = hfConfigObject(await readJson(configPath, "model config"), configPath);
  const genPath = join(dir, "generation_config.json");
  const extra = (await isFile(genPath))
    ? { generationConfig: hfConfigObject(await readJson(genPath, "generation config"), genPath) }
    : {};
  const single = join(dir, "model.safetensors");
  if (await isFile(single)) return { config, tensors: (await readSafetensorsFile(single)).tensors, ...extra };
  const indexPath = join(dir, "model.safetensors.index.json");
  if (await isFile(indexPath)) {
    const index = await readJson<{ weight_map?: Record<string, string> }>(indexPath, "safetensors index");
    const map = index.weight_map;
    if (!map || typeof map !== "object") throw new Error(`safetensors index ${indexPath} has no weight_map`);
    const tensors = new Map<string, RawTensor>();
    for (const shard of new Set(Object.values(map))) {
      if (typeof shard !== "string" || shard.includes("/") || shard.includes("\\")) {
        throw new Error(`safetensors index ${indexPath} names an invalid shard ${JSON.stringify(shard)}`);
      }
      for (const [k, t] of (await readSafetensorsFile(join(dir, shard))).tensors) {
        if (map[k] === shard) tensors.set(k, t);
      }
    }
    const absent = Object.keys(map).filter((k) => !tensors.has(k));
    if (absent.length > 0)
      throw new Error(
        `safetensors index ${indexPath} lists tensors its shards lack: ${absent.slice(0, 8).join(", ")}`,
      );
    return { config, tensors, ...extra };
  }
  const hint = (await isFile(join(dir, "pytorch_model.bin")))
    ? " (only pytorch_model.bin is present: qkv reads safetensors only; convert it with HF's save_pretrained(safe_serialization=True))"
    : "";
  throw new Error(`no model.safetensors in ${dir}${hint}`);
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
  if (files.generationConfig)
    await writeFileAtomic(join(dir, "generation_config.json"), files.generationConfig);
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
  const { config, tensors, generationConfig } = await readPretrainedDir(dir);
  // A generation_config.json reaches classes that take one (BART) as a load option.
  const o = generationConfig ? ({ generationConfig, ...opts } as O) : opts;
  return cls.fromHF(config, tensors, o);
}

/**
 * Writes `model` as a Hugging Face folder (HF's `model.save_pretrained(dir)`): what `toHF()`
 * returns, through {@link writePretrainedDir}.
 * @example await savePretrained(model, "out/my-gpt"); // then AutoModel.from_pretrained("out/my-gpt")
 */
export async function savePretrained(model: HFSavable, dir: string): Promise<void> {
  await writePretrainedDir(dir, model.toHF());
}
