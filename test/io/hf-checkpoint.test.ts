/**
 * Hugging Face checkpoints from and to bytes (the browser path, `qkv`) and from and to folders
 * (`qkv/node`): both give the same model, and a folder holds exactly the bytes a page would
 * download.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  BertForMaskedLM,
  Generator,
  GPT,
  type HFCheckpoint,
  type HFLoadOptions,
  parseHFCheckpoint,
  parseSafetensors,
  type RawTensor,
  SafetensorsError,
  serializeHFCheckpoint,
  withNoGrad,
} from "../../src/index.js";
import { fromPretrained, readPretrainedDir, savePretrained, writePretrainedDir } from "../../src/node.js";
import { expected, fixturePath, ids, maxAbsDiff } from "../models/hf-fixtures.js";

const tmp = mkdtempSync(join(tmpdir(), "qkv-hfck-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tiny = { vocabSize: 50, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true };

function files(name: string): { config: string; safetensors: Uint8Array } {
  const dir = fixturePath(name);
  return {
    config: readFileSync(join(dir, "config.json"), "utf8"),
    safetensors: new Uint8Array(readFileSync(join(dir, "model.safetensors"))),
  };
}

describe("parseHFCheckpoint (bytes a page has)", () => {
  it("loads a GPT-2 that matches the PyTorch reference and the folder loader bit for bit", async () => {
    const e = expected("gpt2-tiny");
    const f = files("gpt2-tiny");
    const { config, tensors } = parseHFCheckpoint(f);
    const fromBytes = GPT.fromHF(config, tensors);
    const fromDir = await fromPretrained(GPT, fixturePath("gpt2-tiny"));
    const x = ids(e.input_ids);
    const a = withNoGrad(() => fromBytes.forward(x).logits);
    const b = withNoGrad(() => fromDir.forward(x).logits);
    expect(maxAbsDiff(a, e.logits!)).toBeLessThan(1e-4);
    expect(Buffer.from(a.toArray().buffer).equals(Buffer.from(b.toArray().buffer))).toBe(true);
  });

  it("takes an ArrayBuffer and an already parsed config, and strips a byte-order mark", () => {
    const f = files("bert-tiny");
    const buf = new ArrayBuffer(f.safetensors.byteLength);
    new Uint8Array(buf).set(f.safetensors);
    const a = parseHFCheckpoint({ config: JSON.parse(f.config), safetensors: buf });
    const b = parseHFCheckpoint({ config: `\ufeff${f.config}`, safetensors: f.safetensors });
    expect(a.config).toEqual(b.config);
    expect(a.config.architectures).toEqual(["BertForMaskedLM"]);
    expect([...a.tensors.keys()]).toEqual([...b.tensors.keys()]);
    const m = BertForMaskedLM.fromHF(a.config, a.tensors);
    expect(m.config.hiddenSize).toBe(a.config.hidden_size);
  });

  it("names the file that is wrong", () => {
    const f = files("gpt2-tiny");
    expect(() => parseHFCheckpoint({ ...f, config: "{ nope" })).toThrow(/config\.json is not valid JSON/);
    expect(() => parseHFCheckpoint({ ...f, config: "[1, 2]" })).toThrow(/must hold a JSON object/);
    expect(() => parseHFCheckpoint({ ...f, config: "null" })).toThrow(/must hold a JSON object/);
    const bad = () => parseHFCheckpoint({ ...f, safetensors: new Uint8Array(3) });
    expect(bad).toThrow(SafetensorsError);
    expect(bad).toThrow(/model\.safetensors/);
  });

  it("does not share the caller's config object", () => {
    const config = JSON.parse(files("gpt2-tiny").config) as Record<string, unknown>;
    const ck = parseHFCheckpoint({ config, safetensors: files("gpt2-tiny").safetensors });
    ck.config.n_layer = 99;
    expect(config.n_layer).not.toBe(99);
  });
});

describe("serializeHFCheckpoint and the qkv/node folder functions", () => {
  it("a saved folder holds exactly the serialized bytes, and both read back to the same model", async () => {
    const m = new GPT(tiny, { generator: new Generator(5) }).eval();
    const dir = join(tmp, "gpt");
    await savePretrained(m, dir);
    const bytes = serializeHFCheckpoint(m.toHF());
    expect(readFileSync(join(dir, "config.json"), "utf8")).toBe(bytes.config);
    expect(
      Buffer.from(readFileSync(join(dir, "model.safetensors"))).equals(Buffer.from(bytes.safetensors)),
    ).toBe(true);
    // transformers refuses a safetensors file without this metadata.
    expect(parseSafetensors(bytes.safetensors).metadata).toEqual({ format: "pt" });

    const back = parseHFCheckpoint(bytes);
    const x = ids([[1, 2, 3]]);
    const want = m.forward(x).logits.toArray();
    expect(GPT.fromHF(back.config, back.tensors).forward(x).logits.toArray()).toEqual(want);
    // A folder is mapped, and GPT-2's Conv1D weights stay in HF's (in, out) order, viewed transposed: the
    // same numbers, but a SIMD backend sums their products in another order, so logits agree to rounding.
    const folder = await fromPretrained(GPT, dir);
    const own = m.stateDict();
    for (const [k, t] of Object.entries(folder.stateDict())) expect(t.toArray(), k).toEqual(own[k].toArray());
    const got = folder.forward(x).logits.toArray();
    expect(got.length).toBe(want.length);
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5);
  });

  it("readPretrainedDir / writePretrainedDir move an HFCheckpoint unchanged", async () => {
    const ck = await readPretrainedDir(fixturePath("bert-tiny"));
    const dir = join(tmp, "bert-copy");
    await writePretrainedDir(dir, ck);
    const again = await readPretrainedDir(dir);
    expect(again.config).toEqual(ck.config);
    expect([...again.tensors.keys()].sort()).toEqual([...ck.tensors.keys()].sort());
    for (const [k, t] of ck.tensors) {
      const u = again.tensors.get(k)!;
      expect(u.shape, k).toEqual(t.shape);
      expect(
        Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        ),
        k,
      ).toBe(true);
    }
  });

  it("fromPretrained works for any class with a static fromHF and passes its options through", async () => {
    const seen: { keys: number; opts: unknown }[] = [];
    // Any object with the static counts, as a user's own model class would.
    const Probe = {
      fromHF(config: Record<string, unknown>, tensors: Map<string, RawTensor>, opts?: HFLoadOptions) {
        seen.push({ keys: tensors.size, opts });
        return { arch: config.architectures };
      },
    };
    const opts = { strict: false };
    const got = await fromPretrained(Probe, fixturePath("gpt2-tiny"), opts);
    expect(got.arch).toEqual(["GPT2LMHeadModel"]);
    expect(seen).toEqual([{ keys: (await readPretrainedDir(fixturePath("gpt2-tiny"))).tensors.size, opts }]);
    let exported: HFCheckpoint | null = null;
    const model = {
      toHF(): HFCheckpoint {
        exported = new GPT(tiny).toHF();
        return exported;
      },
    };
    await savePretrained(model, join(tmp, "probe"));
    expect(exported).not.toBeNull();
    const written = JSON.parse(readFileSync(join(tmp, "probe", "config.json"), "utf8"));
    expect(written).toEqual((exported as HFCheckpoint | null)?.config);
  });
});
