/**
 * Model folders as named files, browser-safe: one reader of a checkpoint folder (config.json, the
 * weights in model.safetensors or index-listed shards, tokenizer.json and train_config.json where
 * present) over a `CheckpointSource`, used by `loadPretrained(GPT, files)` on bytes a page has and
 * by `qkv/node`'s `fromPretrained` / `loadPretrainedDir` on a folder; and the reverse,
 * `pretrainedFiles(model, …)`, the bytes of such a folder (what `qkv sample` opens).
 */
import { loadTokenizer } from "../tokenizers/index.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { QkvError } from "../util/errors.js";
import { Generator } from "../util/rng.js";
import { type HFCheckpoint, hfConfigObject, serializeHFCheckpoint } from "./hf-checkpoint.js";
import { parseSafetensors, type RawTensor } from "./safetensors.js";

/**
 * A model class that loads from an in-memory checkpoint: GPT, Bert, BertForMaskedLM,
 * BertForSequenceClassification, or your own class with the same static.
 * @example const cls: HFLoadable<GPT, HFLoadOptions> = GPT;
 */
export interface HFLoadable<M, O> {
  /** Builds the model from a Hugging Face config.json and its tensors by HF name. */
  fromHF(config: Record<string, unknown>, tensors: Map<string, RawTensor>, opts?: O): M;
}

/**
 * A model that exports an in-memory checkpoint (any qkv model with `toHF()`).
 * @example const m: HFSavable = new GPT(config);
 */
export interface HFSavable {
  /** The model's Hugging Face config and tensors by HF name. */
  toHF(): HFCheckpoint;
}

/**
 * The files of a checkpoint folder, read by name: a folder on disk (`qkv/node`) or bytes in memory.
 * Errors name a file through `path`.
 * @example const src = filesSource(new Map([["config.json", text], ["model.safetensors", bytes]]));
 */
export interface CheckpointSource {
  /** Where the files are, for messages: a folder path, or "the given files". */
  readonly where: string;
  /** How a message names one file: its path in the folder, or its name. */
  path(name: string): string;
  /** Whether the file is there. */
  has(name: string): Promise<boolean>;
  /** The parsed JSON of a file; `what` names it in errors ("model config"); a missing file throws. */
  json(name: string, what: string): Promise<unknown>;
  /** The tensors of a safetensors file; a missing file throws. */
  safetensors(name: string): Promise<Map<string, RawTensor>>;
}

function indexError(indexPath: string, problem: string, field?: string): QkvError {
  return new QkvError(`safetensors index ${indexPath}: ${problem}`, { file: indexPath, field });
}

/** A shard name from an index must be a plain file name in the same folder. */
function validShardName(name: unknown): name is string {
  return (
    typeof name === "string" &&
    name.length > 0 &&
    name.length <= 255 &&
    name !== "." &&
    name !== ".." &&
    !/[\\/\0]/.test(name)
  );
}

/**
 * The shards a parsed `model.safetensors.index.json` lists, each with its tensor names, checked:
 * an object whose `weight_map` maps names to plain file names in the same folder. Shared by the
 * folder reader (qkv/node) and the file-map reader, so both refuse the same indexes the same way.
 * @example shardsOfIndex({ weight_map: { "a.weight": "model-00001-of-00001.safetensors" } }, "index.json")
 */
export function shardsOfIndex(index: unknown, indexPath: string): Map<string, string[]> {
  if (index === null || typeof index !== "object" || Array.isArray(index))
    throw indexError(indexPath, "must hold a JSON object");
  const map = (index as Record<string, unknown>).weight_map;
  if (map === null || typeof map !== "object" || Array.isArray(map))
    throw indexError(indexPath, `"weight_map" must be an object of tensor name to shard file`, "weight_map");
  const byShard = new Map<string, string[]>();
  for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
    if (!validShardName(shard)) {
      const shown = JSON.stringify(shard)?.slice(0, 80) ?? String(shard);
      throw indexError(
        indexPath,
        `weight_map[${JSON.stringify(tensor)}] names an invalid shard ${shown}`,
        "weight_map",
      );
    }
    const names = byShard.get(shard) ?? [];
    names.push(tensor);
    byShard.set(shard, names);
  }
  return byShard;
}

/** Throws, naming the index, when `shard` lacks some of the tensors the index puts in it. */
export function checkShardHolds(
  indexPath: string,
  shard: string,
  names: readonly string[],
  has: (name: string) => boolean,
): void {
  const absent = names.filter((n) => !has(n));
  if (absent.length === 0) return;
  const list = absent
    .slice(0, 8)
    .map((n) => JSON.stringify(n))
    .join(", ");
  throw indexError(indexPath, `lists ${absent.length} tensor(s) that ${shard} lacks: ${list}`, "weight_map");
}

/**
 * Reads a Hugging Face checkpoint from a source: config.json and the weights, `model.safetensors` or
 * the shards listed in `model.safetensors.index.json`. PyTorch pickles (`pytorch_model.bin`) are
 * refused with a hint.
 * @example const { config, tensors } = await readHFCheckpointFrom(filesSource(files));
 */
export async function readHFCheckpointFrom(src: CheckpointSource): Promise<HFCheckpoint> {
  const config = hfConfigObject(await src.json("config.json", "model config"), src.path("config.json"));
  if (await src.has("model.safetensors"))
    return { config, tensors: await src.safetensors("model.safetensors") };
  const indexName = "model.safetensors.index.json";
  if (await src.has(indexName)) {
    const indexPath = src.path(indexName);
    const byShard = shardsOfIndex(await src.json(indexName, "safetensors index"), indexPath);
    const tensors = new Map<string, RawTensor>();
    for (const [shard, names] of byShard) {
      const file = await src.safetensors(shard);
      checkShardHolds(indexPath, shard, names, (n) => file.has(n));
      for (const n of names) tensors.set(n, file.get(n) as RawTensor);
    }
    return { config, tensors };
  }
  const hint = (await src.has("pytorch_model.bin"))
    ? " (only pytorch_model.bin is present: qkv reads safetensors only; convert it with HF's save_pretrained(safe_serialization=True))"
    : "";
  throw new Error(`no model.safetensors in ${src.where}${hint}`);
}

/**
 * A loaded folder: the model (in eval mode), and the tokenizer and training configuration when the
 * folder has them (a qkv checkpoint does; a Hugging Face model folder may have tokenizer.json only).
 * @example const { model, tokenizer } = await loadPretrained(GPT, files);
 */
export interface Pretrained<M> {
  model: M;
  /** From tokenizer.json, or null when the folder has none. */
  tokenizer: Tokenizer | null;
  /** config.json as parsed. */
  config: Record<string, unknown>;
  /** train_config.json (written by `qkv train`), or null when absent. */
  trainConfig: Record<string, unknown> | null;
}

/**
 * Loads a model (through `cls.fromHF`), its tokenizer and its training configuration from a source.
 * @example const { model, tokenizer } = await loadPretrainedFrom(GPT, filesSource(files));
 */
export async function loadPretrainedFrom<M, O>(
  cls: HFLoadable<M, O>,
  src: CheckpointSource,
  opts?: O,
): Promise<Pretrained<M>> {
  const { config, tensors } = await readHFCheckpointFrom(src);
  const model = cls.fromHF(config, tensors, opts);
  let tokenizer: Tokenizer | null = null;
  if (await src.has("tokenizer.json")) {
    const json = await src.json("tokenizer.json", "tokenizer");
    try {
      tokenizer = loadTokenizer(json);
    } catch (e) {
      // The tokenizer's own errors may already name tokenizer.json; name the file's path once.
      const path = src.path("tokenizer.json");
      const msg = (e as Error).message.replace(/^tokenizer\.json:\s*/, "");
      throw new QkvError(`${path}: ${msg}`, { file: path });
    }
  }
  let trainConfig: Record<string, unknown> | null = null;
  if (await src.has("train_config.json")) {
    const path = src.path("train_config.json");
    trainConfig = hfConfigObject(await src.json("train_config.json", "training config"), path);
  }
  return { model, tokenizer, config, trainConfig };
}

/** What a page may hold for one file: bytes, text, or a Blob / File (read asynchronously). */
export type PretrainedFileData = Uint8Array | ArrayBuffer | string | Blob;

/**
 * The files of a folder: a Map or object from file name to contents, or a list of `{ name, bytes }`
 * or File objects (a FileList from `<input type="file" webkitdirectory>` or a drop). Names may carry
 * a folder prefix ("best/config.json"); only the last part counts.
 * @example const files: PretrainedFiles = input.files!; // or new Map([["config.json", text], …])
 */
export type PretrainedFiles =
  | ReadonlyMap<string, PretrainedFileData>
  | Readonly<Record<string, PretrainedFileData>>
  | Iterable<{ readonly name: string; readonly bytes: Uint8Array | ArrayBuffer | string } | NamedBlob>;

/** A Blob with a name: what File is. */
export interface NamedBlob extends Blob {
  readonly name: string;
}

function isBlob(x: unknown): x is Blob {
  return typeof (x as Blob | null)?.arrayBuffer === "function" && typeof (x as Blob).size === "number";
}

async function toBytes(data: unknown, name: string): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === "string") return new TextEncoder().encode(data);
  if (isBlob(data)) return new Uint8Array(await data.arrayBuffer());
  throw new QkvError(`file ${name}: expected bytes (Uint8Array, ArrayBuffer), text or a Blob/File`, {
    file: name,
  });
}

function baseName(name: string): string {
  return name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
}

/**
 * The files as a name → bytes map (each Blob read once). Throws naming a file given twice or one
 * whose contents are not bytes, text or a Blob.
 * @example const bytes = await readPretrainedFiles(input.files!);
 */
export async function readPretrainedFiles(files: PretrainedFiles): Promise<Map<string, Uint8Array>> {
  let entries: [string, unknown][];
  if (files instanceof Map) entries = [...files.entries()];
  else if (typeof (files as Iterable<unknown>)[Symbol.iterator] === "function")
    entries = [...(files as Iterable<{ name: string; bytes?: unknown }>)].map((f) => {
      if (typeof f?.name !== "string")
        throw new QkvError("loadPretrained: each file needs a name (a File, or { name, bytes })");
      return [f.name, isBlob(f) ? f : f.bytes];
    });
  else if (files !== null && typeof files === "object") entries = Object.entries(files);
  else
    throw new QkvError("loadPretrained: files must be a Map, an object of name → bytes, or a list of files");
  const out = new Map<string, Uint8Array>();
  for (const [full, data] of entries) {
    const name = baseName(full);
    if (out.has(name)) throw new QkvError(`loadPretrained: two files are named ${name}`, { file: name });
    out.set(name, await toBytes(data, name));
  }
  return out;
}

/**
 * A source over files in memory; `where` names them in messages.
 * @example const src = filesSource(await readPretrainedFiles(input.files!));
 */
export function filesSource(
  files: ReadonlyMap<string, Uint8Array>,
  where = "the given files",
): CheckpointSource {
  const get = (name: string, what: string): Uint8Array => {
    const bytes = files.get(name);
    if (!bytes)
      throw new QkvError(
        `${what} not found: ${name} is not among ${where} (${[...files.keys()].join(", ")})`,
        {
          file: name,
        },
      );
    return bytes;
  };
  return {
    where,
    path: (name) => name,
    has: async (name) => files.has(name),
    json: async (name, what) => {
      const text = new TextDecoder().decode(get(name, what));
      try {
        return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
      } catch (e) {
        throw new QkvError(`${what} ${name} is not valid JSON: ${(e as Error).message}`, { file: name });
      }
    },
    safetensors: async (name) => parseSafetensors(get(name, "safetensors file"), { name }).tensors,
  };
}

/**
 * Loads a model folder from files a page has (fetched, dropped or picked), as `qkv/node`'s
 * `loadPretrainedDir(cls, dir)` does from disk: the model through `cls.fromHF` (eval mode), and the
 * tokenizer and training configuration when present. Float tensors may be views into the given
 * bytes, so keep them unchanged.
 * @example
 * const { model, tokenizer } = await loadPretrained(GPT, input.files!);
 * const { model: gpt2 } = await loadPretrained(GPT, {
 *   "config.json": await (await fetch("gpt2/config.json")).text(),
 *   "model.safetensors": await (await fetch("gpt2/model.safetensors")).arrayBuffer(),
 * });
 */
export async function loadPretrained<M, O>(
  cls: HFLoadable<M, O>,
  files: PretrainedFiles,
  opts?: O,
): Promise<Pretrained<M>> {
  return loadPretrainedFrom(cls, filesSource(await readPretrainedFiles(files)), opts);
}

/** What `pretrainedFiles` writes besides the model. */
export interface PretrainedFilesOptions {
  /** Written as tokenizer.json. */
  tokenizer?: Tokenizer;
  /**
   * Written as train_config.json. With it (and a tokenizer) the files are a qkv checkpoint that
   * `qkv sample`, `qkv eval` and `qkv info` open: it must then say `model: "gpt"` (or "bert").
   */
  trainConfig?: Record<string, unknown>;
  /**
   * Written as trainer_state.json when `trainConfig` is given (default: iteration 0, no best loss,
   * generators seeded 0, in the layout trainer_state.json's schema asks of the model family).
   * Non-finite numbers are tagged, as in checkpoints qkv writes.
   */
  trainerState?: Record<string, unknown>;
}

/** A trainer_state.json for a run at iteration 0 that checkTrainerState accepts for `model`. */
function freshTrainerState(model: unknown): Record<string, unknown> {
  const gen = () => new Generator(0).getState();
  const task = model === "bert" ? { sampler: { generator: gen() }, masking: gen() } : { generator: gen() };
  return { iter: 0, bestValLoss: Number.POSITIVE_INFINITY, rng: gen(), task, elapsedMs: 0 };
}

/**
 * The files of a model folder as name → bytes, for a page's download: config.json and
 * model.safetensors exactly as `qkv/node`'s `savePretrained` writes them, tokenizer.json, and with
 * `trainConfig` the train_config.json and trainer_state.json that make it a checkpoint `qkv sample`
 * opens (no optimizer state: it cannot be resumed).
 * @example
 * const files = pretrainedFiles(model, { tokenizer, trainConfig: { model: "gpt" } });
 * for (const [name, bytes] of files) offerDownload(name, new Blob([bytes]));
 */
export function pretrainedFiles(
  model: HFSavable,
  opts: PretrainedFilesOptions = {},
): Map<string, Uint8Array> {
  const { config, safetensors } = serializeHFCheckpoint(model.toHF());
  const enc = new TextEncoder();
  const files = new Map<string, Uint8Array>([
    ["config.json", enc.encode(config)],
    ["model.safetensors", safetensors],
  ]);
  if (opts.tokenizer) files.set("tokenizer.json", enc.encode(JSON.stringify(opts.tokenizer.toJSON())));
  if (opts.trainConfig) {
    files.set("train_config.json", enc.encode(`${JSON.stringify(opts.trainConfig, null, 2)}\n`));
    const state = opts.trainerState ?? freshTrainerState(opts.trainConfig.model);
    // Non-finite numbers are tagged as qkv/node's writeCheckpoint tags them ({"$number": "Infinity"}).
    const tag = (_k: string, v: unknown) =>
      typeof v === "number" && !Number.isFinite(v) ? { $number: String(v) } : v;
    files.set("trainer_state.json", enc.encode(`${JSON.stringify(state, tag, 2)}\n`));
  } else if (opts.trainerState) {
    throw new QkvError("pretrainedFiles: trainerState needs trainConfig (a checkpoint has both)", {
      field: "trainerState",
    });
  }
  return files;
}
