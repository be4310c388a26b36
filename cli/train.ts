/**
 * `qkv train`: resolve the configuration, build tokenizer, data, model and optimizer, run the
 * Trainer, and report progress, metrics (JSONL), a loss plot (SVG) and a final sample.
 */
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  ByteLevelBPE,
  CharTokenizer,
  ConfigError,
  DEFAULTS,
  lineChartSvg,
  loadTokenizer,
  manualSeed,
  optim,
  resolveConfig,
  type Tokenizer,
  type TrainConfig,
  type TrainEvent,
  Trainer,
  type TrainerState,
} from "../src/index.js";
import { cachedTokenIds, checkpointExists, readCheckpoint, writeCheckpoint } from "../src/node.js";
import { CliError, kebab } from "./errors.js";
import { Progress } from "./progress.js";
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
  } catch {
    throw new CliError(`--config: cannot read ${path}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new CliError(`--config: ${path} is not valid JSON (${(e as Error).message})`);
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj))
    throw new CliError(`--config: ${path} must hold a JSON object`);
  return obj as Record<string, unknown>;
}

function configError(e: unknown, source: string): never {
  if (e instanceof ConfigError) {
    const where = e.field === "preset" ? "--preset" : `--${kebab(e.field)}`;
    throw new CliError(`${where}: ${e.message}${source ? ` (from ${source})` : ""}`, 2);
  }
  throw e;
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
  const fromFlags = flagOverrides(flags);
  const fileCfg = typeof flags.config === "string" ? await readConfigFile(flags.config) : {};
  const filePreset = typeof fileCfg.preset === "string" ? fileCfg.preset : undefined;
  delete fileCfg.preset;

  let cfg: TrainConfig;
  const outDirGuess = (fromFlags.outDir ?? fileCfg.outDir ?? DEFAULTS.outDir) as string;
  const lastDir = join(outDirGuess, "last");
  let resumeFrom: Awaited<ReturnType<typeof readCheckpoint>> | null = null;
  if (flags.resume) {
    if (!(await checkpointExists(lastDir))) throw new CliError(`--resume: no checkpoint in ${lastDir}`);
    resumeFrom = await readCheckpoint(lastDir);
    try {
      cfg = resolveConfig({ overrides: [resumeFrom.trainConfig as Record<string, unknown>, fromFlags] });
    } catch (e) {
      configError(e, join(lastDir, "train_config.json"));
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
    ] as const) {
      if (fromFlags[k] !== undefined && fromFlags[k] !== saved[k]) {
        throw new CliError(
          `--${kebab(k)}: cannot change ${k} when resuming (checkpoint has ${JSON.stringify(saved[k])})`,
          2,
        );
      }
    }
  } else {
    const model = (fromFlags.model ?? fileCfg.model ?? "gpt") as string;
    const preset = (flags.preset as string | undefined) ?? filePreset ?? DEFAULT_PRESET[model];
    try {
      cfg = resolveConfig({ preset, overrides: [fileCfg, fromFlags] });
    } catch (e) {
      configError(e, typeof flags.config === "string" ? flags.config : "");
    }
  }

  const backendName = chooseBackend(
    { backend: flags.backend as string | undefined, threads: flags.threads as number | undefined },
    say,
  );
  manualSeed(cfg.seed);
  await mkdir(cfg.outDir, { recursive: true });

  // ---- tokenizer and data --------------------------------------------------------------------
  const built = await buildTask(cfg, {
    resume: resumeFrom
      ? {
          tokenizer: loadTokenizer(resumeFrom.tokenizer),
          config: resumeFrom.config as Record<string, unknown>,
          weights: resumeFrom.weights,
        }
      : null,
    buildTokenizer,
    cachedIds: async (path, tok) => {
      const fingerprint = JSON.stringify(tok.toJSON());
      const { ids } = await cachedTokenIds(path, fingerprint, (t) => tok.encode(t), {
        cacheDir: join(cfg.outDir, "cache"),
      });
      return ids;
    },
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
      await writeCheckpoint(dir, {
        config: built.config(),
        trainConfig: cfg,
        tokenizer: tokenizer.toJSON(),
        weights: built.weights(),
        optimizer: optimizer.stateDict(),
        trainerState: state,
      });
      await built.afterSave?.(dir);
      return dir;
    },
  };

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
  });
  let pending: Promise<void> = Promise.resolve();
  trainer.opts.onEvent = (e: TrainEvent) => {
    pending = pending.then(() => onEvent(e));
  };
  const onEvent = async (e: TrainEvent): Promise<void> => {
    await appendFile(metricsPath, `${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
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
    } else if (e.type === "checkpoint") {
      progress.note(`checkpoint (${e.kind}) at iter ${e.iter} → ${e.path}`);
    }
  };

  if (resumeFrom) {
    const state = resumeFrom.trainerState as TrainerState;
    optimizer.loadStateDict(resumeFrom.optimizer as never);
    trainer.restore(state);
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
  const final = await trainer.run();
  process.removeListener("SIGINT", onSignal);
  await pending;
  progress.done();
  say(
    `done: ${final.iter} iterations in ${formatDuration(final.elapsedMs / 1000)}; best val loss ${final.bestValLoss.toFixed(4)}`,
  );

  if (cfg.sampleTokens > 0 || cfg.model !== "gpt") built.finish(cfg, (s) => process.stdout.write(s));
}
