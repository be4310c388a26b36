/**
 * The `qkv` command line: train, sample, eval, classify, tokenizer, info and serve (the playground). It is a thin layer over the
 * public API; every failure becomes one message on stderr and a non-zero exit code.
 */
import { Command, CommanderError, Option } from "commander";
import { DEFAULTS, INT_MAX, type TrainConfig } from "../src/index.js";
import { boolFlag, CliError, EXIT, EXIT_HELP, exitCodeOf, intFlag, kebab, numFlag } from "./errors.js";

const FIELD_HELP: Record<keyof TrainConfig, string> = {
  model: "model family: gpt (text), bert (masked-LM pretraining) or seq2seq (encoder-decoder)",
  initFrom:
    "fine-tune from a folder: gpt: a Hugging Face GPT-2 folder or a qkv checkpoint (its weights, sizes and tokenizer; a conflicting --n-layer etc. is an error, --block-size may be smaller); bert: a Hugging Face BERT folder or a qkv bert checkpoint (the same rules; --task classify adds a fresh classifier head); seq2seq: a BART folder with its tokenizer.json",
  task: "bert only: mlm (masked-LM, the default) or classify (a text<TAB>label TSV as --data)",
  valData: "--task classify: held-out text<TAB>label TSV (default: a seeded 10% of --data)",
  data: "text file or folder (gpt, bert); text<TAB>label TSV (bert --task classify); TSV file, 'reverse' or 'addition' (seq2seq); default: bundled Tiny Shakespeare",
  tokenizer: "tokenizer to build from the data: char or bpe",
  vocabSize: "vocabulary size when training a BPE tokenizer",
  outDir: "folder for checkpoints, metrics.jsonl and loss.svg",
  nLayer: "transformer layers",
  nHead: "attention heads",
  nEmbd: "embedding (model) width",
  blockSize: "context length in tokens",
  dropout: "dropout probability",
  bias: "use biases in Linear and LayerNorm layers",
  batchSize: "sequences per micro-batch",
  gradAccum: "micro-batches accumulated per optimizer step",
  maxIters: "optimizer steps",
  lr: "peak learning rate",
  minLr: "learning rate at the end of the cosine decay",
  warmupIters: "linear warmup steps",
  lrDecayIters: "step at which the cosine decay reaches minLr",
  weightDecay: "AdamW weight decay (not applied to biases, norms or embeddings)",
  beta1: "AdamW beta1",
  beta2: "AdamW beta2",
  gradClip: "clip the gradient norm to this value (0: off)",
  evalInterval: "evaluate (and checkpoint) every this many steps",
  evalIters: "batches per evaluation",
  logInterval: "log every this many steps",
  alwaysSaveCheckpoint: "checkpoint at every evaluation, not only on improvement",
  seed: "random seed",
  sampleTokens: "tokens to sample after training (0: none)",
  temperature: "sampling temperature for the final sample",
  topK: "top-k for the final sample (0: off)",
};

/** One flag per config field, typed from its default, so flags and config files cannot drift. */
function configOptions(cmd: Command): void {
  for (const [field, def] of Object.entries(DEFAULTS)) {
    const flag = `--${kebab(field)}`;
    const opt = new Option(`${flag} <value>`, FIELD_HELP[field as keyof TrainConfig]);
    if (typeof def === "number") {
      const isInt =
        Number.isInteger(def) &&
        !["lr", "minLr", "dropout", "weightDecay", "beta1", "beta2", "gradClip", "temperature"].includes(
          field,
        );
      const max = isInt ? (INT_MAX as Record<string, number>)[field] : undefined;
      opt.argParser(isInt ? intFlag(flag, 0, max) : numFlag(flag, 0));
    } else if (typeof def === "boolean") {
      opt.argParser(boolFlag(flag));
    }
    if (field === "model") opt.choices(["gpt", "bert", "seq2seq"]);
    if (field === "tokenizer") opt.choices(["char", "bpe"]);
    if (field === "task") opt.choices(["mlm", "classify"]);
    cmd.addOption(opt);
  }
}

function backendOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        "--backend <name>",
        "compute backend: auto, native, wasm or cpu (default auto: the fastest that loads; env QKV_BACKEND)",
      ),
    )
    .addOption(
      new Option("--threads <n>", "threads for the native or wasm backend (env QKV_NUM_THREADS)").argParser(
        intFlag("--threads", 1, 1024),
      ),
    );
}

export function buildProgram(
  opts: { writeErr?: (s: string) => void; writeOut?: (s: string) => void } = {},
): Command {
  const program = new Command("qkv")
    .description("Build, train and run transformer models in TypeScript.")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeErr: opts.writeErr ?? ((s) => process.stderr.write(s)),
      writeOut: opts.writeOut ?? ((s) => process.stdout.write(s)),
    })
    .addHelpText("after", `\n${EXIT_HELP}\n`);

  const train = program
    .command("train")
    .description("Train a model; with no options, a character-level GPT on the bundled Tiny Shakespeare")
    .option(
      "--preset <name>",
      "start from a preset: shakespeare-char (default for gpt), tiny, bert-small, seq2seq-reverse",
    )
    .option("--config <file>", "JSON file of config fields (flags override it)")
    .option("--resume", "continue from the last checkpoint in --out-dir")
    .option("--overwrite", "replace an earlier run in --out-dir (its checkpoints, metrics and plot)")
    .addOption(
      new Option(
        "--on-nan <action>",
        "on a NaN/Inf loss, gradient or parameter: stop (exit 5, nothing saved) or skip (drop that update; parameters and AdamW state stay as before it)",
      )
        .choices(["stop", "skip"])
        .default("stop"),
    )
    .option("--quiet", "print nothing but errors");
  configOptions(train);
  backendOptions(train).action(async (opts) => {
    const { trainCommand } = await import("./train.js");
    await trainCommand(opts as Record<string, unknown>);
  });

  backendOptions(
    program
      .command("sample")
      .description("Generate text from a trained GPT checkpoint or a Hugging Face GPT-2 folder")
      .requiredOption("--checkpoint <dir>", "checkpoint or Hugging Face folder (e.g. runs/default/best)")
      .option("--prompt <text>", "text to continue", "\n")
      .option("--max-new-tokens <n>", "tokens to generate", intFlag("--max-new-tokens", 1, 1_000_000), 200)
      .option("--temperature <t>", "0 for greedy", numFlag("--temperature", 0, 1e6), 0.8)
      .option("--top-k <k>", "keep the k most likely tokens (0: off)", intFlag("--top-k", 0, 1 << 24), 200)
      .option(
        "--top-p <p>",
        "nucleus sampling mass in (0, 1] (1: off)",
        numFlag("--top-p", 0, 1, { minExclusive: true }),
        1,
      )
      .option(
        "--repetition-penalty <r>",
        "penalty for repeated tokens, > 0 (1: off)",
        numFlag("--repetition-penalty", 0, 1e6, { minExclusive: true }),
        1,
      )
      .option("--stop <text...>", "stop strings")
      .option("--seed <n>", "random seed", intFlag("--seed", 0, 0xffffffff), 1337)
      .option("--num-samples <n>", "independent samples", intFlag("--num-samples", 1, 10_000), 1)
      .option("--no-stream", "print each sample at the end instead of token by token")
      .addOption(
        new Option(
          "--dtype <type>",
          "weight storage for inference: fp32, or bf16 / int8 (weight-only quantized after loading: less memory, faster decoding)",
        )
          .choices(["fp32", "bf16", "int8"])
          .default("fp32"),
      ),
  ).action(async (opts) => {
    const { sampleCommand } = await import("./sample.js");
    await sampleCommand(opts);
  });

  backendOptions(
    program
      .command("eval")
      .description(
        "Loss and perplexity of a GPT checkpoint or Hugging Face GPT-2 folder on a text file; loss, accuracy and macro-F1 of a BERT classifier on a text<TAB>label TSV",
      )
      .requiredOption("--checkpoint <dir>", "checkpoint or Hugging Face folder")
      .requiredOption("--data <file>", "text file to score (a text<TAB>label TSV for a classifier)")
      .option("--batch-size <n>", "sequences per batch", intFlag("--batch-size", 1, 1 << 16), 16)
      .option(
        "--max-batches <n>",
        "stop after this many batches (0: whole file)",
        intFlag("--max-batches", 0, 1_000_000_000),
        0,
      ),
  ).action(async (opts) => {
    const { evalCommand } = await import("./eval.js");
    await evalCommand(opts);
  });

  backendOptions(
    program
      .command("classify")
      .description(
        "Predict labels with a BERT classifier (qkv train --model bert --task classify, or a Hugging Face BertForSequenceClassification folder): one line per text, label and probability; with a labelled TSV also accuracy and macro-F1",
      )
      .requiredOption("--checkpoint <dir>", "classifier checkpoint or Hugging Face folder")
      .option("--data <file>", "TSV of text, or text<TAB>label, lines")
      .option("--text <text>", "one text to classify")
      .option("--batch-size <n>", "texts per batch", intFlag("--batch-size", 1, 1 << 16), 32),
  ).action(async (opts) => {
    const { classifyCommand } = await import("./classify.js");
    await classifyCommand(opts);
  });

  const tok = program.command("tokenizer").description("Train, apply and inspect tokenizers");
  tok
    .command("train")
    .description(
      "Train a byte-level BPE, BERT WordPiece or character tokenizer and save it as tokenizer.json",
    )
    .requiredOption("--data <path>", "text file or folder")
    .requiredOption("--out <file>", "where to write tokenizer.json")
    .addOption(
      new Option("--type <kind>", "tokenizer kind").choices(["bpe", "wordpiece", "char"]).default("bpe"),
    )
    .option(
      "--vocab-size <n>",
      "target vocabulary size (bpe, wordpiece)",
      intFlag("--vocab-size", 257, 1 << 20),
      1000,
    )
    .option("--special <tokens...>", "special tokens, e.g. <|endoftext|>")
    .action(async (opts) => {
      const { tokenizerTrain } = await import("./tokenizer.js");
      await tokenizerTrain(opts);
    });
  tok
    .command("encode")
    .description("Print the token ids of a text (argument, --file, or stdin)")
    .requiredOption("--tokenizer <file>", "tokenizer.json (or a checkpoint folder)")
    .option("--file <path>", "read the text from a file")
    .argument("[text]", "text to encode")
    .action(async (text, opts) => {
      const { tokenizerEncode } = await import("./tokenizer.js");
      await tokenizerEncode(text, opts);
    });
  tok
    .command("decode")
    .description("Print the text of token ids")
    .requiredOption("--tokenizer <file>", "tokenizer.json (or a checkpoint folder)")
    .argument("<ids...>", "token ids (space or comma separated)")
    .action(async (ids, opts) => {
      const { tokenizerDecode } = await import("./tokenizer.js");
      await tokenizerDecode(ids, opts);
    });

  backendOptions(
    program
      .command("info")
      .description(
        "The compute backend in use (and why a faster one did not load); with --checkpoint, its architecture, parameter count and training state",
      )
      .option("--checkpoint <dir>", "checkpoint or Hugging Face folder"),
  ).action(async (opts) => {
    const { infoCommand } = await import("./info.js");
    await infoCommand(opts);
  });

  program
    .command("serve")
    .description("Serve the browser playground (train, generate, attention maps) on a local port")
    .option(
      "--port <n>",
      "port to listen on (0: any free port)",
      (v: string) => {
        const n = intFlag("--port", 0)(v);
        if (n > 65535) throw new CliError(`--port must be ≤ 65535, got ${n}`, 2);
        return n;
      },
      8080,
    )
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .action(async (opts) => {
      const { serveCommand } = await import("./serve.js");
      await serveCommand(opts);
    });

  return program;
}

/**
 * Parses a command line as `run` would, without running anything: returns the command path and
 * its parsed flags, or throws what `run` would report (a CliError from a flag's parser, or a
 * CommanderError for an unknown command/flag, a missing or invalid value). For fuzzing flag
 * parsing; nothing is printed.
 * @example await parseFlags(["node", "qkv", "train", "--batch-size", "8"]) // { command: "train", opts: { batchSize: 8, … } }
 */
export async function parseFlags(
  argv: string[],
): Promise<{ command: string; opts: Record<string, unknown>; args: unknown[] }> {
  const silent = () => {};
  const program = buildProgram({ writeErr: silent, writeOut: silent });
  let got: { command: string; opts: Record<string, unknown>; args: unknown[] } | null = null;
  const hook = (cmd: Command, path: string) => {
    for (const c of cmd.commands) {
      const name = path ? `${path} ${c.name()}` : c.name();
      if (c.commands.length > 0) hook(c, name);
      else
        c.action((...a: unknown[]) => {
          got = { command: name, opts: (a[a.length - 1] as Command).opts(), args: a.slice(0, -2) };
        });
    }
  };
  hook(program, "");
  await program.parseAsync(argv);
  if (!got) throw new CliError("no command given", EXIT.usage);
  return got;
}

/** Runs the CLI and returns the process exit code (see EXIT in errors.ts; `--help` lists them). */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander already printed its message (or the help text).
      return e.exitCode === 0 || e.code === "commander.helpDisplayed" || e.code === "commander.version"
        ? EXIT.ok
        : EXIT.usage;
    }
    const err = e as Error;
    const cause = (err as { cause?: unknown }).cause;
    const code = exitCodeOf(e);
    if (err instanceof CliError) {
      process.stderr.write(`qkv: error: ${err.message}\n`);
    } else if (code !== EXIT.internal) {
      // A deliberate qkv error (file, field, flag) or a system error: one line, no stack.
      process.stderr.write(`qkv: error: ${err.message}\n`);
    } else {
      process.stderr.write(
        `qkv: internal error: ${err?.message ?? String(e)}\n(this is a bug in qkv; QKV_DEBUG=1 prints the stack)\n`,
      );
    }
    if (process.env.QKV_DEBUG) process.stderr.write(`${err?.stack ?? ""}\n${cause ? String(cause) : ""}\n`);
    return code;
  }
}
