/**
 * A Hugging Face checkpoint in memory (config.json and model.safetensors, both parsed) and its
 * conversion from and to the bytes of those two files. Browser-safe: a page gets the bytes from
 * `fetch` or a file input; in Node, `readPretrainedDir` / `writePretrainedDir` from `qkv/node`
 * do the folder part.
 */
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
    throw new Error(`model config ${where} must hold a JSON object`);
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
        throw new Error(`model config ${name} is not valid JSON: ${(e as Error).message}`, { cause: e });
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
