/**
 * A Hugging Face checkpoint in memory (config.json and model.safetensors, both parsed) and its
 * conversion from and to the bytes of those two files. Browser-safe: a page gets the bytes from
 * `fetch` or a file input; in Node, `readPretrainedDir` / `writePretrainedDir` from `qkv/node`
 * do the folder part.
 */
import { QkvError } from "../util/errors.js";
import { parseSafetensors, type RawTensor, serializeSafetensors } from "./safetensors.js";

/**
 * A checkpoint in memory: the parsed `config.json` and the tensors of `model.safetensors`.
 * What every model's static `fromHF(config, tensors)` takes and its `toHF()` returns.
 * @example const { config, tensors }: HFCheckpoint = model.toHF();
 */
export interface HFCheckpoint {
  config: Record<string, unknown>;
  tensors: Map<string, RawTensor>;
  /** The parsed `generation_config.json`, for generative models whose folder has one. */
  generationConfig?: Record<string, unknown>;
  /**
   * Top-level config fields that transformers types as float: written with a decimal point even
   * when whole (`0.0`, not `0`), since transformers 5 validates config types strictly and
   * rejects an int where it expects a float.
   */
  floatFields?: readonly string[];
}

/** generation_config.json as a checkpoint file, when the checkpoint has one. */
function generationFile(checkpoint: HFCheckpoint): HFCheckpointFile[] {
  if (!checkpoint.generationConfig) return [];
  const floats = ["length_penalty", "temperature", "top_p", "repetition_penalty"];
  return [{ name: "generation_config.json", content: configText(checkpoint.generationConfig, floats) }];
}

/** `JSON.stringify(obj, null, 2)` with the whole numbers of top-level `floatFields` written as `N.0`. */
function configText(obj: Record<string, unknown>, floatFields: readonly string[] = []): string {
  let text = JSON.stringify(obj, null, 2);
  for (const k of floatFields) {
    const v = obj[k];
    if (typeof v !== "number" || !Number.isInteger(v)) continue;
    text = text.replace(`\n  ${JSON.stringify(k)}: ${v}`, `\n  ${JSON.stringify(k)}: ${v}.0`);
  }
  return `${text}\n`;
}

/**
 * The two files of a checkpoint as bytes: config.json as text (or already parsed) and
 * model.safetensors.
 * @example const files: HFCheckpointFiles = { config: await r1.text(), safetensors: await r2.arrayBuffer() };
 */
export interface HFCheckpointFiles {
  config: string | Record<string, unknown>;
  safetensors: ArrayBuffer | Uint8Array;
  /** generation_config.json, when the folder has one. */
  generationConfig?: string | Record<string, unknown>;
}

/**
 * `value` as a config object, or an error naming `where`: a config.json must hold a JSON object.
 * @example const config = hfConfigObject(JSON.parse(text), "config.json");
 */
export function hfConfigObject(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new QkvError(`model config ${where} must hold a JSON object`, { file: where });
  return value as Record<string, unknown>;
}

/**
 * Parses a checkpoint from the bytes of its config.json and model.safetensors. Float32, float64
 * and int32 tensors may be views into `safetensors` (no copy), so keep those bytes unchanged.
 * @example
 * const ck = parseHFCheckpoint({ config: await (await fetch("gpt2/config.json")).text(),
 *   safetensors: await (await fetch("gpt2/model.safetensors")).arrayBuffer() });
 * const model = GPT.fromHF(ck.config, ck.tensors);
 */
export function parseHFCheckpoint(files: HFCheckpointFiles): HFCheckpoint {
  const json = (value: unknown, name: string): Record<string, unknown> => {
    if (typeof value === "string") {
      try {
        value = JSON.parse(value.charCodeAt(0) === 0xfeff ? value.slice(1) : value);
      } catch (e) {
        throw new QkvError(`model config ${name} is not valid JSON: ${(e as Error).message}`, { file: name });
      }
    }
    return { ...hfConfigObject(value, name) };
  };
  const { tensors } = parseSafetensors(files.safetensors, { name: "model.safetensors" });
  const out: HFCheckpoint = { config: json(files.config, "config.json"), tensors };
  if (files.generationConfig !== undefined)
    out.generationConfig = json(files.generationConfig, "generation_config.json");
  return out;
}

/**
 * The bytes of a checkpoint's two files, as HF's save_pretrained writes them: config.json
 * indented by 2 with a final newline, and model.safetensors with the `{"format": "pt"}`
 * metadata that transformers requires (and generation_config.json when the checkpoint has one).
 * @example const { config, safetensors } = serializeHFCheckpoint(model.toHF());
 */
export function serializeHFCheckpoint(checkpoint: HFCheckpoint): {
  config: string;
  safetensors: Uint8Array;
  generationConfig?: string;
} {
  const out: { config: string; safetensors: Uint8Array; generationConfig?: string } = {
    config: configText(checkpoint.config, checkpoint.floatFields),
    safetensors: serializeSafetensors(checkpoint.tensors, { format: "pt" }, { name: "model.safetensors" }),
  };
  if (checkpoint.generationConfig)
    out.generationConfig = configText(checkpoint.generationConfig, [
      "length_penalty",
      "temperature",
      "top_p",
      "repetition_penalty",
    ]);
  return out;
}

/**
 * Options for {@link serializeHFCheckpointFiles}.
 * @example const opts: HFSaveOptions = { maxShardSize: "2GB" };
 */
export interface HFSaveOptions {
  /**
   * Largest shard, in bytes or as HF writes it ("500MB", "5GB"; KB/MB/GB/TB are powers of 10).
   * When the weights exceed it they are split as HF's save_pretrained splits them, into
   * `model-00001-of-0000N.safetensors` files listed by `model.safetensors.index.json`. Default:
   * no limit (one model.safetensors).
   */
  maxShardSize?: number | string;
}

/**
 * One file of a checkpoint folder: its name and content.
 * @example const f: HFCheckpointFile = { name: "config.json", content: "{}\n" };
 */
export interface HFCheckpointFile {
  name: string;
  content: string | Uint8Array;
}

const SIZE_UNITS: Record<string, number> = { KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };

/**
 * A max shard size in bytes: a positive integer, or a string such as "5GB" (HF's units).
 * @example parseShardSize("500MB") // 500000000
 */
export function parseShardSize(size: number | string): number {
  let n = Number.NaN;
  if (typeof size === "number") n = size;
  else if (typeof size === "string") {
    const m = /^\s*([0-9]*\.?[0-9]+)\s*([KMGT]B)\s*$/i.exec(size);
    if (m) n = Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toUpperCase()]);
  }
  if (!Number.isSafeInteger(n) || n < 1)
    throw new QkvError(
      `maxShardSize must be a positive number of bytes or a size like "5GB", got ${JSON.stringify(size)}`,
      { field: "maxShardSize" },
    );
  return n;
}

/** Bytes a tensor takes in a safetensors file (as serializeSafetensors stores it). */
function storedBytes(t: RawTensor): number {
  return t.data.length * (t.dtype === "float64" ? 8 : 4);
}

/**
 * Splits tensors into shards of at most `maxBytes` as huggingface_hub's
 * split_state_dict_into_shards does: in order, a new shard when the next tensor would overflow
 * the current one, and a tensor bigger than the limit alone in a shard of its own. The order is
 * the names sorted, which is what transformers 5's save_pretrained hands it (checked against
 * its output in test/fixtures/hf/gpt2-tiny-sharded).
 */
function splitShards(tensors: Map<string, RawTensor>, maxBytes: number): Map<string, RawTensor>[] {
  const shards: Map<string, RawTensor>[] = [];
  let current = new Map<string, RawTensor>();
  let size = 0;
  const names = [...tensors.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const t = tensors.get(name) as RawTensor;
    const n = storedBytes(t);
    if (n > maxBytes) {
      shards.push(new Map([[name, t]]));
      continue;
    }
    if (size + n > maxBytes && current.size > 0) {
      shards.push(current);
      current = new Map();
      size = 0;
    }
    current.set(name, t);
    size += n;
  }
  if (current.size > 0) shards.push(current);
  return shards;
}

/** Python's json.dumps(indent=2, sort_keys=True) (ASCII-escaped), for an index file like HF's. */
function pythonJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const out: Record<string, unknown> = Object.create(null);
    const rec = v as Record<string, unknown>;
    for (const k of Object.keys(rec).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = sort(rec[k]);
    return out;
  };
  return JSON.stringify(sort(value), null, 2).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The files of a checkpoint folder as HF's save_pretrained writes them: the weights (one
 * `model.safetensors`, or shards and `model.safetensors.index.json` when they exceed
 * `opts.maxShardSize`), then `config.json`. Shards carry `{"format": "pt"}`; the index has
 * `metadata.total_size` (bytes of tensor data) and `metadata.total_parameters`, keys sorted.
 * @example
 * for (const f of serializeHFCheckpointFiles(model.toHF(), { maxShardSize: "2GB" })) download(f.name, f.content);
 */
export function serializeHFCheckpointFiles(
  checkpoint: HFCheckpoint,
  opts: HFSaveOptions = {},
): HFCheckpointFile[] {
  const config = configText(checkpoint.config, checkpoint.floatFields);
  const max = opts.maxShardSize === undefined ? Number.POSITIVE_INFINITY : parseShardSize(opts.maxShardSize);
  const shards = splitShards(checkpoint.tensors, max);
  if (shards.length <= 1) {
    const { safetensors } = serializeHFCheckpoint(checkpoint);
    return [
      { name: "model.safetensors", content: safetensors },
      { name: "config.json", content: config },
      ...generationFile(checkpoint),
    ];
  }
  const files: HFCheckpointFile[] = [];
  const weightMap: Record<string, string> = Object.create(null);
  let totalSize = 0;
  let totalParameters = 0;
  const width = (i: number) => String(i).padStart(5, "0");
  shards.forEach((shard, i) => {
    const name = `model-${width(i + 1)}-of-${width(shards.length)}.safetensors`;
    for (const [k, t] of shard) {
      weightMap[k] = name;
      totalSize += storedBytes(t);
      totalParameters += t.data.length;
    }
    files.push({ name, content: serializeSafetensors(shard, { format: "pt" }, { name }) });
  });
  const index = {
    metadata: { total_parameters: totalParameters, total_size: totalSize },
    weight_map: weightMap,
  };
  files.push({ name: "model.safetensors.index.json", content: `${pythonJson(index)}\n` });
  files.push({ name: "config.json", content: config }, ...generationFile(checkpoint));
  return files;
}
