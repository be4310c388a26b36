/**
 * Tensor names are data, not property names (issue 12, defect 7): a checkpoint may name a tensor
 * `constructor`, `toString`, `__proto__` or `hasOwnProperty`, and every place that keys by tensor
 * name (safetensors, state dicts, the HF key map) must treat it as an ordinary, unknown name.
 */
import { describe, expect, it } from "vitest";
import {
  Generator,
  GPT,
  nn,
  parseSafetensors,
  type RawTensor,
  serializeSafetensors,
  type Tensor,
  tensor,
} from "../../src/index.js";

const HOSTILE = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "__defineGetter__"];

const raw = (values: number[]): RawTensor => ({
  dtype: "float32",
  shape: [values.length],
  data: new Float32Array(values),
});

describe("tensor names that shadow Object.prototype", () => {
  it("round-trip through safetensors as ordinary names, with their own data", () => {
    const m = new Map(HOSTILE.map((n, i) => [n, raw([i, i + 0.5])]));
    const { tensors } = parseSafetensors(serializeSafetensors(m));
    expect([...tensors.keys()].sort()).toEqual([...HOSTILE].sort());
    HOSTILE.forEach((n, i) => {
      expect(Array.from(tensors.get(n)!.data)).toEqual([i, i + 0.5]);
    });
  });

  it("parse from a hand-written header whose only key is __proto__", () => {
    // Written as text: an object literal's `__proto__:` would set the prototype instead.
    const header = '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const pad = " ".repeat((8 - (header.length % 8)) % 8);
    const text = new TextEncoder().encode(header + pad);
    const bytes = new Uint8Array(8 + text.length + 4);
    new DataView(bytes.buffer).setUint32(0, text.length, true);
    bytes.set(text, 8);
    new DataView(bytes.buffer).setFloat32(8 + text.length, 7, true);
    const { tensors } = parseSafetensors(bytes);
    expect([...tensors.keys()]).toEqual(["__proto__"]);
    expect(tensors.get("__proto__")!.data[0]).toBe(7);
  });

  it("are unexpected keys for Module.loadStateDict, never a prototype member", () => {
    const lin = new nn.Linear(2, 1);
    for (const name of HOSTILE) {
      const sd = Object.create(null) as Record<string, Tensor>;
      sd.weight = tensor([[1, 2]]);
      sd.bias = tensor([3]);
      sd[name] = tensor([0]);
      // strict: a named error listing the key (before the fix: "reading 'length'" of Object's constructor)
      expect(() => lin.loadStateDict(sd)).toThrow(`unexpected keys: ${name}`);
      const r = lin.loadStateDict(sd, { strict: false });
      expect(r.unexpectedKeys).toEqual([name]);
      expect(Array.from(lin.weight.data)).toEqual([1, 2]);
    }
  });

  it("a plain {} state dict does not supply its prototype's members as missing keys", () => {
    const lin = new nn.Linear(2, 1, { bias: false });
    // The model has no key named like a prototype member; a dict missing "weight" is missing it.
    expect(() => lin.loadStateDict({})).toThrow("missing keys: weight");
    expect(Object.getPrototypeOf(lin.stateDict())).toBe(null);
  });

  it("are reported by GPT.fromHF as unused tensors", () => {
    const tiny = { vocabSize: 11, blockSize: 4, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0, bias: true };
    const ck = new GPT(tiny, { generator: new Generator(1) }).toHF();
    for (const name of HOSTILE) {
      const tensors = new Map(ck.tensors);
      tensors.set(name, raw([1]));
      expect(() => GPT.fromHF(ck.config, tensors)).toThrow(`does not use: ${name}`);
      const m = GPT.fromHF(ck.config, tensors, { strict: false, warn: () => {} });
      expect(m.wte.weight.shape).toEqual([11, 8]);
    }
  });
});
