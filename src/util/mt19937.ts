/**
 * MT19937, the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998), seeded with the reference
 * `init_genrand` recurrence. It is the engine behind PyTorch's CPU generator, so with equal seeds
 * the two produce the same 32-bit words.
 */

const N = 624;
const M = 397;

/**
 * The raw engine: 624 words of state and a position in them.
 * @example new Mt19937(5489).next() // 3499211612, the reference first output
 */
export class Mt19937 {
  readonly mt = new Uint32Array(N);
  /** Next word of `mt` to temper; N means the block is spent and must be regenerated. */
  index = N;

  constructor(seed = 5489) {
    this.seed(seed);
  }

  /** Re-seeds from the low 32 bits of `seed`. */
  seed(seed: number): void {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1];
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.index = N;
  }

  /** Next 32-bit unsigned output. */
  next(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff);
      mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }
}
