/**
 * Node-only reading and writing of HF-style model folders (config.json + model.safetensors, or a
 * sharded model.safetensors.index.json). Models reach this through a dynamic import from
 * `fromPretrained` / `savePretrained`, so browser bundles never load `node:` modules.
 */
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { readJson, readSafetensorsFile, writeJsonAtomic, writeSafetensorsFile } from "./node-fs.js";
import type { RawTensor } from "./safetensors.js";

/** A model folder's contents in memory. */
export interface PretrainedFiles {
  config: Record<string, unknown>;
  tensors: Map<string, RawTensor>;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads `dir/config.json` and the weights: `model.safetensors`, or the shards listed in
 * `model.safetensors.index.json`. PyTorch pickles (`pytorch_model.bin`) are refused with a hint.
 * @example const { config, tensors } = await readPretrained("checkpoints/gpt2");
 */
export async function readPretrained(dir: string): Promise<PretrainedFiles> {
  const config = await readJson<Record<string, unknown>>(join(dir, "config.json"), "model config");
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new Error(`model config ${join(dir, "config.json")} must hold a JSON object`);
  }
  const single = join(dir, "model.safetensors");
  if (await isFile(single)) return { config, tensors: (await readSafetensorsFile(single)).tensors };
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
    return { config, tensors };
  }
  const hint = (await isFile(join(dir, "pytorch_model.bin")))
    ? " (only pytorch_model.bin is present: qkv reads safetensors only; convert it with HF's save_pretrained(safe_serialization=True))"
    : "";
  throw new Error(`no model.safetensors in ${dir}${hint}`);
}

/**
 * Writes `dir/model.safetensors` (with HF's `{"format": "pt"}` metadata, which HF requires)
 * and then `dir/config.json`, each atomically; other files in `dir` are left alone.
 * @example await writePretrained("out/model", model.toHF());
 */
export async function writePretrained(dir: string, files: PretrainedFiles): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeSafetensorsFile(join(dir, "model.safetensors"), files.tensors, { format: "pt" });
  await writeJsonAtomic(join(dir, "config.json"), files.config);
}
