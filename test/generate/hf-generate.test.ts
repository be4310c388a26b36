/**
 * bartGenerate against transformers' generate(): for every setting of scripts/gen_bart_fixtures.py
 * (the folder's generation_config.json, greedy, beam search with each early_stopping mode, length
 * penalties, n-gram blocking, forced BOS/EOS, min/max lengths, num_return_sequences), on a padded
 * batch and on single sources, qkv's `sequences` equal HF's token for token.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BartForConditionalGeneration,
  bartGenerate,
  generationSettingsFromHF,
  tensor,
} from "../../src/index.js";
import { fromPretrained } from "../../src/node.js";

const DIR = join(__dirname, "..", "fixtures", "bart");
interface GenCase {
  settings: Record<string, unknown>;
  sequences: number[][];
}
const expected = JSON.parse(readFileSync(join(DIR, "expected.json"), "utf8")) as {
  models: Record<
    string,
    {
      generate_input_ids: number[][];
      generate_attention_mask: number[][];
      generate: GenCase[];
      generate_single: GenCase[];
    }
  >;
};
const ids2d = (rows: number[][]) =>
  tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0].length] });
const label = (s: Record<string, unknown>) => JSON.stringify(s);

describe.each(Object.keys(expected.models))("bartGenerate on %s equals HF generate", (name) => {
  const m = expected.models[name];
  const load = () => fromPretrained(BartForConditionalGeneration, join(DIR, name));

  it.each(m.generate.map((g) => [label(g.settings), g] as const))("padded batch, %s", async (_, g) => {
    const model = await load();
    const out = bartGenerate(model, ids2d(m.generate_input_ids), {
      attentionMask: ids2d(m.generate_attention_mask),
      ...generationSettingsFromHF(g.settings),
    });
    expect(out).toEqual(g.sequences);
  });

  it("single sources without a mask", async () => {
    const model = await load();
    // generate_single holds (setting, source) pairs in order: setting-major, two sources each.
    for (let i = 0; i < m.generate_single.length; i++) {
      const g = m.generate_single[i];
      const srcRow = m.generate_input_ids[i % 2].filter((_, j) => m.generate_attention_mask[i % 2][j] === 1);
      const out = bartGenerate(model, ids2d([srcRow]), generationSettingsFromHF(g.settings));
      expect(out, label(g.settings)).toEqual(g.sequences);
    }
    expect(m.generate_single.length).toBeGreaterThan(0);
  });
});

describe("bartGenerate settings", () => {
  it("reads the folder's generation_config.json", async () => {
    const model = await fromPretrained(BartForConditionalGeneration, join(DIR, "tiny"));
    expect(model.generationConfig?.num_beams).toBe(4);
  });

  it("refuses sampling and impossible return counts, naming the field", async () => {
    const model = await fromPretrained(BartForConditionalGeneration, join(DIR, "tiny"));
    const src = ids2d([[0, 5, 2]]);
    expect(() => bartGenerate(model, src, { doSample: true })).toThrow(/do_sample/);
    expect(() => bartGenerate(model, src, { numBeams: 2, numReturnSequences: 3 })).toThrow(
      /num_return_sequences 3/,
    );
    expect(() => bartGenerate(model, src, { earlyStopping: "sometimes" as never })).toThrow(/early_stopping/);
  });
});
