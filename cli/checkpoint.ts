/** Opening a checkpoint folder for `sample`, `eval` and `info`. */
import { stat } from "node:fs/promises";
import { GPT, loadTokenizer, type Tokenizer, type TrainerState } from "../src/index.js";
import { readCheckpoint } from "../src/node.js";
import { CliError } from "./errors.js";

export interface OpenCheckpoint {
  dir: string;
  config: Record<string, unknown>;
  trainConfig: Record<string, unknown>;
  trainerState: TrainerState;
  tokenizer: Tokenizer;
  weights: Awaited<ReturnType<typeof readCheckpoint>>["weights"];
}

export async function openCheckpoint(dir: string): Promise<OpenCheckpoint> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new CliError(`--checkpoint: ${dir} is not a folder`);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`--checkpoint: ${dir} does not exist`);
  }
  let c: Awaited<ReturnType<typeof readCheckpoint>>;
  try {
    c = await readCheckpoint(dir, { optimizer: false });
  } catch (e) {
    throw new CliError(`--checkpoint: ${(e as Error).message}`);
  }
  return {
    dir,
    config: c.config as Record<string, unknown>,
    trainConfig: c.trainConfig as Record<string, unknown>,
    trainerState: c.trainerState as TrainerState,
    tokenizer: loadTokenizer(c.tokenizer),
    weights: c.weights,
  };
}

/** The GPT in a checkpoint, in eval mode; other model kinds are rejected by name. */
export function gptOf(ck: OpenCheckpoint, command: string): GPT {
  const kind = ck.trainConfig.model;
  if (kind !== "gpt")
    throw new CliError(`${command} needs a GPT checkpoint; ${ck.dir} holds a ${String(kind)} model`);
  const model = GPT.fromHF(ck.config, ck.weights);
  model.eval();
  return model;
}
