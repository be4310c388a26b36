/** `qkv tokenizer train|encode|decode`. */
import { readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import {
  ByteLevelBPE,
  CharTokenizer,
  errnoWords,
  loadTokenizer,
  parseJsonText,
  type Tokenizer,
  trainWordPiece,
} from "../src/index.js";
import { loadTextSource } from "../src/node.js";
import { CliError, EXIT } from "./errors.js";
import { repairCheckpointFolder, writeError } from "./run-folder.js";

/** Loads tokenizer.json from a file or a checkpoint folder. */
export async function readTokenizer(path: string): Promise<Tokenizer> {
  let file = path;
  // A checkpoint folder caught mid-swap is repaired first, as every command does.
  if (
    !(await stat(path).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    await repairCheckpointFolder(path);
  try {
    if ((await stat(path)).isDirectory()) file = join(path, "tokenizer.json");
  } catch {
    throw new CliError(`--tokenizer: ${path} does not exist`);
  }
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new CliError(`--tokenizer: cannot read ${file}: ${errnoWords(e)}`);
  }
  try {
    // The depth pre-scan runs before JSON.parse (a 5,000-deep file is refused by name).
    return loadTokenizer(parseJsonText(text, file));
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
  // The output's folder is checked before the (slow) training, and errors name the flag.
  const outDir = dirname(resolve(opts.out));
  const st = await stat(outDir).catch(() => null);
  if (!st) throw new CliError(`--out: the folder ${outDir} does not exist`);
  if (!st.isDirectory()) throw new CliError(`--out: ${outDir} is a file, not a folder`);
  if ((await stat(opts.out).catch(() => null))?.isDirectory())
    throw new CliError(
      `--out: ${opts.out} is a folder; give a file name such as ${join(opts.out, "tokenizer.json")}`,
    );
  let text: string;
  try {
    text = await loadTextSource(opts.data);
  } catch (e) {
    throw new CliError(`--data: ${(e as Error).message}`);
  }
  const t0 = performance.now();
  let tok: Tokenizer;
  if (opts.type === "char") tok = CharTokenizer.fromText(text, { specialTokens: opts.special ?? [] });
  else if (opts.type === "wordpiece")
    tok = trainWordPiece(text, { vocabSize: opts.vocabSize, specialTokens: opts.special });
  else tok = ByteLevelBPE.train(text, { vocabSize: opts.vocabSize, specialTokens: opts.special ?? [] });
  try {
    await writeFile(opts.out, JSON.stringify(tok.toJSON()));
  } catch (e) {
    throw writeError(e, "--out", opts.out);
  }
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
        throw new CliError(`token id "${s}" is not an integer in [0, ${tok.vocabSize})`, EXIT.usage);
      }
      return n;
    });
  process.stdout.write(`${tok.decode(parsed)}\n`);
}
