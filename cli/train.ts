/**
 * `qkv train`: resolve the configuration, build tokenizer, data, model and optimizer, run the
 * Trainer, and report progress, metrics (JSONL), a loss plot (SVG) and a final sample.
 */
import { appendFile, readFile, stat, writeFile } from "node:fs/promises";
import { totalmem } from "node:os";
import { join, resolve } from "node:path";
import {
  ByteLevelBPE,
  bertConfigFromHF,
  CharTokenizer,
  ConfigError,
  checkAdamState,
  checkTrainingMemory,
  DEFAULTS,
  lineChartSvg,
  loadTokenizer,
  manualSeed,
  NonFiniteError,
  type OnNonFinite,
  optim,
  parseJsonText,
  QkvError,
  resolveConfig,
  type Tokenizer,
  type TrainConfig,
  type TrainEvent,
  Trainer,
  type TrainerState,
} from "../src/index.js";
import { cachedTokenIds, checkpointExists, readCheckpoint, writeCheckpoint } from "../src/node.js";
import { gptOf, type OpenCheckpoint, openCheckpoint } from "./checkpoint.js";
import { CliError, EXIT, exitCodeOf, kebab } from "./errors.js";
import { Progress } from "./progress.js";
import { clearRun, ensureFolder, existingRun, repairRunFolder, takeLock, writeError } from "./run-folder.js";
import { bundledShakespeare, chooseBackend, formatDuration } from "./runtime.js";
import { buildTask } from "./tasks.js";

const DEFAULT_PRESET: Record<string, string> = {
  gpt: "shakespeare-char",
  bert: "bert-small",
  seq2seq: "seq2seq-reverse",
};

/** Config fields given as flags (commander camelCases them like our field names). */
function flagOverrides(flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(DEFAULTS)) if (flags[k] !== undefined) out[k] = flags[k];
  return out;
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new CliError(
      `--config: cannot read ${path}${code === "ENOENT" ? ": it does not exist" : code === "EISDIR" ? ": it is a folder" : ""}`,
      EXIT.badInput,
    );
  }
  let obj: unknown;
  try {
    obj = parseJsonText(text, path);
  } catch (e) {
    throw new CliError(`--config: ${(e as Error).message}`, EXIT.badInput);
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj))
    throw new CliError(`--config: ${path} must hold a JSON object`, EXIT.badInput);
  return obj as Record<string, unknown>;
}

/**
 * A ConfigError as the flag it concerns. Values from a flag or --config are usage errors (2);
 * from a checkpoint's train_config.json, bad input (3).
 */
function configError(e: unknown, source: string, fromCheckpoint = false): never {
  if (e instanceof ConfigError) {
    // An unknown key is the file's fault (or the flag's); a known field maps to its flag.
    const unknown = e.message.startsWith("unknown config field");
    const where =
      e.field === "preset"
        ? "--preset"
        : unknown && source
          ? fromCheckpoint
            ? "--resume"
            : "--config"
          : `--${kebab(e.field)}`;
    throw new CliError(
      `${where}: ${e.message}${source ? ` (from ${source})` : ""}`,
      fromCheckpoint ? EXIT.badInput : EXIT.usage,
    );
  }
  throw e;
}

/** Memory a run may plan for: three quarters of the machine's (QKV_MEMORY_BYTES overrides, for tests). */
function memoryBudget(): number {
  const env = Number(process.env.QKV_MEMORY_BYTES);
  return Number.isFinite(env) && env > 0 ? env : totalmem() * 0.75;
}

/** The tokenizer of the checkpoint resumed from, its errors naming the file. */
function loadResumeTokenizer(json: unknown, lastDir: string): Tokenizer {
  try {
    return loadTokenizer(json);
  } catch (e) {
    throw new CliError(
      `--resume: ${join(lastDir, "tokenizer.json")}: ${(e as Error).message}`,
      EXIT.badInput,
    );
  }
}

/**
 * Opens `--init-from` for a gpt run (a GPT-2 Hugging Face folder or a qkv gpt checkpoint) and
 * takes the model's sizes and tokenizer from it into `cfg`. A size given explicitly (flag or
 * --config) that differs from the folder's is an error, not silently dropped; --block-size may be
 * smaller than the model's context (shorter training windows) but not larger.
 */
async function gptInitSource(cfg: TrainConfig, explicit: Record<string, unknown>): Promise<OpenCheckpoint> {
  const src = await openCheckpoint(cfg.initFrom, "--init-from");
  const model = gptOf(src, "--init-from");
  const c = model.config;
  const tokenizer: "char" | "bpe" = src.tokenizer.type === "char" ? "char" : "bpe";
  const fromSrc: Record<string, unknown> = { nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, bias: c.bias };
  if (tokenizer === "bpe") fromSrc.vocabSize = src.tokenizer.vocabSize;
  for (const [k, v] of Object.entries(fromSrc)) {
    if (explicit[k] !== undefined && explicit[k] !== v)
      throw new CliError(
        `--${kebab(k)}: ${cfg.initFrom} has ${k} ${JSON.stringify(v)}; with --init-from leave --${kebab(k)} out or give that value`,
        EXIT.usage,
      );
  }
  if (explicit.tokenizer !== undefined && explicit.tokenizer !== tokenizer)
    throw new CliError(
      `--tokenizer: --init-from uses the tokenizer of ${cfg.initFrom} (${src.tokenizer.type}); leave --tokenizer out`,
      EXIT.usage,
    );
  if (explicit.blockSize !== undefined && (explicit.blockSize as number) > c.blockSize)
    throw new CliError(
      `--block-size: ${explicit.blockSize} is more than the context of ${cfg.initFrom} (${c.blockSize})`,
      EXIT.usage,
    );
  Object.assign(cfg, fromSrc, { tokenizer });
  if (explicit.blockSize === undefined) cfg.blockSize = c.blockSize;
  try {
    checkTrainingMemory(cfg, src.tokenizer.vocabSize, memoryBudget());
  } catch (e) {
    configError(e, "");
  }
  return src;
}

/**
 * Opens `--init-from` for a bert run (a Hugging Face BERT folder or a qkv bert checkpoint, masked-LM
 * or classifier) and takes the encoder's sizes and tokenizer from it into `cfg`, with the same
 * rule as gpt: an explicit size that differs from the folder's is an error naming its flag.
 */
async function bertInitSource(cfg: TrainConfig, explicit: Record<string, unknown>): Promise<OpenCheckpoint> {
  const src = await openCheckpoint(cfg.initFrom, "--init-from");
  if (src.trainConfig.model !== "bert")
    throw new CliError(
      `--init-from: ${cfg.initFrom} holds ${src.hf ? `model_type ${JSON.stringify(src.hf.modelType)}` : `a ${String(src.trainConfig.model)} model`}; --model bert needs a BERT folder (model_type "bert") or a qkv bert checkpoint`,
      EXIT.usage,
    );
  let c: ReturnType<typeof bertConfigFromHF>;
  try {
    c = bertConfigFromHF(src.config);
  } catch (e) {
    throw new CliError(
      `--init-from: ${join(cfg.initFrom, "config.json")}: ${(e as Error).message}`,
      exitCodeOf(e),
    );
  }
  const fromSrc: Record<string, unknown> = {
    nLayer: c.numHiddenLayers,
    nHead: c.numAttentionHeads,
    nEmbd: c.hiddenSize,
    vocabSize: src.tokenizer.vocabSize,
  };
  for (const [k, v] of Object.entries(fromSrc)) {
    if (explicit[k] !== undefined && explicit[k] !== v)
      throw new CliError(
        `--${kebab(k)}: ${cfg.initFrom} has ${k} ${JSON.stringify(v)}; with --init-from leave --${kebab(k)} out or give that value`,
        EXIT.usage,
      );
  }
  if (explicit.tokenizer !== undefined)
    throw new CliError(
      `--tokenizer: --init-from uses the tokenizer of ${cfg.initFrom} (${src.tokenizer.type}); leave --tokenizer out`,
      EXIT.usage,
    );
  if (explicit.blockSize !== undefined && (explicit.blockSize as number) > c.maxPositionEmbeddings)
    throw new CliError(
      `--block-size: ${explicit.blockSize} is more than the max_position_embeddings of ${cfg.initFrom} (${c.maxPositionEmbeddings})`,
      EXIT.usage,
    );
  // vocabSize and tokenizer are recorded only where train_config.json can hold them (a char
  // tokenizer, or a vocabulary of 257+); the checkpoint's tokenizer.json is what is used.
  Object.assign(cfg, { nLayer: fromSrc.nLayer, nHead: fromSrc.nHead, nEmbd: fromSrc.nEmbd });
  if (src.tokenizer.type === "char") cfg.tokenizer = "char";
  else if (src.tokenizer.vocabSize >= 257)
    Object.assign(cfg, { tokenizer: "bpe", vocabSize: src.tokenizer.vocabSize });
  if (explicit.blockSize === undefined) cfg.blockSize = c.maxPositionEmbeddings;
  try {
    checkTrainingMemory(cfg, src.tokenizer.vocabSize, memoryBudget());
  } catch (e) {
    configError(e, "");
  }
  return src;
}

/** The tokenizer for a fresh run: trained on the training text. */
function buildTokenizer(cfg: TrainConfig, text: string, specials: string[]): Tokenizer {
  if (cfg.tokenizer === "char") return CharTokenizer.fromText(text, { specialTokens: specials });
  return ByteLevelBPE.train(text, { vocabSize: cfg.vocabSize, specialTokens: specials });
}

export async function trainCommand(flags: Record<string, unknown>): Promise<void> {
  const quiet = flags.quiet === true;
  const say = (s: string) => {
    if (!quiet) process.stderr.write(`${s}\n`);
  };
  if (flags.resume && flags.overwrite)
    throw new CliError(
      "--resume and --overwrite exclude each other: continue the run, or replace it",
      EXIT.usage,
    );
  const fromFlags = flagOverrides(flags);
  const fileCfg = typeof flags.config === "string" ? await readConfigFile(flags.config) : {};
  const filePreset = typeof fileCfg.preset === "string" ? fileCfg.preset : undefined;
  delete fileCfg.preset;
  const outDirGuess = (fromFlags.outDir ?? fileCfg.outDir ?? DEFAULTS.outDir) as string;
  if (typeof outDirGuess !== "string" || outDirGuess === "")
    throw new CliError("--out-dir: must be a non-empty path", EXIT.usage);

  // A fresh run's config is checked before the folder is touched (a bad flag creates nothing).
  let fresh: TrainConfig | null = null;
  if (!flags.resume) {
    const model = (fromFlags.model ?? fileCfg.model ?? "gpt") as string;
    const preset = (flags.preset as string | undefined) ?? filePreset ?? DEFAULT_PRESET[model];
    try {
      fresh = resolveConfig({ preset, overrides: [fileCfg, fromFlags] });
      // A char vocabulary is not known before the text is read; 256 stands for it.
      checkTrainingMemory(fresh, fresh.tokenizer === "bpe" ? fresh.vocabSize : 256, memoryBudget());
    } catch (e) {
      configError(e, typeof flags.config === "string" ? flags.config : "");
    }
  } else if (
    !(await stat(outDirGuess).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new CliError(`--resume: no checkpoint in ${join(outDirGuess, "last")}`, EXIT.badInput);
  }
  // The run folder is locked before anything in it is read or written, and repaired under the
  // lock (an interrupted swap completed, temp folders of killed writers removed).
  await ensureFolder(outDirGuess, "--out-dir");
  const lock = await takeLock(outDirGuess, `qkv train${flags.resume ? " --resume" : ""}`);
  try {
    await repairRunFolder(outDirGuess, { lockHeld: true });
    await trainLocked(flags, fromFlags, fresh, outDirGuess, say, quiet, { ...fileCfg, ...fromFlags });
  } finally {
    await lock.release();
  }
}

async function trainLocked(
  flags: Record<string, unknown>,
  fromFlags: Record<string, unknown>,
  fresh: TrainConfig | null,
  outDirGuess: string,
  say: (s: string) => void,
  quiet: boolean,
  explicit: Record<string, unknown>,
): Promise<void> {
  let cfg: TrainConfig;
  const lastDir = join(outDirGuess, "last");
  let resumeFrom: Awaited<ReturnType<typeof readCheckpoint>> | null = null;
  if (flags.resume) {
    if (!(await checkpointExists(lastDir)))
      throw new CliError(`--resume: no checkpoint in ${lastDir}`, EXIT.badInput);
    try {
      resumeFrom = await readCheckpoint(lastDir);
    } catch (e) {
      throw new CliError(`--resume: ${(e as Error).message}`, exitCodeOf(e));
    }
    const tcPath = join(lastDir, "train_config.json");
    try {
      cfg = resolveConfig({ overrides: [resumeFrom.trainConfig as Record<string, unknown>] });
    } catch (e) {
      configError(e, tcPath, true);
    }
    try {
      cfg = resolveConfig({ overrides: [resumeFrom.trainConfig as Record<string, unknown>, fromFlags] });
    } catch (e) {
      configError(e, "");
    }
    const saved = resumeFrom.trainConfig as Record<string, unknown>;
    for (const k of [
      "model",
      "tokenizer",
      "nLayer",
      "nHead",
      "nEmbd",
      "blockSize",
      "bias",
      "vocabSize",
      "data",
      "task",
      "valData",
    ] as const) {
      // A field absent from an older train_config.json had its default.
      const was = saved[k] ?? DEFAULTS[k];
      if (fromFlags[k] !== undefined && fromFlags[k] !== was) {
        throw new CliError(
          `--${kebab(k)}: cannot change ${k} when resuming (checkpoint has ${JSON.stringify(was)})`,
          EXIT.usage,
        );
      }
    }
  } else {
    cfg = fresh as TrainConfig;
    const found = await existingRun(cfg.outDir);
    if (found.length > 0) {
      if (!flags.overwrite)
        throw new CliError(
          `--out-dir: ${cfg.outDir} already holds a run (${found.join(", ")}); continue it with --resume, replace it with --overwrite, or choose another --out-dir`,
          EXIT.runFolder,
        );
      await clearRun(cfg.outDir);
      say(`--overwrite: removed the earlier run in ${cfg.outDir} (${found.join(", ")})`);
    }
  }
  // The folder resumed from (and locked) is the run folder, even if train_config.json names
  // the path it had before it was moved.
  cfg.outDir = outDirGuess;
  const resumeTokenizer = resumeFrom ? loadResumeTokenizer(resumeFrom.tokenizer, lastDir) : null;
  if (resumeTokenizer) {
    try {
      checkTrainingMemory(cfg, resumeTokenizer.vocabSize, memoryBudget());
    } catch (e) {
      configError(e, "");
    }
  }
  // --init-from for gpt: the model, sizes and tokenizer of the folder, not a random init.
  const initSource =
    !resumeFrom && cfg.initFrom !== "" && cfg.model !== "seq2seq"
      ? await (cfg.model === "gpt" ? gptInitSource(cfg, explicit) : bertInitSource(cfg, explicit))
      : null;
  const onNan = (flags.onNan ?? "stop") as OnNonFinite;

  const backendName = chooseBackend(
    { backend: flags.backend as string | undefined, threads: flags.threads as number | undefined },
    say,
  );
  manualSeed(cfg.seed);

  // ---- tokenizer and data --------------------------------------------------------------------
  const built = await buildTask(cfg, {
    resume: resumeFrom
      ? {
          tokenizer: resumeTokenizer as Tokenizer,
          config: resumeFrom.config as Record<string, unknown>,
          weights: resumeFrom.weights,
        }
      : initSource
        ? { tokenizer: initSource.tokenizer, config: initSource.config, weights: initSource.weights }
        : null,
    buildTokenizer,
    cachedIds: async (path, tok) => {
      const fingerprint = JSON.stringify(tok.toJSON());
      const { ids } = await cachedTokenIds(path, fingerprint, (t) => tok.encode(t), {
        cacheDir: join(cfg.outDir, "cache"),
      });
      return ids;
    },
    initFrom: initSource !== null,
    dataPath: cfg.data === "" ? bundledShakespeare() : cfg.data,
  });
  const { task, tokenizer, describe } = built;

  const optimizer = new optim.AdamW(built.paramGroups(cfg.weightDecay), {
    lr: cfg.lr,
    betas: [cfg.beta1, cfg.beta2],
    weightDecay: cfg.weightDecay,
  });
  const lrAt = (it: number) =>
    optim.cosineWithWarmupLr(it, {
      lr: cfg.lr,
      warmupIters: cfg.warmupIters,
      lrDecayIters: cfg.lrDecayIters,
      minLr: cfg.minLr,
    });

  const store = {
    save: async (kind: "last" | "best", state: TrainerState): Promise<string> => {
      const dir = join(cfg.outDir, kind);
      try {
        await writeCheckpoint(dir, {
          config: built.config(),
          trainConfig: cfg,
          tokenizer: tokenizer.toJSON(),
          weights: built.weights(),
          optimizer: optimizer.stateDict(),
          trainerState: state,
        });
      } catch (e) {
        if (e instanceof QkvError) throw e;
        throw writeError((e as { cause?: unknown }).cause ?? e, "checkpoint", dir);
      }
      await built.afterSave?.(dir);
      if (kind === "best") bestSaved = state.iter;
      return dir;
    },
  };

  let bestSaved = -1;
  let bestIter = -1;
  const metricsPath = join(cfg.outDir, "metrics.jsonl");
  const history: { train: [number, number][]; val: [number, number][]; step: [number, number][] } = {
    train: [],
    val: [],
    step: [],
  };
  const progress = new Progress({
    total: cfg.maxIters,
    quiet,
    tty: Boolean(process.stderr.isTTY) && !process.env.CI,
  });
  const trainer = new Trainer(task, optimizer, {
    maxIters: cfg.maxIters,
    gradAccum: cfg.gradAccum,
    gradClip: cfg.gradClip,
    evalInterval: cfg.evalInterval,
    evalIters: cfg.evalIters,
    logInterval: cfg.logInterval,
    alwaysSaveCheckpoint: cfg.alwaysSaveCheckpoint,
    lrAt,
    store,
    onNonFinite: onNan,
  });
  let pending: Promise<void> = Promise.resolve();
  trainer.opts.onEvent = (e: TrainEvent) => {
    pending = pending.then(() => onEvent(e));
  };
  const onEvent = async (e: TrainEvent): Promise<void> => {
    try {
      await appendFile(metricsPath, `${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
    } catch (err) {
      throw writeError(err, "--out-dir", metricsPath);
    }
    if (e.type === "step") {
      history.step.push([e.iter, e.loss]);
      progress.step(e);
    } else if (e.type === "eval") {
      history.train.push([e.iter, e.trainLoss]);
      history.val.push([e.iter, e.valLoss]);
      progress.eval(e);
      const svg = lineChartSvg(
        [
          { name: "train (step)", points: history.step },
          { name: "train (eval)", points: history.train },
          { name: "val", points: history.val },
        ],
        { title: `qkv ${cfg.model} training loss`, xLabel: "iteration", yLabel: "loss" },
      );
      await writeFile(join(cfg.outDir, "loss.svg"), svg);
      if (e.improved) bestIter = e.iter;
    } else if (e.type === "checkpoint") {
      progress.note(`checkpoint (${e.kind}) at iter ${e.iter} → ${e.path}`);
    } else if (e.type === "nonfinite") {
      progress.note(
        e.action === "stop"
          ? `non-finite ${e.what} at iteration ${e.iter}: stopping (--on-nan stop); nothing from this step is saved`
          : `non-finite ${e.what} at iteration ${e.iter}: update skipped (--on-nan skip); parameters and optimizer state are as before the step`,
      );
    }
  };

  if (resumeFrom) {
    const state = resumeFrom.trainerState as TrainerState;
    if (state.rng === undefined || state.task === undefined)
      throw new CliError(
        `--resume: ${join(lastDir, "trainer_state.json")} has no RNG and data state (a checkpoint written for sampling, e.g. by pretrainedFiles or the playground), so training cannot continue it exactly; start a new run`,
        EXIT.badInput,
      );
    const optFile = join(lastDir, "optimizer.json");
    try {
      checkAdamState(
        resumeFrom.optimizer,
        optimizer.paramGroups.map((g) => g.params.map((p) => p.shape)),
        optFile,
      );
      optimizer.loadStateDict(resumeFrom.optimizer as never);
      trainer.restore(state);
    } catch (e) {
      throw new CliError(
        `--resume: ${(e as Error).message}`,
        exitCodeOf(e) === EXIT.internal ? EXIT.badInput : exitCodeOf(e),
      );
    }
    say(`resumed from ${lastDir} at iteration ${state.iter}`);
    await appendFile(
      metricsPath,
      `${JSON.stringify({ time: new Date().toISOString(), type: "resume", iter: state.iter })}\n`,
    );
  }
  say(`qkv train: ${describe}`);
  say(
    `backend ${backendName}; ${task.model.numParameters().toLocaleString("en-US")} parameters; ${cfg.maxIters} iterations; output in ${resolve(cfg.outDir)}`,
  );

  const onSignal = () => {
    say("\nstopping after this iteration (Ctrl-C again to abort)…");
    trainer.requestStop();
    process.once("SIGINT", () => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  let final: TrainerState;
  try {
    final = await trainer.run();
  } catch (e) {
    await pending.catch(() => {});
    progress.done();
    if (e instanceof NonFiniteError)
      throw new CliError(
        `training stopped: non-finite ${e.what} at iteration ${e.iter} (--on-nan stop; try a lower --lr, or --on-nan skip). Nothing from that step was saved; ${join(cfg.outDir, "last")} holds the last finite checkpoint, if any`,
        EXIT.nonFinite,
      );
    throw e;
  } finally {
    process.removeListener("SIGINT", onSignal);
  }
  await pending;
  progress.done();
  const where =
    bestIter === -1
      ? ""
      : bestSaved === bestIter
        ? ` (iteration ${bestIter}, saved in ${join(cfg.outDir, "best")})`
        : ` (iteration ${bestIter}, the initial weights: no checkpoint holds it)`;
  say(
    `done: ${final.iter} iterations in ${formatDuration(final.elapsedMs / 1000)}; best val loss ${Number.isFinite(final.bestValLoss) ? final.bestValLoss.toFixed(4) : "n/a"}${where}`,
  );

  if (cfg.sampleTokens > 0 || cfg.model !== "gpt") built.finish(cfg, (s) => process.stdout.write(s));
}
