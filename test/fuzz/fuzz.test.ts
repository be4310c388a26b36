/**
 * The seeded short fuzz run of `npm test` (a few seconds per target; the long run is `npm run
 * fuzz`): every generated input must load or be refused with a QkvError naming the file or field.
 * fast-check shrinks a failure to a small input and prints its seed and path. Plus the
 * regressions the fuzzers found, as plain tests.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BertForMaskedLM,
  ByteLevelBPE,
  CharTokenizer,
  ConfigError,
  checkAdamState,
  GPT,
  loadTokenizer,
  Module,
  nn,
  optim,
  parseSafetensors,
  QkvError,
  resolveConfig,
  SafetensorsError,
  SchemaError,
  TokenizerFormatError,
  TokenizerInputError,
} from "../../src/index.js";
import { showValue } from "../../src/util/json.js";
import { inputAt } from "./run.js";
import { allTargets, type FuzzTarget } from "./targets.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-fuzz-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let targets: FuzzTarget[] = [];
beforeAll(async () => {
  targets = await allTargets(dir);
});

const RUNS = 250;

async function check(prefix: string, seed: number): Promise<void> {
  const target = targets.find((t) => t.name.startsWith(prefix));
  if (!target) throw new Error(`no fuzz target ${prefix}`);
  await fc.assert(
    fc.asyncProperty(target.arbitrary, async (input) => {
      try {
        await target.run(input);
      } catch (e) {
        if (!target.named(e)) throw new Error(`unnamed refusal: ${(e as Error)?.stack ?? String(e)}`);
      }
    }),
    { numRuns: RUNS, seed, endOnFailure: false },
  );
}

describe("seeded short fuzz run", () => {
  it("safetensors bytes: every input loads or throws a SafetensorsError naming the file", async () => {
    await check("safetensors (bytes)", 1201);
  }, 60_000);

  it("safetensors file (positional reads): every input loads or throws naming the path", async () => {
    await check("safetensors (file", 1202);
  }, 60_000);

  for (const [prefix, seed] of [
    ["tokenizer.json", 1203],
    ["config.json", 1204],
    ["train_config.json", 1205],
    ["trainer_state.json", 1206],
    ["CLI flags", 1207],
  ] as const) {
    it(`${prefix}: every input loads or is refused naming the file or field`, async () => {
      await check(prefix, seed);
    }, 120_000);
  }
});

describe("regressions found by fuzzing", () => {
  const header = (text: string): Uint8Array => {
    const padded = text + " ".repeat((8 - (text.length % 8)) % 8);
    const out = new Uint8Array(8 + padded.length);
    new DataView(out.buffer).setUint32(0, padded.length, true);
    out.set(new TextEncoder().encode(padded), 8);
    return out;
  };

  it("a safetensors header nested 5,000 deep is refused by name, not by a stack overflow", () => {
    // Before: JSON.stringify of the nested shape (for the message) overflowed the stack.
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    for (const text of [`{"a":{"dtype":"F32","shape":${deep},"data_offsets":[0,0]}}`, `{"a":${deep}}`]) {
      expect(() => parseSafetensors(header(text), { name: "deep.safetensors" })).toThrow(SafetensorsError);
      expect(() => parseSafetensors(header(text), { name: "deep.safetensors" })).toThrow(
        /nests arrays\/objects more than 16 deep/,
      );
    }
    // Depth within the cap still gets the field-level message, with the value described.
    const shallow = `{"a":{"dtype":"F32","shape":[[[[1]]]],"data_offsets":[0,4]}}`;
    expect(() => parseSafetensors(header(shallow), { name: "x" })).toThrow(
      /"shape" must be an array of non-negative integers/,
    );
  });

  it("a config.json far bigger than its checkpoint is refused while building shape-only", () => {
    // The issue's cases: n_positions 1e7 took 16 s and 1.9 GiB, n_embd 65536 threw "Invalid typed
    // array length", n_layer 50256 overflowed the stack. Each is now a QkvError naming config.json
    // before any parameter memory is allocated.
    const dirPath = new URL("../fixtures/hf/gpt2-tiny/", import.meta.url).pathname;
    const config = JSON.parse(readFileSync(join(dirPath, "config.json"), "utf8"));
    const { tensors } = parseSafetensors(new Uint8Array(readFileSync(join(dirPath, "model.safetensors"))));
    for (const change of [{ n_positions: 10_000_000 }, { n_embd: 65536 }, { n_layer: 50256 }]) {
      let err: unknown = null;
      try {
        GPT.fromHF({ ...config, ...change }, tensors);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(change)).toBeInstanceOf(QkvError);
      expect((err as QkvError).file).toBe("config.json");
      expect((err as Error).message).toMatch(/describes a model bigger than the checkpoint/);
    }
  });

  it("namedModules lists 150,000 modules without spreading them into one call", () => {
    // 50,000 blocks of three modules: the old recursion pushed the list's 150,000 entries with
    // one spread call, past the engine's argument limit (as GPT with n_layer 50256 did).
    const block = () => new nn.Sequential(new nn.Dropout(0), new nn.Dropout(0));
    class Root extends Module {
      h = new nn.ModuleList(Array.from({ length: 50_000 }, block));
    }
    const names = new Root().namedModules().map(([n]) => n);
    expect(names.length).toBe(150_002);
    expect(names.slice(0, 6)).toEqual(["", "h", "h.0", "h.0.0", "h.0.1", "h.1"]);
    expect(names[150_001]).toBe("h.49999.1");
  });
  /** The error `f` throws (fails the test when it returns). */
  const thrown = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    throw new Error("expected a throw");
  };

  it("tokenizer.json text nested 20,000 deep is refused naming the file, not by a stack overflow", () => {
    // Short run seed 1203: {"kind":"deep","depth":20000} gave "Maximum call stack size exceeded".
    const tok = loadTokenizer(JSON.stringify(ByteLevelBPE.train("hello world", { vocabSize: 260 }).toJSON()));
    expect(tok.type).toBe("bpe");
    const deep = `{"model":{"type":"BPE","vocab":${"[".repeat(20_000)}${"]".repeat(20_000)}}}`;
    const e = thrown(() => loadTokenizer(deep));
    expect(e).toBeInstanceOf(TokenizerFormatError);
    expect((e as QkvError).file).toBe("tokenizer.json");
    expect((e as Error).message).toMatch(/deeper than 64 levels/);
  });

  it("tokenizer input errors are TokenizerInputErrors naming the id or the text", () => {
    const bpe = ByteLevelBPE.train("hello world", { vocabSize: 260 });
    let e = thrown(() => bpe.decode([1, 999_999]));
    expect(e).toBeInstanceOf(TokenizerInputError);
    expect((e as QkvError).field).toBe("ids[1]");
    expect((e as Error).message).toMatch(/id 999999 \(at position 1\)/);
    const char = CharTokenizer.fromText("abc");
    e = thrown(() => char.decode([-1]));
    expect((e as QkvError).field).toBe("ids[0]");
    e = thrown(() => char.encode("abx"));
    expect(e).toBeInstanceOf(TokenizerInputError);
    expect((e as QkvError).field).toBe("text");
  });

  it("config.json field errors name config.json and the field (seed 1204's cases)", () => {
    const read = (name: string) => {
      const d = new URL(`../fixtures/hf/${name}/`, import.meta.url).pathname;
      return {
        config: JSON.parse(readFileSync(join(d, "config.json"), "utf8")),
        tensors: parseSafetensors(new Uint8Array(readFileSync(join(d, "model.safetensors")))).tensors,
      };
    };
    const gpt = read("gpt2-tiny");
    const bert = read("bert-tiny");
    const cases: [Record<string, unknown>, string, (c: Record<string, unknown>) => unknown][] = [
      [{ ...gpt.config, n_embd: 0 }, "n_embd", (c) => GPT.fromHF(c, gpt.tensors)],
      [{ ...gpt.config, n_head: 3 }, "n_head", (c) => GPT.fromHF(c, gpt.tensors)],
      [{ ...gpt.config, resid_pdrop: 2 ** 31 - 1 }, "resid_pdrop", (c) => GPT.fromHF(c, gpt.tensors)],
      [{ ...gpt.config, n_inner: [[[1]]] }, "n_inner", (c) => GPT.fromHF(c, gpt.tensors)],
      [
        { ...bert.config, hidden_dropout_prob: 2 ** 31 - 1 },
        "hidden_dropout_prob",
        (c) => BertForMaskedLM.fromHF(c, bert.tensors),
      ],
      [
        { ...bert.config, hidden_size: 2 ** 31 - 1 },
        "num_attention_heads",
        (c) => BertForMaskedLM.fromHF(c, bert.tensors),
      ],
      [
        { ...bert.config, type_vocab_size: 0 },
        "type_vocab_size",
        (c) => BertForMaskedLM.fromHF(c, bert.tensors),
      ],
    ];
    for (const [config, field, build] of cases) {
      const e = thrown(() => build(config));
      expect(e, field).toBeInstanceOf(QkvError);
      expect((e as QkvError).file, field).toBe("config.json");
      expect((e as QkvError).field, field).toBe(field);
    }
  });

  it("an optimizer.json state with a renamed parameter key is refused by checkAdamState (seed 1206)", () => {
    // Before: AdamW.loadStateDict threw a plain Error ("state[].expAvg has shape …").
    const p = [new nn.Linear(3, 2)].flatMap((m) => m.parameters());
    const opt = new optim.AdamW(p, { lr: 1e-3 });
    for (const t of p) t.grad = t.detach().mul(0).add(1);
    opt.step();
    const sd = opt.stateDict() as { state: Record<string, unknown>; paramGroups: unknown[] };
    const shapes = opt.paramGroups.map((g) => g.params.map((q) => q.shape));
    expect(() => checkAdamState(sd, shapes, "last/optimizer.json")).not.toThrow();
    const swapped = { ...sd, state: { 0: sd.state[1], 1: sd.state[0] } };
    const e = thrown(() => checkAdamState(swapped, shapes, "last/optimizer.json"));
    expect(e).toBeInstanceOf(SchemaError);
    expect((e as QkvError).field).toBe("state.0.expAvg");
    expect((e as Error).message).toMatch(/optimizer\.json/);
  });

  it("train config values whose toString is not a function are named, not a TypeError", () => {
    // `${value}` of {"toString": 1} throws "Cannot convert object to primitive value".
    for (const field of ["model", "tokenizer", "bias", "lr"]) {
      const e = thrown(() => resolveConfig({ overrides: [{ [field]: { toString: 1 } }] }));
      expect(e, field).toBeInstanceOf(ConfigError);
      expect((e as QkvError).field, field).toBe(field);
    }
  });

  it("showValue describes any value in bounded time and space", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(showValue(deep)).toBe("an array of 1");
    expect(showValue({ toString: 1 })).toBe("an object");
    expect(showValue("x".repeat(1000))).toBe(JSON.stringify(`${"x".repeat(40)}…`));
    expect(showValue(Number.NaN)).toBe("NaN");
    expect(showValue(undefined)).toBe("nothing (missing)");
  });
  it("inputs the long run (seed 12) found unnamed are now named", async () => {
    // config.json #381: BERT max_position_embeddings 50256 against 16 stored positions was a
    // plain Error from the weight plan; #484: n_layer 1.4e122 was "RangeError: Invalid array
    // length"; #3896: resid_pdrop 1 passed the [0, 1] check, then GPT refused it with a
    // plain Error. tokenizer.json #57698: added_tokens [null] was a TypeError reading 'lstrip'.
    for (const [prefix, index] of [
      ["config.json", 381],
      ["config.json", 484],
      ["config.json", 3896],
      ["tokenizer.json", 57698],
    ] as const) {
      const target = targets.find((t) => t.name.startsWith(prefix))!;
      let err: unknown = null;
      try {
        await target.run(inputAt(target, 12, index));
      } catch (e) {
        err = e;
      }
      expect(err, `${prefix} #${index}`).not.toBeNull();
      expect(target.named(err), `${prefix} #${index}: ${String(err)}`).toBe(true);
    }
  });
});
