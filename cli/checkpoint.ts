/** Opening a checkpoint folder for `sample`, `eval` and `info`. */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import {
  ConfigError,
  GPT,
  loadTokenizer,
  resolveConfig,
  type Tokenizer,
  type TrainerState,
} from "../src/index.js";
import { oldDirPath, readCheckpoint } from "../src/node.js";
import { CliError, EXIT, exitCodeOf } from "./errors.js";
import { repairCheckpointFolder } from "./run-folder.js";

export interface OpenCheckpoint {
  dir: string;
  config: Record<string, unknown>;
  trainConfig: Record<string, unknown>;
  trainerState: TrainerState;
  tokenizer: Tokenizer;
  weights: Awaited<ReturnType<typeof readCheckpoint>>["weights"];
}

export async function openCheckpoint(dir: string): Promise<OpenCheckpoint> {
  // A crash mid-swap leaves `last.qkv-old` instead of `last`: every reader repairs that first
  // (unless a live writer holds the run folder, which then reads the parked copy as it is).
  await repairCheckpointFolder(dir);
  let readFrom = dir;
  try {
    if (!(await stat(dir)).isDirectory()) throw new CliError(`--checkpoint: ${dir} is not a folder`);
  } catch (e) {
    if (e instanceof CliError) throw e;
    const parked = oldDirPath(dir);
    if (
      !(await stat(parked).then(
        (st) => st.isDirectory(),
        () => false,
      ))
    )
      throw new CliError(`--checkpoint: ${dir} does not exist`);
    readFrom = parked;
  }
  let c: Awaited<ReturnType<typeof readCheckpoint>>;
  try {
    c = await readCheckpoint(readFrom, { optimizer: false });
  } catch (e) {
    throw new CliError(`--checkpoint: ${(e as Error).message}`, exitCodeOf(e));
  }
  // train_config.json is checked as a whole (types, ranges, sizes) before anything uses it.
  try {
    resolveConfig({ overrides: [c.trainConfig as Record<string, unknown>] });
  } catch (e) {
    if (e instanceof ConfigError)
      throw new CliError(
        `--checkpoint: ${join(readFrom, "train_config.json")}: field "${e.field}": ${e.message}`,
        EXIT.badInput,
      );
    throw e;
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = loadTokenizer(c.tokenizer);
  } catch (e) {
    throw new CliError(
      `--checkpoint: ${join(dir, "tokenizer.json")}: ${(e as Error).message}`,
      exitCodeOf(e),
    );
  }
  return {
    dir,
    config: c.config as Record<string, unknown>,
    trainConfig: c.trainConfig as Record<string, unknown>,
    trainerState: c.trainerState as TrainerState,
    tokenizer,
    weights: c.weights,
  };
}

/** The GPT in a checkpoint, in eval mode; other model kinds are rejected by name. */
export function gptOf(ck: OpenCheckpoint, command: string): GPT {
  const kind = ck.trainConfig.model;
  if (kind !== "gpt")
    throw new CliError(
      `${command} needs a GPT checkpoint; ${ck.dir} holds a ${String(kind)} model`,
      EXIT.usage,
    );
  let model: GPT;
  try {
    model = GPT.fromHF(ck.config, ck.weights);
  } catch (e) {
    throw new CliError(`--checkpoint: ${ck.dir}: ${(e as Error).message}`, exitCodeOf(e));
  }
  model.eval();
  return model;
}
