/** `qkv sample`: text from a GPT checkpoint, streamed token by token. */
import { Generator, generate, gptStepModel, quantize } from "../src/index.js";
import { gptOf, openCheckpoint } from "./checkpoint.js";
import { CliError } from "./errors.js";
import { chooseBackend } from "./runtime.js";

export interface SampleFlags {
  checkpoint: string;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  stop?: string[];
  seed: number;
  numSamples: number;
  stream: boolean;
  backend?: string;
  threads?: number;
  /** Weight storage: fp32 as loaded, or quantized to bf16 / int8 (inference only). */
  dtype?: "fp32" | "bf16" | "int8";
}

export async function sampleCommand(flags: SampleFlags): Promise<void> {
  chooseBackend(flags, (s) => process.stderr.write(`${s}\n`));
  const ck = await openCheckpoint(flags.checkpoint);
  const model = gptOf(ck, "qkv sample");
  const dtype = flags.dtype ?? "fp32";
  if (dtype !== "fp32" && dtype !== "bf16" && dtype !== "int8")
    throw new CliError(`--dtype must be fp32, bf16 or int8, got ${JSON.stringify(dtype)}`);
  if (dtype !== "fp32") quantize(model, { dtype: dtype === "bf16" ? "bfloat16" : "int8" });
  const tok = ck.tokenizer;
  let prompt: number[];
  try {
    prompt = tok.encode(flags.prompt);
  } catch (e) {
    throw new CliError(`--prompt: ${(e as Error).message}`);
  }
  if (prompt.length === 0) throw new CliError("--prompt: the prompt encodes to no tokens");
  const generator = new Generator(flags.seed);
  for (let i = 0; i < flags.numSamples; i++) {
    if (flags.numSamples > 1) process.stdout.write(`--- sample ${i + 1} ---\n`);
    process.stdout.write(flags.prompt);
    const result = generate(gptStepModel(model), prompt, {
      maxNewTokens: flags.maxNewTokens,
      temperature: flags.temperature,
      topK: flags.topK > 0 ? flags.topK : undefined,
      topP: flags.topP < 1 ? flags.topP : undefined,
      repetitionPenalty: flags.repetitionPenalty !== 1 ? flags.repetitionPenalty : undefined,
      stopStrings: flags.stop,
      generator,
      decode: (ids) => tok.decode(ids),
      onText: flags.stream ? (s) => process.stdout.write(s) : undefined,
    });
    if (!flags.stream) process.stdout.write(result.text);
    process.stdout.write("\n");
  }
}
