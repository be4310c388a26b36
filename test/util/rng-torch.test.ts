/**
 * The mt19937 Generator against PyTorch 1.13's CPU generator (goldens from
 * scripts/gen_rng_fixtures.py): seeding, uniform_/normal_/randint fills and the tensor-level ops
 * built on them, module constructors, a mixed call sequence, state round trips; the emulated fused
 * multiply-add against exact rational arithmetic; and xoshiro128** pinned to its values from
 * before mt19937 existed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as q from "../../src/index.js";
import { fma, fmaf } from "../../src/util/fma.js";
import { Mt19937 } from "../../src/util/mt19937.js";

const root = join(__dirname, "..", "..");
// biome-ignore lint/suspicious/noExplicitAny: JSON fixture
const fx: any = JSON.parse(readFileSync(join(root, "test/fixtures/rng/torch-rng.json"), "utf8"));

type Floats = Float32Array | Float64Array;
function decode(b64: string, dtype: string): Floats {
  const b = Buffer.from(b64, "base64");
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  return dtype === "float32" ? new Float32Array(ab) : new Float64Array(ab);
}
const mt = (seed: number) => new q.Generator(seed, { algorithm: "mt19937" });
const buffer = (dtype: string, n: number): Floats =>
  dtype === "float32" ? new Float32Array(n) : new Float64Array(n);

/**
 * torch's float32 normal fill of ≥ 16 elements runs Box–Muller with vectorised log/sin/cos; ours
 * rounds exact ones to float32, so a value may differ by a few float32 ulps of the deviate z. The
 * bound is relative to |x|, or to std where x is within one std (x = mean + std·z cancels there).
 */
const vectorised = { values: 0, exact: 0 };
function expectNormalClose(got: Floats, want: Floats, std: number, what: string): void {
  for (let i = 0; i < want.length; i++) {
    vectorised.values++;
    if (got[i] === want[i]) {
      vectorised.exact++;
      continue;
    }
    const tol = 1e-6 * Math.max(Math.abs(want[i]), std);
    if (!(Math.abs(got[i] - want[i]) <= tol))
      throw new Error(`${what}[${i}]: got ${got[i]}, torch ${want[i]} (tolerance ${tol})`);
  }
}

/** Bit-exact where torch's own arithmetic is scalar; float64 normals within libm's last-ulp differences. */
function checkFill(kind: string, dtype: string, got: Floats, want: Floats, std: number, what: string): void {
  if (kind === "normal" || kind === "randn") {
    if (dtype === "float64") {
      for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 14);
    } else if (want.length < 16) {
      expect(Array.from(got), what).toEqual(Array.from(want)); // scalar double Box–Muller, then rounded
    } else {
      expectNormalClose(got, want, std, what);
    }
  } else {
    expect(Array.from(got), what).toEqual(Array.from(want));
  }
}

describe("mt19937 engine", () => {
  it("gives the reference outputs (seed 5489: 3499211612, …; the 10000th is 4123659995)", () => {
    const e = new Mt19937();
    expect([e.next(), e.next(), e.next()]).toEqual([3499211612, 581869302, 3890346734]);
    for (let i = 3; i < 9999; i++) e.next();
    expect(e.next()).toBe(4123659995);
  });

  it("seeds from the low 32 bits, as torch.manual_seed (negative seeds two's complement)", () => {
    expect(mt(2 ** 40 + 1337).nextUint32()).toBe(mt(1337).nextUint32());
    expect(mt(-1).nextUint32()).toBe(mt(2 ** 32 - 1).nextUint32());
    expect(() => mt(1.5)).toThrow(/integer/);
  });
});

describe(`Generator({ algorithm: 'mt19937' }) reproduces torch ${fx.torch}`, () => {
  it("uniform_, normal_, randint, rand and randn fills for every seed and size", () => {
    const counts: Record<string, number> = {};
    for (const c of fx.cases) {
      if (!["uniform", "normal", "randint", "rand", "randn"].includes(c.kind)) continue;
      const g = mt(c.seed);
      const what = `${c.kind} seed ${c.seed} ${c.dtype ?? "int64"} n=${c.n}`;
      counts[c.kind] = (counts[c.kind] ?? 0) + 1;
      if (c.kind === "randint") {
        const out = new Float64Array(c.n);
        g.fillRandint(out, c.low, c.high);
        expect(Array.from(out), `${what} [${c.low}, ${c.high})`).toEqual(c.values);
        continue;
      }
      const want = decode(c.values, c.dtype);
      const got = buffer(c.dtype, c.n);
      if (c.kind === "uniform") g.fillUniform(got, c.low, c.high);
      else if (c.kind === "rand") g.fillUniform(got);
      else g.fillNormal(got, c.mean ?? 0, c.std ?? 1);
      checkFill(c.kind, c.dtype, got, want, c.std ?? 1, what);
    }
    // Most float32 block normals are bit-exact all the same (the rest differ in the last bits).
    expect(vectorised.exact / vectorised.values).toBeGreaterThan(0.8);
    expect(counts.uniform).toBeGreaterThan(100);
    expect(counts.normal).toBeGreaterThan(100);
    expect(counts.randint).toBeGreaterThan(100);
  });

  it("the tensor ops (rand, randn, randint, nn.init) draw as the torch calls", () => {
    for (const c of fx.cases) {
      const what = `${c.kind} seed ${c.seed} n=${c.n}`;
      if (c.kind === "rand" || c.kind === "randn") {
        const t = (c.kind === "rand" ? q.rand : q.randn)([c.n], { generator: mt(c.seed) });
        checkFill(c.kind, "float32", t.toArray() as Float32Array, decode(c.values, "float32"), 1, what);
      } else if ((c.kind === "uniform" || c.kind === "normal") && c.n >= 15 && c.n <= 1000) {
        const t = q.zeros([c.n], { dtype: c.dtype });
        if (c.kind === "uniform") q.nn.init.uniform_(t, c.low, c.high, mt(c.seed));
        else q.nn.init.normal_(t, c.mean, c.std, mt(c.seed));
        checkFill(c.kind, c.dtype, t.toArray() as Floats, decode(c.values, c.dtype), c.std ?? 1, what);
      } else if (c.kind === "randint" && c.high <= 2 ** 31 && c.low >= -(2 ** 31)) {
        const t = q.randint(c.low, c.high, [c.n], { generator: mt(c.seed) });
        expect(Array.from(t.toArray()), what).toEqual(c.values);
      }
    }
  });

  it("nn.Linear and nn.Embedding initialise and advance the stream as torch's constructors", () => {
    for (const c of fx.cases) {
      if (c.kind === "linear") {
        const g = mt(c.seed);
        const m = new q.nn.Linear(c.inFeatures, c.outFeatures, { bias: c.bias, generator: g });
        const what = `Linear(${c.inFeatures}, ${c.outFeatures}) seed ${c.seed}`;
        expect(Array.from(m.weight.toArray()), what).toEqual(Array.from(decode(c.weight, "float32")));
        if (c.bias)
          expect(Array.from(m.bias!.toArray()), what).toEqual(Array.from(decode(c.biasValues, "float32")));
        expect([g.randint(0, 2 ** 31), g.randint(0, 2 ** 31)], `${what}: stream after`).toEqual(c.after);
      } else if (c.kind === "embedding") {
        const m = new q.nn.Embedding(c.numEmbeddings, c.embeddingDim, { generator: mt(c.seed) });
        const want = decode(c.weight, "float32");
        checkFill(
          "normal",
          "float32",
          m.weight.toArray() as Float32Array,
          want,
          1,
          `Embedding seed ${c.seed}`,
        );
      }
    }
  });

  it("fills non-contiguous views in memory order, one scalar draw per element, as torch", () => {
    const views: Record<string, (x: q.Tensor) => q.Tensor> = {
      t: (x) => q.transpose(x, 0, 1),
      permute201: (x) => q.permute(x, [2, 0, 1]),
      narrow1_2_5: (x) => q.narrow(x, 1, 2, 5),
    };
    for (const c of fx.views) {
      const v = views[c.view](q.zeros(c.base, { dtype: c.dtype }));
      expect(v.isContiguous()).toBe(false);
      if (c.kind === "uniform") q.nn.init.uniform_(v, c.a, c.b, mt(c.seed));
      else q.nn.init.normal_(v, c.a, c.b, mt(c.seed));
      const what = `${c.kind} on ${c.view} of [${c.base}] ${c.dtype} seed ${c.seed}`;
      // Non-contiguous normal_ is the scalar path at any size: exact in float32.
      const got = q.contiguous(v).toArray() as Floats;
      checkFill(c.kind, c.dtype, got, decode(c.values, c.dtype), c.b, what);
      if (c.dtype === "float32") expect(Array.from(got), what).toEqual(Array.from(decode(c.values, c.dtype)));
    }
  });

  it("a sequence of calls on one generator shares the cached normal and the draw position", () => {
    for (const s of fx.sequences) {
      const g = mt(s.seed);
      for (const [i, st] of s.steps.entries()) {
        const what = `seed ${s.seed} step ${i} (${st.kind} ${st.dtype} n=${st.n})`;
        if (st.kind === "randint") {
          expect(Array.from(q.randint(st.a, st.b, [st.n], { generator: g }).toArray()), what).toEqual(
            st.values,
          );
          continue;
        }
        const t = q.zeros([st.n], { dtype: st.dtype });
        if (st.kind === "uniform") q.nn.init.uniform_(t, st.a, st.b, g);
        else q.nn.init.normal_(t, st.a, st.b, g);
        checkFill(st.kind, st.dtype, t.toArray() as Floats, decode(st.values, st.dtype), st.b, what);
      }
    }
  });

  it("getState/setState round-trips mid-stream through JSON, the cached normal included", () => {
    const g = mt(1337);
    g.normal(); // leaves the spare
    q.randn([40], { generator: g });
    const saved = JSON.parse(JSON.stringify(g.getState())) as q.GeneratorState;
    expect(saved.algorithm).toBe("mt19937");
    const draw = (h: q.Generator) => [
      h.normal(),
      ...q.randn([20], { generator: h }).toArray(),
      h.randint(0, 2 ** 33),
    ];
    const next = draw(g);
    expect(draw(g.setState(saved))).toEqual(next);
    // A generator of the other algorithm adopts the saved one.
    const h = new q.Generator(5).setState(saved);
    expect(h.algorithm).toBe("mt19937");
    expect(draw(h)).toEqual(next);
    // And an old xoshiro state (no algorithm field) switches it back.
    const old = new q.Generator(9).getState();
    expect(h.setState({ s: (old as q.XoshiroState).s, spare: null }).algorithm).toBe("xoshiro128**");
    expect(h.nextUint32()).toBe(new q.Generator(9).nextUint32());
    expect(() => g.setState({ algorithm: "mt19937", mt: [1], index: 0, spare: null })).toThrow(/malformed/);
  });

  it("manualSeed(seed, { algorithm }) switches the default generator; reseeding drops the spare", () => {
    const saved = q.defaultGenerator.getState();
    try {
      q.manualSeed(1337, { algorithm: "mt19937" });
      const a = q.randn([3]).toArray();
      q.manualSeed(1337); // keeps mt19937
      expect(q.defaultGenerator.algorithm).toBe("mt19937");
      expect(q.randn([3]).toArray()).toEqual(a);
      expect(a).toEqual(q.randn([3], { generator: mt(1337) }).toArray());
    } finally {
      q.defaultGenerator.setState(saved);
    }
    expect(q.defaultGenerator.algorithm).toBe("xoshiro128**");
  });
});

describe("xoshiro128** is unchanged", () => {
  it("matches values pinned before mt19937 was added", () => {
    const g = new q.Generator(1337);
    expect(g.algorithm).toBe("xoshiro128**");
    const out = [g.nextUint32(), g.nextUint32(), g.nextUint32(), g.random(), g.normal(), g.normal()];
    out.push(g.randint(0, 1003790), g.randint(0, 2 ** 33));
    expect(out).toEqual([
      3850783360, 2344901440, 1788140607, 0.6450243795288024, 0.4817880308326265, -1.2206595491919063, 489839,
      7085122728,
    ]);
    const u = new Float32Array(3);
    g.fillUniform(u, -0.1, 0.1);
    expect(Array.from(u)).toEqual([0.052654802799224854, 0.07668410986661911, -0.03626227378845215]);
    const n = new Float32Array(3);
    g.fillNormal(n, 0, 0.02);
    expect(Array.from(n)).toEqual([-0.011352228932082653, -0.0012689369032159448, 0.024438798427581787]);
    expect(new q.Generator(2 ** 40 + 5).nextUint32()).toBe(538299823);
  });
});

/** x = m·2^e exactly, m a BigInt. */
function split(x: number): [bigint, number] {
  if (x === 0) return [0n, 0];
  let e = 0;
  let m = x;
  while (!Number.isInteger(m)) {
    m *= 2;
    e--;
  }
  return [BigInt(m), e];
}

/** a·b + c rounded once to `bits` significant bits, ties to even, from exact integer arithmetic. */
function exactFma(a: number, b: number, c: number, bits: number): number {
  const [ma, ea] = split(a);
  const [mb, eb] = split(b);
  const [mc, ec] = split(c);
  const e = Math.min(ea + eb, ec);
  let n = ((ma * mb) << BigInt(ea + eb - e)) + (mc << BigInt(ec - e));
  const neg = n < 0n;
  if (neg) n = -n;
  let shift = n.toString(2).length - bits;
  if (shift > 0) {
    const rem = n & ((1n << BigInt(shift)) - 1n);
    const half = 1n << BigInt(shift - 1);
    n >>= BigInt(shift);
    if (rem > half || (rem === half && (n & 1n) === 1n)) n += 1n;
  } else shift = 0;
  const v = Number(n) * 2 ** (e + shift);
  return neg ? -v : v;
}

describe("fma / fmaf (single rounding)", () => {
  it("differ from the two-rounding expression where it matters", () => {
    expect(fma(0.1, 10, -1)).toBe(5.551115123125783e-17);
    const a = 1 + 2 ** -30; // a² = 1 + 2^-29 + 2^-60, which a·a rounds to 1 + 2^-29
    expect(fma(a, a, -1)).toBe(2 ** -29 + 2 ** -60);
  });

  it("match exact rational arithmetic on random and near-tie inputs", () => {
    const g = new q.Generator(7);
    const f = Math.fround;
    for (let i = 0; i < 4000; i++) {
      // Near-ties: c + a·b close to a float32 midpoint, with the decisive bit beyond double precision.
      const k = g.randint(0, 3);
      const a = k === 0 ? f(g.random() * 4 - 2) : f(2 ** -12 * (1 + g.randint(-4, 5) * 2 ** -23));
      const b = k === 0 ? f(g.random() * 4 - 2) : f(2 ** -12 * (1 + g.randint(-4, 5) * 2 ** -23));
      const c = k === 0 ? f(g.random() * 2 - 1) : f(1 + g.randint(0, 8) * 2 ** -23);
      expect(fmaf(a, b, c)).toBe(exactFma(a, b, c, 24));
      const x = g.random() * 3 - 1.5;
      const y = k === 2 ? 1 + g.randint(0, 1000) * 2 ** -40 : g.random() * 10;
      const z = -(x * y) * (1 + (g.random() - 0.5) * 2 ** -40);
      expect(fma(x, y, z)).toBe(exactFma(x, y, z, 53));
    }
  });
});
