// parseFlags: the CLI's flag parsing without running a command (the entry point for fuzzing it).
// Every refusal is a CliError or a CommanderError: never a TypeError or a silent huge value.
import { CommanderError } from "commander";
import { describe, expect, test } from "vitest";
import { CliError } from "../../cli/errors.js";
import { parseFlags } from "../../cli/main.js";

const parse = (...a: string[]) => parseFlags(["node", "qkv", ...a]);

describe("parseFlags", () => {
  test("returns the command path, its typed flags and arguments", async () => {
    const t = await parse("train", "--batch-size", "8", "--lr", "3e-4", "--on-nan", "skip");
    expect(t.command).toBe("train");
    expect(t.opts).toMatchObject({ batchSize: 8, lr: 3e-4, onNan: "skip" });
    const d = await parse("tokenizer", "decode", "--tokenizer", "t.json", "1", "2");
    expect(d.command).toBe("tokenizer decode");
    expect(d.args).toEqual([["1", "2"]]);
    const s = await parse("sample", "--checkpoint", "c", "--dtype", "int8");
    expect(s.opts).toMatchObject({ dtype: "int8" });
    expect((await parse("sample", "--checkpoint", "c")).opts).toMatchObject({ dtype: "fp32" });
  });

  test.each([
    [["train", "--batch-size", "9007199254740993"], CliError, /--batch-size is too large/],
    [["train", "--max-iters", "1e15"], CliError, /--max-iters must be ≤ 1000000000/],
    [["sample", "--checkpoint", "c", "--top-p", "0"], CliError, /--top-p must be in \(0, 1\]/],
    [["train", "--n-layer", "NaN"], CliError, /--n-layer expects an integer/],
    [["train", "--nope"], CommanderError, /unknown option '--nope'/],
    [
      ["sample", "--checkpoint", "c", "--dtype", "int4"],
      CommanderError,
      /'--dtype <type>' argument 'int4' is invalid.*fp32, bf16, int8/,
    ],
    [["fly"], CommanderError, /unknown command 'fly'/],
  ])("%j is refused by name", async (args, cls, message) => {
    const e = await parse(...(args as string[])).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(cls);
    expect((e as Error).message).toMatch(message);
  });
});
