/**
 * `qkv classify`: the label (and its probability) a BERT classifier gives each text, and shared
 * pieces `qkv eval` uses to score a classifier on a labelled TSV.
 */
import {
  BertForSequenceClassification,
  type ClassifierBatch,
  classificationMetrics,
  encodeForClassifier,
  type LabelledText,
  parseLabelledTsv,
  predictClasses,
  type Tokenizer,
  withNoGrad,
} from "../src/index.js";
import { loadTextSource } from "../src/node.js";
import { type OpenCheckpoint, openCheckpoint } from "./checkpoint.js";
import { CliError, EXIT, exitCodeOf } from "./errors.js";
import { chooseBackend } from "./runtime.js";
import { classifierBatches, classifierSpecials, labelsOf } from "./tasks.js";

/** A classifier checkpoint ready to run: model (eval mode), labels by class id, input encoding. */
export interface OpenClassifier {
  model: BertForSequenceClassification;
  labels: string[];
  encode: (text: string) => number[];
  padId: number;
}

/** True when a checkpoint holds a BERT sequence classifier (a qkv --task classify run or an HF folder). */
export function isClassifier(ck: OpenCheckpoint): boolean {
  const arch = ck.config.architectures;
  return (
    ck.trainConfig.task === "classify" ||
    (Array.isArray(arch) && arch.includes("BertForSequenceClassification"))
  );
}

/** The classifier in a checkpoint; anything else is refused by name. */
export function classifierOf(ck: OpenCheckpoint, command: string): OpenClassifier {
  if (ck.trainConfig.model !== "bert" || !isClassifier(ck))
    throw new CliError(
      `${command} needs a BERT classifier (qkv train --model bert --task classify, or a BertForSequenceClassification folder); ${ck.dir} holds ${ck.hf ? `model_type ${JSON.stringify(ck.hf.modelType)} (${JSON.stringify(ck.config.architectures ?? null)})` : `a ${String(ck.trainConfig.model)} ${ck.trainConfig.task === "" || ck.trainConfig.task === undefined ? "" : `${String(ck.trainConfig.task)} `}model`}`,
      EXIT.usage,
    );
  const labels = labelsOf(ck.config);
  if (!labels)
    throw new CliError(
      `--checkpoint: ${ck.dir}/config.json has no usable id2label (class id → label)`,
      EXIT.badInput,
    );
  let model: BertForSequenceClassification;
  try {
    model = BertForSequenceClassification.fromHF(ck.config, ck.weights, { numLabels: labels.length });
  } catch (e) {
    throw new CliError(`--checkpoint: ${ck.dir}: ${(e as Error).message}`, exitCodeOf(e));
  }
  model.eval();
  const tok: Tokenizer = ck.tokenizer;
  const { clsId, sepId, padId } = classifierSpecials(tok, `--checkpoint: ${ck.dir}/tokenizer.json`);
  const maxLen = model.config.maxPositionEmbeddings;
  return { model, labels, padId, encode: (t) => encodeForClassifier(tok, t, { clsId, sepId, maxLen }) };
}

/** Rows of a TSV for a classifier; labels, where given, must be the classifier's. */
export async function readClassifierRows(
  path: string,
  clf: OpenClassifier,
  labels: "required" | "optional",
): Promise<LabelledText[]> {
  let text: string;
  try {
    text = await loadTextSource(path);
  } catch (e) {
    throw new CliError(`--data: ${(e as Error).message}`, exitCodeOf(e));
  }
  let rows: LabelledText[];
  try {
    rows = parseLabelledTsv(text, path, { labels });
  } catch (e) {
    throw new CliError(`--data: ${(e as Error).message}`, EXIT.badInput);
  }
  if (rows.length === 0) throw new CliError(`--data: ${path} has no rows`, EXIT.badInput);
  const known = new Set(clf.labels);
  for (const r of rows)
    if (r.label !== null && !known.has(r.label))
      throw new CliError(
        `--data: ${path} line ${r.line}: label ${JSON.stringify(r.label)} is not one of the classifier's labels (${clf.labels.join(", ")})`,
        EXIT.badInput,
      );
  return rows;
}

/** Padded batches of the rows' texts (labels included when every row has one). */
export function rowBatches(clf: OpenClassifier, rows: LabelledText[], batchSize: number): ClassifierBatch[] {
  const id = new Map(clf.labels.map((l, i) => [l, i]));
  const labelled = rows.every((r) => r.label !== null);
  return classifierBatches(
    rows.map((r) => clf.encode(r.text)),
    labelled ? rows.map((r) => id.get(r.label as string) as number) : null,
    batchSize,
    clf.padId,
  );
}

export async function classifyCommand(flags: {
  checkpoint: string;
  data?: string;
  text?: string;
  batchSize: number;
  backend?: string;
  threads?: number;
}): Promise<void> {
  if ((flags.data === undefined) === (flags.text === undefined))
    throw new CliError("give one of --data <file.tsv> or --text <text>", EXIT.usage);
  chooseBackend(flags, (s) => process.stderr.write(`${s}\n`));
  const clf = classifierOf(await openCheckpoint(flags.checkpoint), "qkv classify");
  const rows =
    flags.data !== undefined
      ? await readClassifierRows(flags.data, clf, "optional")
      : [{ text: flags.text as string, label: null, line: 1 }];
  const pred: [number, number][] = [];
  withNoGrad(() => {
    for (const b of rowBatches(clf, rows, flags.batchSize)) pred.push(...predictClasses(clf.model, b));
  });
  process.stdout.write(pred.map(([c, p]) => `${clf.labels[c]}\t${p.toFixed(4)}\n`).join(""));
  const id = new Map(clf.labels.map((l, i) => [l, i]));
  const scored = rows.map((r, i) => [i, r.label] as const).filter(([, l]) => l !== null);
  if (scored.length > 0) {
    const m = classificationMetrics(
      scored.map(([i]) => pred[i][0]),
      scored.map(([, l]) => id.get(l as string) as number),
    );
    process.stderr.write(
      `accuracy ${(100 * m.accuracy).toFixed(1)}%, macro-F1 ${m.macroF1.toFixed(4)} on ${scored.length} labelled rows\n`,
    );
  }
}
