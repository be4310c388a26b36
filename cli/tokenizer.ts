/** `qkv tokenizer train|encode|decode`. */
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ByteLevelBPE, CharTokenizer, loadTokenizer, type Tokenizer, trainWordPiece } from "../src/index.js";
import { loadTextSource } from "../src/node.js";
import { CliError } from "./errors.js";

/** Loads tokenizer.json from a file or a checkpoint folder. */
export async function readTokenizer(path: string): Promise<Tokenizer> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, "tokenizer.json");
  } catch {
    throw new CliError(`--tokenizer: ${path} does not exist`);
  }
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new CliError(`--tokenizer: cannot read ${file}`);
  }
  try {
    return loadTokenizer(text);
  } catch (e) {
    throw new CliError(`--tokenizer: ${file} is not a valid tokenizer.json: ${(e as Error).message}`);
  }
}

export async function tokenizerTrain(opts: {
  data: string;
  out: string;
  type: string;
  vocabSize: number;
  special?: string[];
}): Promise<void> {
  const text = await loadTextSource(opts.data);
  const t0 = performance.now();
  let tok: Tokenizer;
  if (opts.type === "char") tok = CharTokenizer.fromText(text, { specialTokens: opts.special ?? [] });
  else if (opts.type === "wordpiece")
    tok = trainWordPiece(text, { vocabSize: opts.vocabSize, specialTokens: opts.special });
  else tok = ByteLevelBPE.train(text, { vocabSize: opts.vocabSize, specialTokens: opts.special ?? [] });
  await writeFile(opts.out, JSON.stringify(tok.toJSON()));
  process.stdout.write(
    `trained a ${tok.type} tokenizer with ${tok.vocabSize} tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${opts.out}\n`,
  );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function tokenizerEncode(
  text: string | undefined,
  opts: { tokenizer: string; file?: string },
): Promise<void> {
  const tok = await readTokenizer(opts.tokenizer);
  let input = text;
  if (opts.file) {
    try {
      input = await readFile(opts.file, "utf8");
    } catch {
      throw new CliError(`--file: cannot read ${opts.file}`);
    }
  }
  if (input === undefined) {
    if (process.stdin.isTTY)
      throw new CliError("give the text as an argument, with --file, or on standard input");
    input = await readStdin();
  }
  try {
    process.stdout.write(`${tok.encode(input).join(" ")}\n`);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

export async function tokenizerDecode(ids: string[], opts: { tokenizer: string }): Promise<void> {
  const tok = await readTokenizer(opts.tokenizer);
  const parsed = ids
    .flatMap((s) => s.split(/[,\s]+/))
    .filter((s) => s !== "")
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0 || n >= tok.vocabSize) {
        throw new CliError(`token id "${s}" is not an integer in [0, ${tok.vocabSize})`);
      }
      return n;
    });
  process.stdout.write(`${tok.decode(parsed)}\n`);
}
