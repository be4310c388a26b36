/**
 * nanoGPT's Shakespeare run seeded as in PyTorch: a GPT built from an mt19937 generator seeded
 * 1337 against bench/torch_gpt.py's twin after torch.manual_seed(1337), and a BatchSampler's
 * offsets against the twin's batch() draws (goldens from scripts/gen_rng_fixtures.py).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as q from "../../src/index.js";

const root = join(__dirname, "..", "..");
// biome-ignore lint/suspicious/noExplicitAny: JSON fixture
const fx: any = JSON.parse(readFileSync(join(root, "test/fixtures/rng/torch-gpt-init.json"), "utf8"));
const f32 = (b64: string) => {
  const b = Buffer.from(b64, "base64");
  return Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
};
const mt = (seed: number) => new q.Generator(seed, { algorithm: "mt19937" });

describe(`GPT from mt19937 seed ${fx.seed} matches torch ${fx.torch}'s twin`, () => {
  const c = fx.config;
  const g = mt(fx.seed);
  const model = new q.GPT({ ...c, dropout: 0 }, { generator: g });
  const params = new Map(model.namedParameters());

  it("draws as many numbers as the twin's constructor and normal_ pass", () => {
    // The next draws after construction equal torch.randint(0, 2^31, (4,)) on the global stream.
    expect([0, 1, 2, 3].map(() => g.randint(0, 2 ** 31))).toEqual(fx.globalAfterInit);
  });

  it("initialises the same parameter values", () => {
    for (const [name, want] of Object.entries<{
      shape: number[];
      first: string;
      last: string;
      sum: number;
      sumsq: number;
    }>(fx.params)) {
      const p = params.get(name);
      expect(p, name).toBeDefined();
      expect(p!.shape, name).toEqual(want.shape);
      const v = p!.toArray();
      // N(0, σ²) fills of ≥ 16 float32 values: torch's vectorised Box–Muller agrees to float
      // rounding, so each value within 1e-6 relative (or 1e-6·σ where |x| < σ).
      const sigma = name.endsWith("c_proj.weight") ? 0.02 / Math.sqrt(2 * c.nLayer) : 0.02;
      const got = [...Array.from(v.subarray(0, 8)), ...Array.from(v.subarray(v.length - 8))];
      const ref = [...f32(want.first), ...f32(want.last)];
      for (let i = 0; i < ref.length; i++) {
        expect(Math.abs(got[i] - ref[i]), `${name} value ${i}`).toBeLessThanOrEqual(
          1e-6 * Math.max(Math.abs(ref[i]), sigma),
        );
      }
      let sum = 0;
      let sumsq = 0;
      for (let i = 0; i < v.length; i++) {
        sum += v[i];
        sumsq += v[i] * v[i];
      }
      expect(Math.abs(sum - want.sum), `${name} sum`).toBeLessThan(1e-6 * Math.sqrt(v.length) * sigma);
      expect(Math.abs(sumsq / want.sumsq - 1), `${name} sum of squares`).toBeLessThan(1e-6);
    }
    expect(params.get("lm_head.weight") ?? model.lm_head.weight).toBe(model.wte.weight); // tied
  });
});

describe("BatchSampler with an mt19937 generator", () => {
  it("draws the twin's batch() offsets: torch.randint(len(train) - T, (B,), generator=g)", () => {
    // Ids 0, 1, 2, … so each row's first token is its offset; 10% validation, as the twin.
    const n = Math.round(fx.trainLength / 0.9) + 1;
    const ds = q.TokenDataset.fromIds(Int32Array.from({ length: n }, (_, i) => i));
    expect(ds.split("train").length).toBe(fx.trainLength);
    const sampler = new q.BatchSampler(ds, { generator: mt(fx.seed) });
    const T = fx.config.blockSize;
    for (const want of fx.batchOffsets) {
      const { x } = sampler.getBatch("train", fx.batchSize, T);
      const rows = x.toArray();
      expect(Array.from({ length: fx.batchSize }, (_, b) => rows[b * T])).toEqual(want);
    }
    // The sampler's state round-trips with the mt19937 stream in it.
    const saved = JSON.parse(JSON.stringify(sampler.getState()));
    const next = sampler.getBatch("train", 2, T).x.toArray();
    sampler.setState(saved);
    expect(sampler.getBatch("train", 2, T).x.toArray()).toEqual(next);
  });
});
