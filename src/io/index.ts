/**
 * Browser-safe checkpoint I/O: safetensors parsing/serialization, Hugging Face checkpoints
 * from and to bytes, and narrow-float bit conversions. File-system helpers live in the node-*.ts
 * files beside this one and are exported from `qkv/node` only, so this module bundles for a browser.
 */

export {
  checkAdamState,
  checkBertConfigAgainstWeights,
  checkGpt2ConfigAgainstWeights,
  checkTrainerState,
  generatorStateSchema,
  MAX_ITERS,
  type Shaped,
} from "./checkpoint-schema.js";
export {
  bf16BitsToF32Bits,
  f8e4m3ToNumber,
  f8e5m2BitsToF32Bits,
  f16BitsToF32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
} from "./float-bits.js";
export {
  type HFCheckpoint,
  type HFCheckpointFile,
  type HFCheckpointFiles,
  type HFSaveOptions,
  parseHFCheckpoint,
  parseShardSize,
  serializeHFCheckpoint,
  serializeHFCheckpointFiles,
} from "./hf-checkpoint.js";
export {
  type CheckpointSource,
  filesSource,
  type HFLoadable,
  type HFSavable,
  loadPretrained,
  loadPretrainedFrom,
  type NamedBlob,
  type Pretrained,
  type PretrainedFileData,
  type PretrainedFiles,
  type PretrainedFilesOptions,
  pretrainedFiles,
  readHFCheckpointFrom,
  readPretrainedFiles,
} from "./pretrained.js";
export {
  decodeSafetensorsEntry,
  type ParseSafetensorsOptions,
  parseSafetensors,
  parseSafetensorsHeader,
  type RawTensor,
  type RawTensorSource,
  rawDtypeOf,
  SAFETENSORS_MAX_HEADER_BYTES,
  type SafetensorsDtype,
  type SafetensorsEntry,
  SafetensorsError,
  type SafetensorsHeader,
  type SerializeSafetensorsOptions,
  safetensorsItemSize,
  serializeSafetensors,
  type Transpose2d,
} from "./safetensors.js";
export {
  checkJsonDepth,
  errnoWords,
  FileError,
  type Infer,
  MAX_JSON_DEPTH,
  parseJsonText,
  type Schema,
  type SchemaAt,
  SchemaError,
  s as schema,
  validateJson,
} from "./schema.js";
