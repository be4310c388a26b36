/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna) seeded through splitmix32.
 * With `{ algorithm: "mt19937" }` it is instead PyTorch's CPU generator, draw for draw (see fillUniform,
 * fillNormal, randint).
 * Every random draw in qkv goes through a Generator so runs are reproducible; the state can be
 * saved and restored, which is how training resumes bit-exactly.
 */
import { fma, fmaf } from "./fma.js";
import { Mt19937 } from "./mt19937.js";

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Which bit generator a {@link Generator} runs. */
export type RngAlgorithm = "xoshiro128**" | "mt19937";

/**
 * State of an xoshiro128** generator: four 32-bit words plus a cached spare normal deviate. (States
 * saved before mt19937 existed have no `algorithm` field and load as this.)
 */
export interface XoshiroState {
  algorithm?: "xoshiro128**";
  s: [number, number, number, number];
  spare: number | null;
}

/** State of an mt19937 generator: the 624 state words, the position in them, the cached normal. */
export interface Mt19937State {
  algorithm: "mt19937";
  mt: number[];
  index: number;
  spare: number | null;
}

/** Serialisable generator state (JSON-safe), for bit-exact resume. */
export type GeneratorState = XoshiroState | Mt19937State;

/**
 * Construction options of a {@link Generator}.
 * @example new Generator(1337, { algorithm: "mt19937" })
 */
export interface GeneratorOptions {
  /**
   * "xoshiro128**" (default): qkv's own stream. "mt19937": PyTorch's CPU generator: a seed gives
   * the same draws as `torch.manual_seed(seed)` and tensor fills consume and map them as torch does.
   */
  algorithm?: RngAlgorithm;
}

/** Arrays the fill methods write (a tensor's storage). */
export type SampleArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Block length of PyTorch's whole-tensor normal fill (Box–Muller on 8 + 8 uniforms). */
const NORMAL_BLOCK = 16;
const TWO_PI_F32 = Math.fround(2 * Math.PI);

/**
 * A seeded random generator.
 * @example
 * const g = new Generator(42);
 * const u = g.random(); // uniform in [0, 1)
 * const t = new Generator(1337, { algorithm: "mt19937" }); // torch.Generator().manual_seed(1337)
 */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;
  /** The Mersenne Twister when the algorithm is mt19937, else null (xoshiro128** in s0..s3). */
  private mt: Mt19937 | null = null;

  constructor(seed = 0, opts: GeneratorOptions = {}) {
    this.manualSeed(seed, opts);
  }

  /** The bit generator in use. */
  get algorithm(): RngAlgorithm {
    return this.mt ? "mt19937" : "xoshiro128**";
  }

  /**
   * Re-seeds the generator (switching algorithm if `opts.algorithm` is given); equal seeds give
   * equal streams. mt19937 takes an integer seed and, as torch, uses its low 32 bits.
   */
  manualSeed(seed: number, opts: GeneratorOptions = {}): this {
    if (!Number.isFinite(seed)) throw new Error(`manualSeed: seed must be a finite number, got ${seed}`);
    const algorithm = opts.algorithm ?? this.algorithm;
    this.spare = null;
    if (algorithm === "mt19937") {
      if (!Number.isInteger(seed))
        throw new Error(`manualSeed: an mt19937 seed must be an integer, got ${seed}`);
      this.mt ??= new Mt19937();
      this.mt.seed(seed);
      return this;
    }
    if (algorithm !== "xoshiro128**") throw new Error(`manualSeed: unknown algorithm ${String(algorithm)}`);
    this.mt = null;
    // Mix both halves of a seed larger than 32 bits.
    const hi = Math.floor(seed / 2 ** 32);
    const sm = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    return this;
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    if (this.mt) return this.mt.next();
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  random(): number {
    if (this.mt) {
      // torch's double uniform: the low 53 bits of (first << 32 | second).
      const hi = this.mt.next() & 0x1fffff;
      return (hi * 4294967296 + this.mt.next()) / 9007199254740992;
    }
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal deviate (Box–Muller; the second value of each pair is cached). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    if (this.mt) {
      // torch's scalar normal: the first uniform sets the angle, the second the radius.
      const angle = 2 * Math.PI * this.random();
      const r = Math.sqrt(-2 * Math.log(1 - this.random()));
      this.spare = r * Math.sin(angle);
      return r * Math.cos(angle);
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Uniform integer in [low, high). xoshiro128** is unbiased (rejection sampling); mt19937 maps
   * draws as torch.randint: one 32-bit word modulo the range, or a 64-bit draw when the range
   * reaches 2^32.
   */
  randint(low: number, high: number): number {
    const range = high - low;
    if (!(range > 0) || !Number.isInteger(range))
      throw new Error(`randint: need integers low < high, got [${low}, ${high})`);
    if (this.mt) {
      if (range < 2 ** 32) return low + (this.mt.next() % range);
      if (!Number.isSafeInteger(range))
        throw new Error(`randint: range ${range} is beyond 2^53, where integers are not exact`);
      const hi = BigInt(this.mt.next());
      const r64 = (hi << 32n) | BigInt(this.mt.next());
      return low + Number(r64 % BigInt(range));
    }
    if (range <= 2 ** 32) {
      const limit = 2 ** 32 - (2 ** 32 % range);
      let x = this.nextUint32();
      while (x >= limit) x = this.nextUint32();
      return low + (x % range);
    }
    return low + Math.floor(this.random() * range);
  }

  /**
   * Fills `out` with U(low, high) in order. With mt19937 this is `torch.empty(n).uniform_(low, high)`
   * bit for bit: float32 uses one 24-bit draw per element, float64 (and any other array) 53 bits.
   * @example g.fillUniform(new Float32Array(8), -0.1, 0.1)
   */
  fillUniform(out: SampleArray, low = 0, high = 1): void {
    const mt = this.mt;
    if (!mt) {
      for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.random();
    } else if (out instanceof Float32Array) {
      // Bounds and range in float32, x·range + low fused, as ATen's float kernel.
      const lo = Math.fround(low);
      const range = Math.fround(Math.fround(high) - lo);
      for (let i = 0; i < out.length; i++) out[i] = fmaf((mt.next() & 0xffffff) / 16777216, range, lo);
    } else {
      const range = high - low;
      for (let i = 0; i < out.length; i++) out[i] = fma(this.random(), range, low);
    }
  }

  /**
   * Fills `out` with N(mean, std²) in order. With mt19937 this is `torch.empty(n).normal_(mean, std)`:
   * below 16 elements (or for a non-contiguous tensor, `contiguous = false`) one scalar Box–Muller
   * deviate per element, sharing the cached spare; from 16 up, n uniforms first, Box–Muller over
   * blocks of 16 (angle from the second 8, radius from the first 8), and when 16 does not divide
   * n, 16 fresh uniforms redo the last block. torch computes float32 blocks with vectorised
   * log/sin/cos, so those agree within float rounding; everything else is bit-exact.
   * @example g.fillNormal(new Float32Array(8320), 0, 0.02)
   */
  fillNormal(out: SampleArray, mean = 0, std = 1, contiguous = true): void {
    const mt = this.mt;
    if (!mt) {
      for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    } else if (out.length < NORMAL_BLOCK || !contiguous) {
      for (let i = 0; i < out.length; i++) out[i] = fma(this.normal(), std, mean);
    } else if (out instanceof Float32Array) {
      const n = out.length;
      for (let i = 0; i < n; i++) out[i] = (mt.next() & 0xffffff) / 16777216;
      const m = Math.fround(mean);
      const s = Math.fround(std);
      for (let o = 0; o + NORMAL_BLOCK <= n; o += NORMAL_BLOCK) boxMullerBlockF32(out, o, m, s);
      if (n % NORMAL_BLOCK !== 0) {
        for (let i = n - NORMAL_BLOCK; i < n; i++) out[i] = (mt.next() & 0xffffff) / 16777216;
        boxMullerBlockF32(out, n - NORMAL_BLOCK, m, s);
      }
    } else {
      const n = out.length;
      const u = new Float64Array(n);
      for (let i = 0; i < n; i++) u[i] = this.random();
      for (let o = 0; o + NORMAL_BLOCK <= n; o += NORMAL_BLOCK) boxMullerBlockF64(u, o, mean, std);
      if (n % NORMAL_BLOCK !== 0) {
        for (let i = n - NORMAL_BLOCK; i < n; i++) u[i] = this.random();
        boxMullerBlockF64(u, n - NORMAL_BLOCK, mean, std);
      }
      for (let i = 0; i < n; i++) out[i] = u[i];
    }
  }

  /**
   * Fills `out` with uniform integers in [low, high), one {@link Generator.randint} each
   * (torch.randint's mapping under mt19937).
   * @example g.fillRandint(new Int32Array(12), 0, 1003790)
   */
  fillRandint(out: SampleArray, low: number, high: number): void {
    for (let i = 0; i < out.length; i++) out[i] = this.randint(low, high);
  }

  /** A snapshot of the generator's state; {@link Generator.setState} restores it, so draws repeat exactly. */
  getState(): GeneratorState {
    if (this.mt)
      return { algorithm: "mt19937", mt: Array.from(this.mt.mt), index: this.mt.index, spare: this.spare };
    return { s: [this.s0, this.s1, this.s2, this.s3], spare: this.spare };
  }

  /** Restores a state from {@link Generator.getState}, adopting its algorithm. */
  setState(state: GeneratorState): this {
    if (state && state.algorithm === "mt19937") {
      const { mt, index } = state;
      if (!Array.isArray(mt) || mt.length !== 624 || !Number.isInteger(index) || index < 0 || index > 624)
        throw new Error("Generator.setState: malformed mt19937 state (expected mt: 624 words, index 0..624)");
      this.mt ??= new Mt19937();
      this.mt.mt.set(mt.map((x) => x >>> 0));
      this.mt.index = index;
      this.spare = state.spare ?? null;
      return this;
    }
    if (!state || !Array.isArray(state.s) || state.s.length !== 4)
      throw new Error("Generator.setState: malformed state");
    this.mt = null;
    [this.s0, this.s1, this.s2, this.s3] = state.s.map((x) => x >>> 0) as [number, number, number, number];
    this.spare = state.spare ?? null;
    return this;
  }
}

/** One block of 16 uniforms → 16 normals in float32 arithmetic (the radius from 1 − u). */
function boxMullerBlockF32(d: Float32Array, o: number, mean: number, std: number): void {
  for (let j = 0; j < NORMAL_BLOCK / 2; j++) {
    const r = Math.fround(Math.sqrt(Math.fround(-2 * Math.fround(Math.log(1 - d[o + j])))));
    const angle = Math.fround(TWO_PI_F32 * d[o + j + 8]);
    d[o + j] = fmaf(Math.fround(r * Math.fround(Math.cos(angle))), std, mean);
    d[o + j + 8] = fmaf(Math.fround(r * Math.fround(Math.sin(angle))), std, mean);
  }
}

/** The same block in float64. */
function boxMullerBlockF64(d: Float64Array, o: number, mean: number, std: number): void {
  for (let j = 0; j < NORMAL_BLOCK / 2; j++) {
    const r = Math.sqrt(-2 * Math.log(1 - d[o + j]));
    const angle = 2 * Math.PI * d[o + j + 8];
    d[o + j] = r * Math.cos(angle) * std + mean;
    d[o + j + 8] = r * Math.sin(angle) * std + mean;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The default generator used when an op is not given one. */
export const defaultGenerator = new Generator(0);

/**
 * Seeds the default generator, like `torch.manual_seed`; `{ algorithm: "mt19937" }` also switches
 * it to PyTorch's generator, so the seed means what it means in torch.
 * @example
 * manualSeed(1337);
 * manualSeed(1337, { algorithm: "mt19937" });
 */
export function manualSeed(seed: number, opts: GeneratorOptions = {}): Generator {
  return defaultGenerator.manualSeed(seed, opts);
}
