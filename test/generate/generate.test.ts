/**
 * generate(): the step-model contract (prompt first, then one id per call), stopping on length,
 * EOS, stop strings and the callback, streamed text that never shows cut text, async parity.
 */

import { describe, expect, it } from "vitest";
import { generate, generateAsync, type NextTokenModel, recomputingModel } from "../../src/generate/index.js";
import { Generator } from "../../src/util/rng.js";

const VOCAB = "abcdefghijklmnopqrstuvwxyz \n.!|";
const decode = (ids: number[]): string => ids.map((i) => VOCAB[i]).join("");
const encode = (s: string): number[] => Array.from(s, (c) => VOCAB.indexOf(c));

/** A model that deterministically spells `script` (then repeats its last letter), recording its calls. */
function scripted(script: string): NextTokenModel<{ pos?: number }> & { calls: number[][] } {
  const ids = encode(script);
  const calls: number[][] = [];
  return {
    calls,
    nextLogits(newIds, state) {
      calls.push([...newIds]);
      state.pos = (state.pos ?? -1) + 1;
      const logits = new Float32Array(VOCAB.length).fill(-5);
      logits[ids[Math.min(state.pos, ids.length - 1)]] = 5;
      return logits;
    },
  };
}

describe("generate", () => {
  it("feeds the prompt first, then one sampled id per step, and stops at maxNewTokens", () => {
    const model = scripted("hello");
    const r = generate(model, encode("ab"), { maxNewTokens: 4, temperature: 0, decode });
    expect(r.ids).toEqual(encode("hell"));
    expect(r.text).toBe("hell");
    expect(r.finishReason).toBe("length");
    expect(model.calls).toEqual([encode("ab"), encode("h"), encode("e"), encode("l")]);
    expect(generate(scripted("x"), [0], { maxNewTokens: 0 }).ids).toEqual([]);
    expect(() => generate(scripted("x"), [], { maxNewTokens: 1 })).toThrow(/prompt/);
  });

  it("stops on EOS without emitting it", () => {
    const eos = encode("|")[0];
    const r = generate(scripted("hi|there"), [0], { maxNewTokens: 20, temperature: 0, eosId: eos, decode });
    expect(r).toEqual({ ids: encode("hi"), text: "hi", finishReason: "eos" });
    const r2 = generate(scripted("hi.x"), [0], {
      maxNewTokens: 20,
      temperature: 0,
      eosId: [eos, encode(".")[0]],
    });
    expect(r2.ids).toEqual(encode("hi"));
    expect(r2.text).toBe("");
  });

  it("cuts the text before a stop string and streams only settled text", () => {
    const pieces: string[] = [];
    const r = generate(scripted("hello\n\nworld"), [0], {
      maxNewTokens: 50,
      temperature: 0,
      decode,
      stopStrings: ["\n\n"],
      onText: (t) => pieces.push(t),
    });
    expect(r.finishReason).toBe("stop");
    expect(r.stopString).toBe("\n\n");
    expect(r.text).toBe("hello");
    expect(r.ids).toEqual(encode("hello\n\n"));
    expect(pieces.join("")).toBe("hello");

    // A partial match is held back, then released when it turns out not to be the stop string.
    const seen: string[] = [];
    const r2 = generate(scripted("ab end and the end. x"), [0], {
      maxNewTokens: 50,
      temperature: 0,
      decode,
      stopStrings: ["end.", "zz"],
      onText: (t) => seen.push(t),
    });
    expect(r2.text).toBe("ab end and the ");
    expect(seen.join("")).toBe("ab end and the ");
    expect(seen.length).toBeGreaterThan(3); // streamed as it went, not all at the end
    expect(() => generate(scripted("a"), [0], { maxNewTokens: 1, stopStrings: ["a"] })).toThrow(/decode/);
  });

  it("holds back an unfinished character (U+FFFD) until it completes", () => {
    // Ids 0..2 decode to the bytes of "é" split over two tokens, like byte-level BPE.
    const bytes = [[0x68], [0xc3], [0xa9]];
    const dec = (ids: number[]): string =>
      new TextDecoder().decode(new Uint8Array(ids.flatMap((i) => bytes[i])));
    const model: NextTokenModel<{ pos?: number }> = {
      nextLogits(_ids, state) {
        state.pos = (state.pos ?? -1) + 1;
        const l = new Float32Array(3).fill(-9);
        l[Math.min(state.pos, 2)] = 9;
        return l;
      },
    };
    const pieces: string[] = [];
    const r = generate(model, [0], {
      maxNewTokens: 3,
      temperature: 0,
      decode: dec,
      onText: (t) => pieces.push(t),
    });
    expect(r.text).toBe("hé");
    expect(pieces).toEqual(["h", "é"]);
  });

  it("reports each id to onToken and stops when it returns false", () => {
    const seen: [number, number][] = [];
    const r = generate(scripted("abcdef"), [0], {
      maxNewTokens: 10,
      temperature: 0,
      onToken: (id, i) => {
        seen.push([id, i]);
        return i < 2;
      },
    });
    expect(r.finishReason).toBe("callback");
    expect(r.ids).toEqual(encode("abc"));
    expect(seen).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
  });

  it("applies the repetition penalty over prompt and generated ids", () => {
    const flat: NextTokenModel = { nextLogits: () => new Float32Array(5).fill(1) };
    const r = generate(flat, [0], { maxNewTokens: 4, temperature: 0, repetitionPenalty: 2 });
    expect(r.ids).toEqual([1, 2, 3, 4]);
  });

  it("samples reproducibly with a seeded generator, and generateAsync agrees", async () => {
    const model = (): NextTokenModel<{ h?: number[] }> => ({
      nextLogits(newIds, state) {
        state.h = [...(state.h ?? []), ...newIds];
        const last = state.h[state.h.length - 1];
        return Float32Array.from({ length: 8 }, (_, i) => Math.sin(last * 3 + i * 1.7) * 2);
      },
    });
    const opts = { maxNewTokens: 30, temperature: 0.9, topP: 0.95, repetitionPenalty: 1.2 };
    const a = generate(model(), [1, 2], { ...opts, generator: new Generator(5) });
    const b = generate(model(), [1, 2], { ...opts, generator: new Generator(5) });
    expect(a.ids).toEqual(b.ids);
    expect(a.ids.length).toBe(30);
    const m = model();
    const c = await generateAsync(
      { nextLogits: async (ids, s: { h?: number[] }) => m.nextLogits(ids, s) },
      [1, 2],
      { ...opts, generator: new Generator(5), onToken: async () => true },
    );
    expect(c.ids).toEqual(a.ids);
  });

  it("accepts a bare step function and passes the caller's state", () => {
    const state = { steps: 0 };
    const r = generate(
      (_ids: number[], s: { steps: number }) => {
        s.steps++;
        return new Float32Array([0, 1]);
      },
      [0],
      { maxNewTokens: 3, temperature: 0, state },
    );
    expect(r.ids).toEqual([1, 1, 1]);
    expect(state.steps).toBe(3);
  });
});

describe("recomputingModel", () => {
  it("re-runs the forward pass on the last contextLength ids", () => {
    const windows: number[][] = [];
    const model = recomputingModel(
      (ids) => {
        windows.push(ids);
        return new Float32Array([0, 0, 0, 1]).map((_, i) => (i === (ids.length % 3) + 1 ? 1 : 0));
      },
      { contextLength: 3 },
    );
    const r = generate(model, [0, 0], { maxNewTokens: 3, temperature: 0 });
    expect(r.ids).toEqual([3, 1, 1]);
    expect(windows).toEqual([
      [0, 0],
      [0, 0, 3],
      [0, 3, 1],
    ]);
    expect(() => recomputingModel(() => new Float32Array(1), { contextLength: 0 })).toThrow(/contextLength/);
  });
});
