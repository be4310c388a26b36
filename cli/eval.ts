/**
 * `qkv eval`: loss and perplexity of a GPT checkpoint on a text file, or loss, accuracy and
 * macro-F1 of a BERT classifier on a labelled TSV.
 */
import { classificationMetrics, predictClasses, tensor, withNoGrad } from "../src/index.js";
import { loadTextSource } from "../src/node.js";
import { gptOf, type OpenCheckpoint, openCheckpoint } from "./checkpoint.js";
import { classifierOf, isClassifier, readClassifierRows, rowBatches } from "./classify.js";
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
  if (ck.trainConfig.model === "bert" && isClassifier(ck)) return evalClassifier(ck, flags);
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

/** Mean cross-entropy, accuracy and macro-F1 of a classifier on every row of a labelled TSV. */
async function evalClassifier(
  ck: OpenCheckpoint,
  flags: { checkpoint: string; data: string; batchSize: number; maxBatches: number },
): Promise<void> {
  const clf = classifierOf(ck, "qkv eval");
  let rows = await readClassifierRows(flags.data, clf, "required");
  if (flags.maxBatches > 0) rows = rows.slice(0, flags.maxBatches * flags.batchSize);
  const t0 = performance.now();
  let lossSum = 0;
  const pred: number[] = [];
  const gold: number[] = [];
  withNoGrad(() => {
    for (const b of rowBatches(clf, rows, flags.batchSize)) {
      const B = b.inputIds.shape[0];
      const out = clf.model.forward(b.inputIds, { attentionMask: b.attentionMask, labels: b.labels });
      lossSum += (out.loss as NonNullable<typeof out.loss>).item() * B;
      for (const [c] of predictClasses(clf.model, b)) pred.push(c);
      gold.push(...(Array.from((b.labels as NonNullable<typeof b.labels>).toArray()) as number[]));
    }
  });
  const m = classificationMetrics(pred, gold);
  process.stdout.write(
    `${JSON.stringify({ checkpoint: flags.checkpoint, data: flags.data, rows: rows.length, loss: Number((lossSum / rows.length).toFixed(6)), accuracy: Number(m.accuracy.toFixed(6)), macroF1: Number(m.macroF1.toFixed(6)), seconds: Number(((performance.now() - t0) / 1000).toFixed(2)) })}\n`,
  );
}
