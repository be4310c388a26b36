/** `qkv eval`: loss and perplexity of a GPT checkpoint on a text file. */
import { tensor, withNoGrad } from "../src/index.js";
import { loadTextSource } from "../src/node.js";
import { gptOf, openCheckpoint } from "./checkpoint.js";
import { CliError } from "./errors.js";
import { chooseBackend } from "./runtime.js";

export async function evalCommand(flags: {
  checkpoint: string;
  data: string;
  batchSize: number;
  maxBatches: number;
  backend?: string;
  threads?: number;
}): Promise<void> {
  chooseBackend(flags, (s) => process.stderr.write(`${s}\n`));
  const ck = await openCheckpoint(flags.checkpoint);
  const model = gptOf(ck, "qkv eval");
  let text: string;
  try {
    text = await loadTextSource(flags.data);
  } catch (e) {
    throw new CliError(`--data: ${(e as Error).message}`);
  }
  let ids: number[];
  try {
    ids = ck.tokenizer.encode(text);
  } catch (e) {
    throw new CliError(`--data: ${(e as Error).message}`);
  }
  const T = model.config.blockSize;
  if (ids.length < T + 1)
    throw new CliError(
      `--data: ${flags.data} has ${ids.length} tokens, fewer than the context length ${T} + 1`,
    );
  // Non-overlapping windows of T tokens, each predicting the next token.
  const windows = Math.floor((ids.length - 1) / T);
  const limit = flags.maxBatches > 0 ? Math.min(windows, flags.maxBatches * flags.batchSize) : windows;
  let lossSum = 0;
  let count = 0;
  const t0 = performance.now();
  withNoGrad(() => {
    for (let w = 0; w < limit; w += flags.batchSize) {
      const B = Math.min(flags.batchSize, limit - w);
      const x = new Int32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          x[b * T + t] = ids[(w + b) * T + t];
          y[b * T + t] = ids[(w + b) * T + t + 1];
        }
      }
      const loss = model.forward(tensor(x, { shape: [B, T] }), tensor(y, { shape: [B, T] })).loss!.item();
      lossSum += loss * B * T;
      count += B * T;
    }
  });
  const mean = lossSum / count;
  process.stdout.write(
    `${JSON.stringify({ checkpoint: flags.checkpoint, data: flags.data, tokens: count, loss: Number(mean.toFixed(6)), perplexity: Number(Math.exp(mean).toFixed(4)), seconds: Number(((performance.now() - t0) / 1000).toFixed(2)) })}\n`,
  );
}
