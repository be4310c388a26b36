/**
 * Storage recycling: the backward sweep returns its dead gradients to the pool, `tidy` returns the
 * activations of a step, and neither may touch anything still in use (leaf gradients, returned
 * tensors, graphs not yet differentiated, parameters, optimizer state).
 */
import { describe, expect, it } from "vitest";
import * as q from "../../src/index.js";
import { allocate, allocateUninit, memoryPool, release } from "../../src/tensor/pool.js";

const big = 4096; // above the pool's minimum size

function mlp(seed: number) {
  q.manualSeed(seed);
  return new q.nn.Sequential(new q.nn.Linear(64, 128), new q.nn.GELU(), new q.nn.Linear(128, 64));
}

describe("memory pool", () => {
  it("hands a released array out again, zeroed by allocate and poisoned by allocateUninit", () => {
    const a = allocate("float32", big);
    a.fill(7);
    release(a);
    const b = allocate("float32", big);
    expect(b).toBe(a);
    expect(b.every((v) => v === 0)).toBe(true);
    b.fill(7);
    release(b);
    const c = allocateUninit("float32", big);
    expect(c).toBe(a);
    expect(Number.isNaN(c[0])).toBe(true); // the suite runs with poison on (test/pool.setup.ts)
  });

  it("ignores a second release of the same array and views of it", () => {
    const a = allocate("float64", big);
    release(a);
    release(a);
    release(a.subarray(1) as Float64Array);
    const x = allocate("float64", big);
    const y = allocate("float64", big);
    expect(x).toBe(a);
    expect(y).not.toBe(a);
  });

  it("validates its options", () => {
    expect(() => memoryPool({ capacityMiB: -1 })).toThrow(/capacityMiB must be ≥ 0/);
  });
});

describe("backward sweep recycling", () => {
  it("keeps leaf gradients intact while the pool reuses the sweep's temporaries", () => {
    const model = mlp(1);
    const x = q.randn([32, 64]);
    const released0 = memoryPool().released;
    model.forward(x).square().mean().backward();
    expect(memoryPool().released).toBeGreaterThan(released0);
    const first = model.parameters().map((p) => Float32Array.from(p.grad!.data as Float32Array));
    // A second backward allocates from the pool; the first gradients must be summed, not clobbered.
    model.forward(x).square().mean().backward();
    model.parameters().forEach((p, i) => {
      const g = p.grad!.data as Float32Array;
      for (let j = 0; j < g.length; j += 97) expect(g[j]).toBeCloseTo(2 * first[i][j], 5);
    });
  });

  it("gives the same gradients with retainGraph and a second backward", () => {
    const w = q.randn([big], { requiresGrad: true });
    const y = w.mul(w).sum();
    y.backward(undefined, { retainGraph: true });
    const once = Float32Array.from(w.grad!.data as Float32Array);
    y.backward();
    const g = w.grad!.data as Float32Array;
    for (let j = 0; j < g.length; j += 31) expect(g[j]).toBeCloseTo(2 * once[j], 5);
  });
});

describe("tidy", () => {
  it("recycles activations but keeps what it returns", () => {
    const model = mlp(2);
    const x = q.randn([32, 64]);
    const released0 = memoryPool().released;
    const out = q.tidy(() => {
      const h = model.forward(x);
      h.square().mean().backward();
      return h;
    });
    expect(memoryPool().released).toBeGreaterThan(released0);
    const kept = Float32Array.from(out.data as Float32Array);
    // Churn the pool: the returned tensor's storage must not be handed out.
    for (let i = 0; i < 5; i++) q.tidy(() => model.forward(x).square().mean().backward());
    expect(out.data).toEqual(kept);
  });

  it("recycles nothing while a returned tensor's graph is still needed", () => {
    const model = mlp(3);
    const x = q.randn([32, 64]);
    const loss = q.tidy(() => model.forward(x).square().mean());
    for (let i = 0; i < 3; i++) q.tidy(() => model.forward(x).sum().backward());
    model.zeroGrad();
    loss.backward();
    const viaTidy = model.parameters().map((p) => Float32Array.from(p.grad!.data as Float32Array));
    model.zeroGrad();
    model.forward(x).square().mean().backward();
    model.parameters().forEach((p, i) => {
      expect(p.grad!.data).toEqual(viaTidy[i]);
    });
  });

  it("trains bit-identically with and without tidy (nested scopes too)", () => {
    const run = (useTidy: boolean) => {
      const model = mlp(4);
      const opt = new q.optim.AdamW(model.parameters(), { lr: 1e-2 });
      const gen = new q.Generator(9);
      const losses: number[] = [];
      for (let step = 0; step < 20; step++) {
        const body = () => {
          const x = q.randn([16, 64], { generator: gen });
          const loss = useTidy
            ? q.tidy(() => model.forward(x).square().mean())
            : model.forward(x).square().mean();
          loss.backward();
          q.optim.clipGradNorm(model.parameters(), 1);
          opt.step();
          opt.zeroGrad();
          return loss.item();
        };
        losses.push(useTidy ? q.tidy(body) : body());
      }
      return losses;
    };
    expect(run(true)).toEqual(run(false));
  });

  it("recycles no-grad outputs but never a view of storage made outside an op (a KV cache)", () => {
    const config = { vocabSize: 40, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0, bias: true };
    const model = new q.GPT(config, { generator: new q.Generator(5) });
    model.eval();
    const decode = (useTidy: boolean) =>
      q.withNoGrad(() => {
        const cache = new q.KVCache(config.nLayer);
        const ids: number[] = [];
        let next = 3;
        for (let t = 0; t < 20; t++) {
          const step = () => {
            const x = q.tensor(Int32Array.of(next), { shape: [1, 1] });
            // the op path (cat-free cache views) and the fused path both keep the cache intact
            return model.forward(x, null, { cache, lastOnly: true }).logits.argmax(-1).item();
          };
          next = useTidy ? q.tidy(step) : step();
          ids.push(next);
        }
        return ids;
      });
    const released0 = memoryPool().released;
    const withTidy = decode(true);
    expect(withTidy).toEqual(decode(false));
    expect(memoryPool().released).toBeGreaterThanOrEqual(released0);
  });

  it("recycles the outputs of a no-grad forward and keeps the returned one", () => {
    const model = mlp(6);
    const x = q.randn([32, 64]);
    const released0 = memoryPool().released;
    const out = q.withNoGrad(() => q.tidy(() => model.forward(x)));
    expect(memoryPool().released).toBeGreaterThan(released0);
    const kept = Float32Array.from(out.data as Float32Array);
    for (let i = 0; i < 3; i++) q.withNoGrad(() => q.tidy(() => model.forward(x).sum().item()));
    expect(out.data).toEqual(kept);
  });

  it("a steady-state GPT training step under tidy allocates fresh buffers only for the new .grad", () => {
    const config = { vocabSize: 40, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0, bias: true };
    const model = new q.GPT(config, { generator: new q.Generator(8) });
    const opt = new q.optim.AdamW(model.configureOptimizerGroups(0.1), { lr: 1e-3 });
    const ids = q.randint(0, 40, [4, 33], { generator: new q.Generator(9) });
    const x = ids.narrow(1, 0, 32).contiguous();
    const y = ids.narrow(1, 1, 32).contiguous();
    const step = () => {
      q.tidy(() => model.forward(x, y).loss!.backward());
      q.optim.clipGradNorm(model.parameters(), 1);
      opt.step();
      opt.zeroGrad();
    };
    for (let i = 0; i < 3; i++) step();
    const fresh0 = memoryPool().fresh;
    for (let i = 0; i < 5; i++) step();
    // Only the new .grad buffers are fresh: zeroGrad() drops the old ones (set to None, as in
    // PyTorch), and a caller may still hold them, so they are left to the garbage collector.
    const bigGrads = model.parameters().filter((p) => p.numel() >= 1024).length;
    expect(memoryPool().fresh - fresh0).toBe(5 * bigGrads);
  });
});

describe("a tensor kept from inside tidy() without being returned (issue 12, defect 11)", () => {
  // Before the generation check, `kept` silently took the values of the next step's activations
  // and ops on it ran on them. Now it either survives (returned) or every use throws.
  it("fails loudly in the next op, item() and toArray() once its storage is recycled", () => {
    const model = mlp(4);
    const x = q.randn([32, 64]);
    let kept: q.Tensor | null = null;
    q.tidy(() => {
      kept = model.forward(x); // (32, 64): pooled storage
      return kept.sum().item();
    });
    for (let i = 0; i < 3; i++) q.tidy(() => model.forward(x).square().mean().backward());
    const k = kept as unknown as q.Tensor;
    expect(() => k.add(1)).toThrow(q.RecycledTensorError);
    expect(() => q.matmul(k, q.randn([64, 2]))).toThrow(/input 0 uses storage that was recycled/);
    expect(() => k.toArray()).toThrow(q.RecycledTensorError);
    expect(() => q.reshape(k, [64, 32])).toThrow(q.RecycledTensorError);
  });

  it("keeps working when returned, and a fresh tensor on reused storage is live", () => {
    const model = mlp(5);
    const x = q.randn([32, 64]);
    const out = q.tidy(() => model.forward(x));
    for (let i = 0; i < 3; i++) q.tidy(() => model.forward(x).square().mean().backward());
    expect(() => out.add(1).sum().item()).not.toThrow();
    // Storage released and handed out again: the tensor made on it afterwards is valid.
    const a = allocate("float32", big);
    const stale = new q.Tensor(a, [big]);
    release(a);
    const b = allocate("float32", big);
    expect(b).toBe(a);
    const fresh = new q.Tensor(b, [big]);
    expect(fresh.add(1).sum().item()).toBe(big);
    expect(() => stale.add(1)).toThrow(q.RecycledTensorError);
  });

  it("can be switched off, and then reads whatever now lives in the storage", () => {
    const a = allocate("float32", big);
    const stale = new q.Tensor(a, [big]);
    release(a);
    allocate("float32", big).fill(3);
    memoryPool({ checkRecycled: false });
    try {
      expect(stale.sum().item()).toBe(3 * big);
    } finally {
      memoryPool({ checkRecycled: true });
    }
  });
});
