/** Sinusoidal, learned and rotary position information. */
import { describe, expect, it } from "vitest";
import { Generator, matmul, narrow, nn, randn, transpose, zeros } from "../../src/index.js";
import { expectClose, gradCheck } from "../helpers.js";

describe("SinusoidalPositionalEncoding", () => {
  it("follows PE[pos, 2i] = sin(pos/10000^(2i/d)), PE[pos, 2i+1] = cos(…)", () => {
    const d = 6;
    const pe = nn.sinusoidalTable(9, d, "float64").toArray();
    for (const pos of [0, 1, 8]) {
      for (let i = 0; i < d / 2; i++) {
        const angle = pos / 10000 ** ((2 * i) / d);
        expect(pe[pos * d + 2 * i]).toBeCloseTo(Math.sin(angle), 12);
        expect(pe[pos * d + 2 * i + 1]).toBeCloseTo(Math.cos(angle), 12);
      }
    }
  });

  it("is a non-persistent buffer that follows .to() and adds positions from an offset", () => {
    const enc = new nn.SinusoidalPositionalEncoding(4, { maxLen: 16 });
    expect(enc.stateDict()).toEqual({});
    expect(enc.namedBuffers().map(([k]) => k)).toEqual(["pe"]);
    const x = randn([2, 5, 4]);
    const y = enc.forward(x);
    expectClose(narrow(y, 1, 2, 2), enc.forward(narrow(x, 1, 2, 2), 2), 0, 0);
    expectClose(enc.forward(zeros([1, 3, 4])).select(0, 0), narrow(enc.pe, 0, 0, 3), 0, 0);
    expect(() => enc.forward(x, 12)).toThrow(/exceed maxLen 16/);
    enc.to("float64");
    expect(enc.pe.dtype).toBe("float64");
  });

  it("supports sequence-first input", () => {
    const bf = new nn.SinusoidalPositionalEncoding(4, { maxLen: 8 });
    const sf = new nn.SinusoidalPositionalEncoding(4, { maxLen: 8, batchFirst: false });
    const x = randn([2, 3, 4]);
    expectClose(transpose(sf.forward(transpose(x, 0, 1), 1), 0, 1), bf.forward(x, 1), 0, 0);
  });
});

describe("LearnedPositionalEmbedding", () => {
  it("is a (maxLen, d) `weight` added at positions offset…", () => {
    const emb = new nn.LearnedPositionalEmbedding(10, 4, { generator: new Generator(0) });
    expect(Object.keys(emb.stateDict())).toEqual(["weight"]);
    const x = zeros([1, 3, 4]);
    expectClose(emb.forward(x, 2).select(0, 0), narrow(emb.weight, 0, 2, 3), 0, 0);
    emb
      .forward(randn([2, 3, 4]))
      .sum()
      .backward();
    expect(narrow(emb.weight.grad!, 0, 3, 7).abs().sum().item()).toBe(0);
    expectClose(narrow(emb.weight.grad!, 0, 0, 3), new Float32Array(12).fill(2), 0, 0);
  });
});

describe("applyRotary", () => {
  it("preserves norms and makes q·k depend only on the position difference", () => {
    const q = randn([1, 1, 8], { dtype: "float64" });
    const k = randn([1, 1, 8], { dtype: "float64" });
    const dot = (m: number, n: number) =>
      matmul(nn.applyRotary(q, { offset: m }), transpose(nn.applyRotary(k, { offset: n }), -2, -1)).item();
    expect(dot(5, 2)).toBeCloseTo(dot(13, 10), 10);
    expect(dot(0, 0)).toBeCloseTo(matmul(q, transpose(k, -2, -1)).item(), 12);
    const r = nn.applyRotary(q, { offset: 7 });
    expect(r.square().sum().item()).toBeCloseTo(q.square().sum().item(), 10);
    // A sequence at offset 0 equals its positions rotated one at a time.
    const seq = randn([2, 3, 4, 8], { dtype: "float64" });
    expectClose(
      narrow(nn.applyRotary(seq), 2, 2, 1),
      nn.applyRotary(narrow(seq, 2, 2, 1), { offset: 2 }),
      1e-12,
      1e-12,
    );
  });

  it("is differentiable", () => {
    const x = randn([2, 3, 4], { dtype: "float64" }).requiresGrad_();
    gradCheck((a) => nn.applyRotary(a, { offset: 1 }), [x]);
  });
});
