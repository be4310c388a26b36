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
import { GPT, Module, nn, parseSafetensors, QkvError, SafetensorsError } from "../../src/index.js";
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
});
