/**
 * Fuzz targets: each turns a generated input into one call of a public loader and says whether it
 * loaded. A target passes when every input loads or throws a QkvError naming the file or field
 * (CLI: commander's own errors, or a CliError naming the flag); anything else (TypeError,
 * RangeError, stack overflow, a plain Error) is "unnamed". Shared by the short seeded runs in
 * test/fuzz/fuzz.test.ts and the long run (scripts/fuzz.ts, `npm run fuzz`).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CommanderError } from "commander";
import fc from "fast-check";
import { buildProgram } from "../../cli/main.js";
import {
  BertForMaskedLM,
  ByteLevelBPE,
  checkAdamState,
  DEFAULTS,
  defaultGenerator,
  Generator,
  GPT,
  loadTokenizer,
  optim,
  parseHFCheckpoint,
  parseSafetensors,
  parseSafetensorsHeader,
  QkvError,
  type RawTensor,
  resolveConfig,
  serializeSafetensors,
  type Tensor,
  tensor,
} from "../../src/index.js";
import { openSafetensorsFile, readCheckpoint, readJson, writeCheckpoint } from "../../src/node.js";
import {
  applyByteEdits,
  applyJsonEdits,
  type ByteEdit,
  byteEdit,
  HOSTILE_NUMBERS,
  type JsonEdit,
  jsonEdit,
} from "./mutate.js";

const root = new URL("../..", import.meta.url).pathname;
const fixture = (p: string) => join(root, "test/fixtures", p);

/** How one input ended. */
export type Outcome = "loaded" | "named" | "unnamed";

export interface FuzzTarget<I = unknown> {
  name: string;
  /** Which branch owns the code under test (issue 12: harden-io or harden-cli). */
  owner: "harden-io" | "harden-cli" | "tokenizers";
  arbitrary: fc.Arbitrary<I>;
  /** Loads the input; resolves when it loaded, throws when it was refused. */
  run(input: I): unknown;
  /** Whether an error is a named refusal for this target. */
  named(e: unknown): boolean;
  /** A short rendering of an input for reports. */
  show(input: I): string;
}

/** A qkv error that says which file or field was wrong. */
export function isNamedQkvError(e: unknown, file?: string): boolean {
  if (!(e instanceof QkvError)) return false;
  return e.file !== undefined || e.field !== undefined || (file !== undefined && e.message.includes(file));
}

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

// ---- safetensors -------------------------------------------------------------------------------

function safetensorsSeeds(): Uint8Array[] {
  const f32 = (n: number) => ({
    dtype: "float32" as const,
    shape: [n],
    data: Float32Array.from({ length: n }, (_, i) => i - 1.5),
  });
  const seeds = [
    serializeSafetensors(
      { a: f32(3), b: { dtype: "int32", shape: [2, 2], data: Int32Array.of(1, -2, 3, 4) } },
      { format: "pt" },
    ),
    serializeSafetensors(
      { w: f32(6), e: { dtype: "float32", shape: [0, 3], data: new Float32Array(0) } },
      undefined,
      {
        float32As: "BF16",
      },
    ),
    serializeSafetensors(
      { h: f32(4), d: { dtype: "float64", shape: [1, 2], data: Float64Array.of(0.1, -2) } },
      undefined,
      {
        float32As: "F16",
      },
    ),
    serializeSafetensors(
      new Map([
        ["constructor", f32(1)],
        ["__proto__", f32(2)],
      ]),
    ),
    serializeSafetensors({}),
  ];
  for (const f of ["io/dtypes.safetensors", "io/dtypes-unaligned.safetensors", "io/i64-overflow.safetensors"])
    seeds.push(new Uint8Array(readFileSync(fixture(f))));
  return seeds;
}

/** Rebuilds a file with its header JSON edited (length prefix kept consistent). */
function editHeader(file: Uint8Array, edits: JsonEdit[]): Uint8Array {
  if (edits.length === 0) return file;
  const len = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + len)));
  const text = new TextEncoder().encode(applyJsonEdits(header, edits));
  const data = file.subarray(8 + len);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

interface FileInput {
  seed: number;
  json: JsonEdit[];
  bytes: ByteEdit[];
}

const fileInput = (nSeeds: number): fc.Arbitrary<FileInput> =>
  fc.record({
    seed: fc.nat({ max: nSeeds - 1 }),
    json: fc.array(jsonEdit, { maxLength: 3 }),
    bytes: fc.array(byteEdit, { maxLength: 3 }),
  });

/** Decoded tensors never need more than 4 bytes per file byte (U8/I8/BOOL widen to int32). */
function checkAllocation(tensors: Map<string, RawTensor>, fileBytes: number): void {
  let total = 0;
  for (const t of tensors.values()) total += t.data.byteLength;
  if (total > 4 * fileBytes + 64)
    throw new Error(
      `allocated ${total} bytes of tensors for a ${fileBytes}-byte file (more than the header justifies)`,
    );
}

function safetensorsTarget(): FuzzTarget<FileInput> {
  const seeds = safetensorsSeeds();
  const build = (i: FileInput) => applyByteEdits(editHeader(seeds[i.seed], i.json), i.bytes);
  return {
    name: "safetensors (bytes)",
    owner: "harden-io",
    arbitrary: fileInput(seeds.length),
    run(i) {
      const bytes = build(i);
      const { tensors } = parseSafetensors(bytes, { name: "fuzz.safetensors", copy: true });
      checkAllocation(tensors, bytes.length);
      parseSafetensorsHeader(bytes, { name: "fuzz.safetensors" });
    },
    named: (e) => e instanceof QkvError && e.file === "fuzz.safetensors",
    show: (i) =>
      `seed ${i.seed}, header edits ${clip(JSON.stringify(i.json, big))}, byte edits ${clip(JSON.stringify(i.bytes, big))}`,
  };
}

function big(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof Uint8Array) return Array.from(v);
  return v;
}

function safetensorsFileTarget(dir: string): FuzzTarget<FileInput> {
  const seeds = safetensorsSeeds();
  const path = join(dir, "fuzz.safetensors");
  return {
    name: "safetensors (file, positional reads)",
    owner: "harden-io",
    arbitrary: fileInput(seeds.length),
    async run(i) {
      const bytes = applyByteEdits(editHeader(seeds[i.seed], i.json), i.bytes);
      writeFileSync(path, bytes);
      const f = await openSafetensorsFile(path);
      try {
        const tensors = new Map<string, RawTensor>();
        for (const name of f.entries.keys()) tensors.set(name, await f.read(name));
        checkAllocation(tensors, bytes.length);
      } finally {
        await f.close();
      }
    },
    named: (e) => e instanceof QkvError && e.file === path,
    show: (i) =>
      `seed ${i.seed}, header edits ${clip(JSON.stringify(i.json, big))}, byte edits ${clip(JSON.stringify(i.bytes, big))}`,
  };
}

// ---- tokenizer.json ----------------------------------------------------------------------------

interface TextInput {
  seed: number;
  json: JsonEdit[];
  bytes: ByteEdit[];
}

function textTarget(
  name: string,
  owner: FuzzTarget["owner"],
  seeds: unknown[],
  run: (text: string) => unknown,
  named: (e: unknown) => boolean,
): FuzzTarget<TextInput> {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const build = (i: TextInput): string => {
    const text = applyJsonEdits(seeds[i.seed], i.json);
    return i.bytes.length === 0 ? text : dec.decode(applyByteEdits(enc.encode(text), i.bytes));
  };
  return {
    name,
    owner,
    arbitrary: fc.record({
      seed: fc.nat({ max: seeds.length - 1 }),
      json: fc.array(jsonEdit, { minLength: 1, maxLength: 3 }),
      bytes: fc.oneof(
        { weight: 4, arbitrary: fc.constant<never[]>([]) },
        { weight: 1, arbitrary: fc.array(byteEdit, { maxLength: 2 }) },
      ),
    }),
    run: (i) => run(build(i)),
    named,
    show: (i) => clip(build(i)),
  };
}

function tokenizerTarget(): FuzzTarget<TextInput> {
  // Small seeds keep an input near a millisecond: the char fixture and a BPE with a few dozen
  // merges trained here (the big fixtures would cost ~20 ms a load).
  const corpus = readFileSync(fixture("tokenizers/corpus.txt"), "utf8").slice(0, 4000);
  const seeds = [
    JSON.parse(readFileSync(fixture("tokenizers/qkv-char.tokenizer.json"), "utf8")),
    JSON.parse(
      JSON.stringify(
        ByteLevelBPE.train(corpus, { vocabSize: 300, specialTokens: ["<|endoftext|>"] }).toJSON(),
      ),
    ),
  ];
  return textTarget(
    "tokenizer.json (loadTokenizer)",
    "tokenizers",
    seeds,
    (text) => {
      const tok = loadTokenizer(text);
      let ids: number[];
      try {
        ids = tok.encode("Hello, world! 123 ünïcode");
      } catch (e) {
        // A char vocabulary may lack these characters: a refusal naming the character is fine.
        if (e instanceof Error && /unknown character/.test(e.message)) return;
        throw e;
      }
      tok.decode(ids);
    },
    // TokenizerFormatError is only raised for tokenizer.json, and names the field path
    // ("model.merges[3]") in its message.
    (e) => e instanceof QkvError,
  );
}

// ---- config.json (HF) and train_config.json ------------------------------------------------------

function hfConfigTarget(): FuzzTarget<TextInput> {
  const gpt = readPretrainedDirSync("hf/gpt2-tiny");
  const bert = readPretrainedDirSync("hf/bert-tiny");
  const seeds = [gpt.config, bert.config];
  return textTarget(
    "config.json (parseHFCheckpoint + fromHF)",
    "harden-cli",
    seeds,
    (text) => {
      // The browser loader parses config.json (and names it on bad JSON); the tensors are the
      // fixture's, parsed once.
      const { config } = parseHFCheckpoint({ config: text, safetensors: EMPTY_SAFETENSORS });
      if (config.model_type === "bert") BertForMaskedLM.fromHF(config, bert.tensors, { warn: () => {} });
      else GPT.fromHF(config, gpt.tensors, { warn: () => {} });
    },
    (e) => isNamedQkvError(e, "config.json"),
  );
}

const EMPTY_SAFETENSORS = serializeSafetensors({});

/** The fixture folders' tensors, loaded once (synchronously, through the header and offsets). */
function readPretrainedDirSync(name: string): {
  config: Record<string, unknown>;
  tensors: Map<string, RawTensor>;
} {
  const dir = fixture(name);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const { tensors } = parseSafetensors(new Uint8Array(readFileSync(join(dir, "model.safetensors"))), {
    copy: true,
  });
  return { config, tensors };
}

function trainConfigTarget(dir: string): FuzzTarget<TextInput> {
  const seeds = [
    { ...DEFAULTS },
    { model: "gpt", nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 16, batchSize: 4, maxIters: 10, lr: 1e-3 },
    { model: "bert", tokenizer: "bpe", vocabSize: 300, sampleTokens: 0 },
  ];
  const path = join(dir, "train_config.json");
  return textTarget(
    "train_config.json (readJson + resolveConfig)",
    "harden-cli",
    seeds,
    async (text) => {
      writeFileSync(path, text);
      const obj = await readJson(path, "training config");
      if (obj === null || typeof obj !== "object" || Array.isArray(obj))
        throw new QkvError(`${path} must hold a JSON object`, { file: path });
      resolveConfig({ overrides: [obj as Record<string, unknown>] });
    },
    (e) => isNamedQkvError(e, "train_config.json"),
  );
}

// ---- checkpoint and resume state -------------------------------------------------------------------

interface ResumeInput {
  file: "trainer_state.json" | "optimizer.json";
  json: JsonEdit[];
}

/**
 * trainer_state.json and optimizer.json through the resume path: readCheckpoint (as `train
 * --resume` reads last/), then the optimizer's loadStateDict and the state fields the trainer
 * restores. `dir` gets a real checkpoint of a tiny GPT after two AdamW steps.
 */
async function resumeTarget(dir: string): Promise<FuzzTarget<ResumeInput>> {
  const ck = join(dir, "ck");
  const model = new GPT({
    vocabSize: 11,
    blockSize: 4,
    nLayer: 1,
    nHead: 2,
    nEmbd: 8,
    dropout: 0,
    bias: true,
  });
  const opt = new optim.AdamW(model.parameters(), { lr: 1e-3 });
  for (let s = 0; s < 2; s++) {
    model.zeroGrad();
    model
      .forward(tensor([[1, 2, 3]], { dtype: "int32" }), tensor([[2, 3, 4]], { dtype: "int32" }))
      .loss!.backward();
    opt.step();
  }
  const weights = new Map<string, RawTensor>();
  for (const [k, t] of Object.entries(model.stateDict()))
    weights.set(k, {
      dtype: "float32",
      shape: [...t.shape],
      data: Float32Array.from(t.data as Float32Array),
    });
  const trainerState = {
    iter: 2,
    bestValLoss: 2.5,
    rng: defaultGenerator.getState(),
    task: { generator: new Generator(1, { algorithm: "mt19937" }).getState() },
    elapsedMs: 10,
  };
  mkdirSync(dir, { recursive: true });
  await writeCheckpoint(ck, {
    config: { n_layer: 1 },
    trainConfig: { ...DEFAULTS },
    tokenizer: {},
    weights,
    optimizer: opt.stateDict(),
    trainerState,
  });
  const originals = {
    "trainer_state.json": JSON.parse(readFileSync(join(ck, "trainer_state.json"), "utf8")),
    "optimizer.json": JSON.parse(readFileSync(join(ck, "optimizer.json"), "utf8")),
  };
  const params: Tensor[] = model.parameters();
  return {
    name: "trainer_state.json + optimizer.json (resume)",
    owner: "harden-cli",
    arbitrary: fc.record({
      file: fc.constantFrom("trainer_state.json" as const, "optimizer.json" as const),
      json: fc.array(jsonEdit, { minLength: 1, maxLength: 3 }),
    }),
    async run(i) {
      const other = i.file === "optimizer.json" ? "trainer_state.json" : "optimizer.json";
      writeFileSync(join(ck, i.file), applyJsonEdits(originals[i.file], i.json));
      writeFileSync(join(ck, other), JSON.stringify(originals[other]));
      const content = await readCheckpoint(ck);
      const fresh = new optim.AdamW(params as never, { lr: 1e-3 });
      // As cli/train.ts does on --resume: the state is checked against the model's parameter
      // layout before the optimizer takes it.
      checkAdamState(
        content.optimizer,
        fresh.paramGroups.map((g) => g.params.map((p) => p.shape)),
        join(ck, "optimizer.json"),
      );
      fresh.loadStateDict(content.optimizer as never);
      const s = content.trainerState as {
        iter: number;
        bestValLoss: number;
        rng: never;
        task: { generator: never };
      };
      // What Trainer.restore, the task's sampler and the end-of-run report do with the state
      // (on scratch generators, so the process's own RNG is untouched).
      new Generator(0).setState(s.rng);
      new Generator(0).setState(s.task.generator);
      if (!Number.isSafeInteger(s.iter) || s.iter < 0) throw new Error(`resume: iter ${s.iter} accepted`);
      s.bestValLoss.toFixed(4);
    },
    named: (e) =>
      isNamedQkvError(e) &&
      /trainer_state\.json|optimizer\.json|optimizer\.safetensors/.test(String((e as Error).message)),
    show: (i) => `${i.file}: ${clip(applyJsonEdits(originals[i.file], i.json))}`,
  };
}

// ---- CLI flags -----------------------------------------------------------------------------------

const COMMANDS: string[][] = [
  ["train"],
  ["sample"],
  ["eval"],
  ["info"],
  ["tokenizer", "train"],
  ["tokenizer", "encode"],
  ["tokenizer", "decode"],
];
const FLAG_VALUES = [
  ...HOSTILE_NUMBERS.map(String),
  "1e400",
  "NaN",
  "-Infinity",
  "0x10",
  "1_000",
  "",
  " ",
  "abc",
  "--",
  "-1",
  "0.5",
  "1e-9",
  "gpt",
  "bert",
  "char",
  "bpe",
  "cpu",
  "native",
  "__proto__",
  "constructor",
];

interface CliInput {
  command: number;
  flags: [number, number][];
  extra: string[];
}

/** Every option flag of a command (long names), read from the real program. */
function optionsOf(path: string[]): string[] {
  let cmd = buildProgram();
  for (const p of path) cmd = cmd.commands.find((c) => c.name() === p) ?? cmd;
  return cmd.options.map((o) => o.long ?? o.short ?? "").filter((s) => s !== "");
}

/**
 * `qkv` argv through cli/main.ts's parser (buildProgram), with every command's action replaced
 * by one that resolves the training config from the parsed flags (as `train` does before it
 * reads any file); nothing is printed and no command runs.
 */
function cliTarget(): FuzzTarget<CliInput> {
  const options = COMMANDS.map(optionsOf);
  const argvOf = (i: CliInput): string[] => {
    const cmd = COMMANDS[i.command % COMMANDS.length];
    const opts = options[i.command % COMMANDS.length];
    const argv = [...cmd];
    for (const [o, v] of i.flags) {
      argv.push(opts[o % opts.length] ?? "--help");
      if (v % 7 !== 0) argv.push(FLAG_VALUES[v % FLAG_VALUES.length]);
    }
    return [...argv, ...i.extra];
  };
  return {
    name: "CLI flags (cli/main.ts buildProgram)",
    owner: "harden-cli",
    arbitrary: fc.record({
      command: fc.nat(),
      flags: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 6 }),
      extra: fc.oneof(
        { weight: 5, arbitrary: fc.constant<never[]>([]) },
        {
          weight: 1,
          arbitrary: fc.array(
            fc.oneof(fc.constantFrom("--no-such-flag", "-x", "extra", "--batch-size=1e15")),
            { maxLength: 2 },
          ),
        },
      ),
    }),
    async run(i) {
      const program = buildProgram();
      const quiet = (c: typeof program) => {
        c.configureOutput({ writeErr: () => {}, writeOut: () => {} });
        c.exitOverride();
        for (const sub of c.commands) quiet(sub as typeof program);
      };
      quiet(program);
      const resolve = (opts: Record<string, unknown>) => {
        const overrides: Record<string, unknown> = {};
        for (const k of Object.keys(DEFAULTS)) if (opts[k] !== undefined) overrides[k] = opts[k];
        resolveConfig({ overrides: [overrides] });
      };
      const train = program.commands.find((c) => c.name() === "train")!;
      train.action((opts: Record<string, unknown>) => resolve(opts));
      for (const c of program.commands) if (c !== train) c.action(() => {});
      for (const c of program.commands.find((c) => c.name() === "tokenizer")?.commands ?? [])
        c.action(() => {});
      await program.parseAsync(argvOf(i), { from: "user" });
    },
    named: (e) =>
      e instanceof CommanderError ||
      ((e as Error)?.name === "CliError" && /--[a-z]/.test((e as Error).message)) ||
      isNamedQkvError(e),
    show: (i) => JSON.stringify(argvOf(i)),
  };
}

/** All targets, built for one scratch folder. */
export async function allTargets(dir: string): Promise<FuzzTarget[]> {
  return [
    safetensorsTarget(),
    safetensorsFileTarget(dir),
    tokenizerTarget(),
    hfConfigTarget(),
    trainConfigTarget(dir),
    await resumeTarget(dir),
    cliTarget(),
  ] as FuzzTarget[];
}
