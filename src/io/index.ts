/**
 * Browser-safe checkpoint I/O: safetensors parsing/serialization, Hugging Face checkpoints
 * from and to bytes, and narrow-float bit conversions. File-system helpers live in the node-*.ts
 * files beside this one and are exported from `qkv/node` only, so this module bundles for a browser.
 */

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
  type HFCheckpointFiles,
  parseHFCheckpoint,
  serializeHFCheckpoint,
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
  type ParseSafetensorsOptions,
  parseSafetensors,
  parseSafetensorsHeader,
  type RawTensor,
  SAFETENSORS_MAX_HEADER_BYTES,
  type SafetensorsDtype,
  type SafetensorsEntry,
  SafetensorsError,
  type SafetensorsHeader,
  type SerializeSafetensorsOptions,
  serializeSafetensors,
} from "./safetensors.js";
