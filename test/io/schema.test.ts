// The JSON depth pre-scan and the declarative validator behind every config and state file.
import { describe, expect, test } from "vitest";
import {
  checkAdamState,
  checkGpt2ConfigAgainstWeights,
  checkJsonDepth,
  checkTrainerState,
  parseJsonText,
  QkvError,
  SchemaError,
  schema as s,
  tensor,
  validateJson,
} from "../../src/index.js";

describe("checkJsonDepth", () => {
  test("counts only structural brackets: brackets and escaped quotes inside strings do not nest", () => {
    // 3 levels of real nesting; the string holds 100 '[' and an escaped quote before a ']'.
    const text = `{"a":[{"s":"${"[".repeat(100)}\\"]"}]}`;
    expect(() => checkJsonDepth(text, "f.json", 3)).not.toThrow();
    expect(() => checkJsonDepth(text, "f.json", 2)).toThrow(/f\.json: JSON nests deeper than 2 levels/);
  });

  test("5,000 levels are refused by name before JSON.parse, not by a stack overflow", () => {
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    const e = (() => {
      try {
        parseJsonText(deep, "deep.json");
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(SchemaError);
    expect((e as SchemaError).file).toBe("deep.json");
  });

  test("invalid JSON names the file; a BOM is accepted", () => {
    expect(() => parseJsonText("{x", "c.json")).toThrow(/c\.json is not valid JSON/);
    expect(parseJsonText('\ufeff{"a":1}', "c.json")).toEqual({ a: 1 });
  });
});

describe("validateJson", () => {
  const sch = s.object({ n: s.int(1, 10), xs: s.array(s.num(), 2, 2) }, { optional: { name: s.str(5) } });
  test("returns the typed value and refuses unknown keys, including prototype names", () => {
    expect(validateJson(sch, { n: 3, xs: [1, 2] }, "f")).toEqual({ n: 3, xs: [1, 2] });
    expect(() => validateJson(sch, JSON.parse('{"n":3,"xs":[1,2],"__proto__":{}}'), "f")).toThrow(
      /unknown field "__proto__"/,
    );
  });
  test.each([
    [{ n: 0, xs: [1, 2] }, /field "n" must be an integer in \[1, 10\], got 0/],
    [{ n: 2.5, xs: [1, 2] }, /field "n" must be an integer/],
    [{ n: 2, xs: [1] }, /field "xs" must be an array of 2 items, got an array of 1/],
    [{ n: 2, xs: [1, "a"] }, /field "xs\[1\]" must be a finite number, got "a"/],
    [{ n: 2, xs: [1, 2], name: "toolong" }, /field "name" must be a string of at most 5/],
    [null, /field "\(top level\)" must be an object, got null/],
  ])("%j → %s", (v, msg) => {
    const e = (() => {
      try {
        validateJson(sch, v, "cfg.json");
      } catch (x) {
        return x as QkvError;
      }
    })();
    expect(e).toBeInstanceOf(QkvError);
    expect(e?.message).toMatch(/^cfg\.json: /);
    expect(e?.message).toMatch(msg);
  });
});

describe("checkpoint schemas", () => {
  // xoshiro's words are saved as int32: negative words are valid state.
  const rng = { s: [1, -774789005, 3, 4], spare: null };
  test("trainer state: NaN best loss and a short mt19937 state are refused, +Infinity accepted", () => {
    const ok = {
      iter: 3,
      bestValLoss: Number.POSITIVE_INFINITY,
      rng,
      task: { generator: rng },
      elapsedMs: 1,
    };
    expect(checkTrainerState(ok, "gpt", "ts.json").iter).toBe(3);
    expect(() => checkTrainerState({ ...ok, bestValLoss: Number.NaN }, "gpt", "ts.json")).toThrow(
      /bestValLoss/,
    );
    expect(() =>
      checkTrainerState(
        { ...ok, task: { generator: { algorithm: "mt19937", mt: [1], index: 0 } } },
        "gpt",
        "ts.json",
      ),
    ).toThrow(/field "task\.generator\.mt" must be an array of 624 items/);
  });

  test("AdamW state: shapes must match the parameters, values must be finite", () => {
    const sd = (m: number[]) => ({
      state: { 0: { step: 1, expAvg: tensor(m), expAvgSq: tensor([0, 0]) } },
      paramGroups: [
        {
          lr: 1,
          betas: [0.9, 0.99],
          eps: 1e-8,
          weightDecay: 0,
          amsgrad: false,
          maximize: false,
          params: [0],
        },
      ],
    });
    expect(() => checkAdamState(sd([1, 2]), [[[2]]], "o.json")).not.toThrow();
    expect(() => checkAdamState(sd([1, 2, 3]), [[[2]]], "o.json")).toThrow(
      /state\.0\.expAvg" has shape \[3\], its parameter has \[2\]/,
    );
    expect(() => checkAdamState(sd([1, Number.NaN]), [[[2]]], "o.json")).toThrow(
      /non-finite value at index 1/,
    );
    expect(() => checkAdamState(sd([1, 2]), [[[2]], []], "o.json")).toThrow(
      /paramGroups" must be an array of 2 items/,
    );
  });

  test("GPT-2 config.json against the weights: sizes the tensors do not have are refused", () => {
    const w = new Map([
      ["transformer.wte.weight", { shape: [10, 8] }],
      ["transformer.wpe.weight", { shape: [16, 8] }],
      ["transformer.h.0.mlp.c_fc.weight", { shape: [8, 32] }],
    ]);
    const c = { vocab_size: 10, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 };
    expect(() => checkGpt2ConfigAgainstWeights(c, w, "config.json")).not.toThrow();
    expect(() => checkGpt2ConfigAgainstWeights({ ...c, n_positions: 1e7 }, w, "config.json")).toThrow(
      /"n_positions", "n_embd" disagree/,
    );
    expect(() => checkGpt2ConfigAgainstWeights({ ...c, n_layer: 2 }, w, "config.json")).toThrow(
      /"n_layer" is 2, but the weights hold 1 layers/,
    );
    expect(() => checkGpt2ConfigAgainstWeights({ ...c, n_inner: 64 }, w, "config.json")).toThrow(
      /"n_inner" must be null or 4·n_embd = 32/,
    );
  });
});
