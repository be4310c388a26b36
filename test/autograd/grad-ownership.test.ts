/**
 * The backward sweep writes a gradient buffer in place (a leaf keeps it as `.grad`, a second
 * contribution is added into it, an embedding scatters into its tied weight's pending gradient)
 * only when the sweep allocated it and nothing else refers to it. These tests build graphs where
 * a gradient is shared (add passes one buffer to both inputs), is a view (reshape, transpose,
 * expand), is the caller's seed, or was kept as a `.grad`, and check that no such buffer is
 * written, that inputs and activations keep their values, and that every gradient matches a
 * reference computed without sharing. Buffers are tracked from 1024 elements, so the tensors here
 * are at least that large.
 */
import { describe, expect, it } from "vitest";
import { record } from "../../src/autograd/graph.js";
import * as q from "../../src/index.js";
import { expectClose, leaf } from "../helpers.js";

const R = 32;
const C = 48; // R·C = 1536 elements
const V = 64; // V·C = 3072

/** A float64 constant of seeded N(0, 1) values. */
const fixed = (shape: readonly number[], seed: number) => leaf(shape, seed).detach();
const ids = (n: number, seed: number) => q.randint(0, V, [n], { generator: new q.Generator(seed) });
/** sum(t ⊙ w): a scalar whose gradient with respect to t is w. */
const dot = (t: q.Tensor, w: q.Tensor) => q.sum(q.mul(t, w));
const values = (t: q.Tensor) => Array.from(t.toArray());

/** Elementwise sum of plain arrays. */
function plus(...xs: ArrayLike<number>[]): number[] {
  return Array.from(xs[0], (_, i) => xs.reduce((s, x) => s + x[i], 0));
}

/** rows[ids[j]] += g[j] for a (V, C) gradient: the reference of an embedding's backward. */
function scatterRows(idx: q.Tensor, g: q.Tensor): number[] {
  const out = new Array<number>(V * C).fill(0);
  const ii = idx.toArray();
  const gg = g.toArray();
  for (let j = 0; j < ii.length; j++) for (let c = 0; c < C; c++) out[ii[j] * C + c] += gg[j * C + c];
  return out;
}

describe("a leaf used more than once", () => {
  it("gets the sum of its contributions, through different ops and twice in one op", () => {
    const x = leaf([R, C], 1);
    const w1 = fixed([R, C], 2);
    const w2 = fixed([R, C], 3);
    const before = [values(x), values(w1), values(w2)];
    q.add(
      q.add(dot(x, w1), dot(q.tanh(x), w2)),
      q.add(dot(q.add(x, x), w1), dot(q.mul(x, x), w2)),
    ).backward();
    const xs = before[0];
    const want = xs.map((v, i) => {
      const t = Math.tanh(v);
      return before[1][i] + before[2][i] * (1 - t * t) + 2 * before[1][i] + 2 * v * before[2][i];
    });
    expectClose(x.grad!, want, 1e-12, 1e-12);
    expect([values(x), values(w1), values(w2)]).toEqual(before);
  });
});

describe("a gradient that add() passes to both inputs", () => {
  it("gives each leaf its own buffer: writing one .grad leaves the other alone", () => {
    const a = leaf([R, C], 4);
    const b = leaf([R, C], 5);
    const w = fixed([R, C], 6);
    dot(q.add(a, b), w).backward();
    expect(values(a.grad!)).toEqual(values(w));
    expect(values(b.grad!)).toEqual(values(w));
    expect(a.grad!.data).not.toBe(b.grad!.data);
    q.withNoGrad(() => q.fill_(a.grad!, 0));
    expect(values(b.grad!)).toEqual(values(w));
  });

  it("is not accumulated into when one of the two inputs gets another contribution (either order)", () => {
    for (const order of [0, 1]) {
      const x = leaf([R, C], 7);
      const c = leaf([R, C], 8);
      const w = fixed([R, C], 9);
      const v = fixed([R, C], 10);
      const h = q.mul(x, 1.5);
      const hv = values(h);
      const s = q.add(h, c); // d/dh and d/dc are the same buffer
      const terms = [dot(s, w), dot(h, v)];
      (order === 0 ? q.add(terms[0], terms[1]) : q.add(terms[1], terms[0])).backward();
      expect(values(c.grad!), `order ${order}`).toEqual(values(w));
      expectClose(
        x.grad!,
        plus(values(w), values(v)).map((g) => 1.5 * g),
        1e-12,
        1e-14,
      );
      expect(values(h)).toEqual(hv);
    }
  });

  it("is not accumulated into when both inputs are intermediates with more contributions", () => {
    // The shared buffer is pending for h and k at once; k's second contribution must not land in h's.
    for (const order of [0, 1]) {
      const x = leaf([R, C], 49);
      const y = leaf([R, C], 50);
      const w = fixed([R, C], 51);
      const v1 = fixed([R, C], 52);
      const v2 = fixed([R, C], 53);
      const h = q.mul(x, 1.5);
      const k = q.mul(y, 2);
      const shared = dot(q.add(h, k), w);
      const rest = q.add(dot(h, v1), dot(k, v2));
      (order === 0 ? q.add(shared, rest) : q.add(rest, shared)).backward();
      expectClose(
        x.grad!,
        plus(values(w), values(v1)).map((g) => 1.5 * g),
        1e-12,
        1e-14,
        `order ${order}`,
      );
      expectClose(
        y.grad!,
        plus(values(w), values(v2)).map((g) => 2 * g),
        1e-12,
        1e-14,
        `order ${order}`,
      );
    }
  });

  it("with add(x, x) the leaf gets twice the gradient", () => {
    const x = leaf([R, C], 11);
    const w = fixed([R, C], 12);
    dot(q.add(x, x), w).backward();
    expect(values(x.grad!)).toEqual(values(w).map((g) => 2 * g));
  });
});

describe("gradients that are views", () => {
  it("reshape and transpose backward return views: sums match, the weights are untouched", () => {
    const x = leaf([R, C], 13);
    const wT = fixed([C, R], 14);
    const wR = fixed([C, R], 15);
    const w = fixed([R, C], 16);
    const before = [values(wT), values(wR), values(w)];
    const wTt = values(q.transpose(wT, 0, 1).contiguous());
    // every order of the three uses: a strided (transposed) gradient arrives first, between or last
    for (const perm of [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ]) {
      x.grad = null;
      const h = q.mul(x, 2);
      const terms = [dot(q.transpose(h, 0, 1), wT), dot(q.reshape(h, [C, R]), wR), dot(h, w)];
      q.add(q.add(terms[perm[0]], terms[perm[1]]), terms[perm[2]]).backward();
      const what = `order ${perm}`;
      expectClose(
        x.grad!,
        plus(wTt, values(wR), values(w)).map((g) => 2 * g),
        1e-12,
        1e-14,
        what,
      );
    }
    // a leaf whose only gradient is a transposed view gets contiguous storage of its own
    const z = leaf([R, C], 54);
    dot(q.transpose(z, 0, 1), wT).backward();
    expect(z.grad!.isContiguous()).toBe(true);
    expect(values(z.grad!)).toEqual(wTt);
    // a leaf whose first contribution is a view of another rule's buffer
    const y = leaf([R, C], 17);
    q.add(dot(q.reshape(y, [C, R]), wR), dot(y, w)).backward();
    expectClose(y.grad!, plus(values(wR), values(w)), 1e-12, 1e-14);
    expect([values(wT), values(wR), values(w)]).toEqual(before);
  });

  it("expand backward (a sum over the broadcast dim) and a direct use add up", () => {
    const r = leaf([1, R * C], 18);
    const w3 = fixed([3, R * C], 19);
    const v = fixed([1, R * C], 20);
    q.add(dot(q.expand(r, [3, R * C]), w3), dot(r, v)).backward();
    const rows = values(w3);
    const want = values(v).map((g, i) => g + rows[i] + rows[R * C + i] + rows[2 * R * C + i]);
    expectClose(r.grad!, want, 1e-12, 1e-14);
  });

  it("narrow slices of one tensor (cat, split) accumulate into the whole", () => {
    const x = leaf([R, C], 21);
    const w = fixed([R, C], 22);
    const parts = q.split(q.mul(x, 1), [8, 24], 0);
    const back = q.cat([parts[1], parts[0]], 0);
    q.add(dot(back, w), dot(x, w)).backward();
    const wv = values(w);
    const swapped = [...wv.slice(24 * C), ...wv.slice(0, 24 * C)];
    expectClose(x.grad!, plus(swapped, wv), 1e-12, 1e-14);
  });
});

describe("a rule that returns a second array over the same memory (a subarray)", () => {
  it("counts it as a holder of that memory: the other input's gradient is not written", () => {
    // out = a + b, whose rule hands b the gradient as a fresh Float64Array over g's buffer.
    const sumOfTwo = (a: q.Tensor, b: q.Tensor) =>
      record(
        q.withNoGrad(() => q.add(a, b)),
        "sumOfTwo",
        [a, b],
        (g) => [g, new q.Tensor(g.contiguous().data.subarray(0), g.shape)],
      );
    for (const order of [0, 1, 2, 3]) {
      const x = leaf([R, C], 55);
      const y = leaf([R, C], 56);
      const w = fixed([R, C], 57);
      const v1 = fixed([R, C], 58);
      const v2 = fixed([R, C], 59);
      const h = q.mul(x, 1);
      const k = q.mul(y, 1);
      const shared = dot(sumOfTwo(h, k), w);
      const rest = order & 2 ? q.add(dot(k, v2), dot(h, v1)) : q.add(dot(h, v1), dot(k, v2));
      (order & 1 ? q.add(rest, shared) : q.add(shared, rest)).backward();
      expectClose(x.grad!, plus(values(w), values(v1)), 1e-12, 1e-14, `order ${order}`);
      expectClose(y.grad!, plus(values(w), values(v2)), 1e-12, 1e-14, `order ${order}`);
    }
  });
});

describe("the caller's seed gradient", () => {
  it("is never kept as .grad nor written, also when a view of it reaches a leaf twice", () => {
    const x = leaf([R, C], 23);
    const seed = fixed([C, R], 24);
    const sv = values(seed);
    const y = q.add(q.reshape(x, [C, R]), q.reshape(x, [C, R]));
    y.backward(seed);
    expect(values(seed)).toEqual(sv);
    expect(values(x.grad!)).toEqual(sv.map((g) => 2 * g));
    const z = leaf([C, R], 25);
    q.add(z, 0).backward(seed);
    expect(z.grad!.data).not.toBe(seed.data);
    q.withNoGrad(() => q.fill_(z.grad!, 0));
    expect(values(seed)).toEqual(sv);
  });
});

describe("a weight shared by an embedding and a linear layer (tied LM head)", () => {
  /** The gradient of the tied graph, and of the same graph with the two uses as separate leaves. */
  function tiedAndUntied(build: (wEmb: q.Tensor, wLin: q.Tensor) => q.Tensor, seed: number) {
    const W = leaf([V, C], seed);
    const wv = values(W);
    build(W, W).backward();
    const e = q.tensor(Float64Array.from(wv), { shape: [V, C], requiresGrad: true });
    const l = q.tensor(Float64Array.from(wv), { shape: [V, C], requiresGrad: true });
    build(e, l).backward();
    expect(values(W)).toEqual(wv);
    return { tied: W.grad!, want: plus(values(e.grad!), values(l.grad!)) };
  }

  it("embedding → linear with the same weight (GPT's wte / lm_head)", () => {
    const tok = ids(R, 26);
    const Rw = fixed([R, V], 27);
    let emb: q.Tensor | null = null;
    let embValues: number[] = [];
    const { tied, want } = tiedAndUntied((we, wl) => {
      const h = q.embedding(tok, we);
      emb = h;
      embValues = values(h);
      return dot(q.linear(q.tanh(h), wl), Rw);
    }, 28);
    expectClose(tied, want, 1e-12, 1e-12);
    expect(values(emb!)).toEqual(embValues);
  });

  it("the two uses side by side, in either order", () => {
    for (const order of [0, 1]) {
      const tok = ids(R, 29);
      const x = fixed([R, C], 30);
      const r1 = fixed([R, V], 31);
      const r2 = fixed([R, C], 32);
      const { tied, want } = tiedAndUntied((we, wl) => {
        const a = dot(q.linear(x, wl), r1);
        const b = dot(q.embedding(tok, we), r2);
        return order === 0 ? q.add(a, b) : q.add(b, a);
      }, 33);
      expectClose(tied, want, 1e-12, 1e-12);
    }
  });

  it("an embedding whose weight's pending gradient is shared with another input does not scatter into it", () => {
    for (const order of [0, 1]) {
      for (const retain of [false, true]) {
        const W = leaf([V, C], 34);
        const other = leaf([V, C], 35);
        const r1 = fixed([V, C], 36);
        const r2 = fixed([R, C], 37);
        const tok = ids(R, 38);
        const s = q.add(W, other); // W and other receive the same gradient buffer
        if (retain) s.retainGrad();
        const a = dot(s, r1);
        const b = dot(q.embedding(tok, W), r2);
        (order === 0 ? q.add(a, b) : q.add(b, a)).backward();
        const what = `order ${order}, retainGrad ${retain}`;
        expect(values(other.grad!), what).toEqual(values(r1));
        if (retain) expect(values(s.grad!), what).toEqual(values(r1));
        expectClose(W.grad!, plus(values(r1), scatterRows(tok, r2)), 1e-12, 1e-14, what);
      }
    }
  });

  it("a full GPT step gives the tied weight the gradient of the untied model", () => {
    const config = { vocabSize: 64, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0, bias: true };
    const model = new q.GPT(config, { generator: new q.Generator(39) }).to("float64");
    const tok = q.randint(0, 64, [2, 17], { generator: new q.Generator(40) });
    const x = tok.narrow(1, 0, 16).contiguous();
    const y = tok.narrow(1, 1, 16).contiguous();
    model.forward(x, y).loss!.backward();
    const tied = values(model.wte.weight.grad!);
    // Untie: lm_head gets its own copy of the weight; the two gradients must add up to the tied one.
    model.zeroGrad();
    const copy = new q.Parameter(q.tensor(Float64Array.from(values(model.wte.weight)), { shape: [64, 32] }));
    model.lm_head.weight = copy;
    model.forward(x, y).loss!.backward();
    expectClose(tied, plus(values(model.wte.weight.grad!), values(copy.grad!)), 1e-10, 1e-12);
  });
});

describe(".grad kept by the caller, retainGraph and retainGrad", () => {
  it("a second backward leaves a .grad the caller kept as it was; the sum is fresh storage", () => {
    // qkv (unlike PyTorch, which adds into .grad in place) has always summed into new storage.
    const x = leaf([R, C], 41);
    const w = fixed([R, C], 42);
    const y = dot(q.mul(x, 3), w);
    y.backward(undefined, { retainGraph: true });
    const g1 = x.grad!;
    const g1v = values(g1);
    y.backward(undefined, { retainGraph: true });
    expect(values(g1)).toEqual(g1v);
    expect(x.grad!.data).not.toBe(g1.data);
    expectClose(
      x.grad!,
      g1v.map((g) => 2 * g),
      1e-15,
      0,
    );
    // A .grad scaled in place between passes (clipping) is what the next pass adds to.
    q.withNoGrad(() => q.copy_(x.grad!, q.mul(x.grad!, 0.5)));
    y.backward();
    expectClose(
      x.grad!,
      g1v.map((g) => 2 * g),
      1e-15,
      0,
    );
  });

  it("retainGraph through the tied embedding and linear accumulates the same gradient each pass", () => {
    const W = leaf([V, C], 43);
    const tok = ids(R, 44);
    const Rw = fixed([R, V], 45);
    const loss = dot(q.linear(q.embedding(tok, W), W), Rw);
    loss.backward(undefined, { retainGraph: true });
    const once = values(W.grad!);
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    expectClose(
      W.grad!,
      once.map((g) => 3 * g),
      1e-12,
      1e-12,
    );
  });

  it("a retained non-leaf gradient that flows on unchanged is not shared with the leaves", () => {
    const a = leaf([R, C], 46);
    const b = leaf([R, C], 47);
    const w = fixed([R, C], 48);
    const h = q.add(a, b).retainGrad();
    const k = q.mul(h, 1).retainGrad();
    dot(k, w).backward();
    for (const t of [k, h, a, b]) expect(values(t.grad!)).toEqual(values(w));
    const bufs = new Set([k, h, a, b].map((t) => t.grad!.data));
    expect(bufs.size).toBe(4);
  });
});

describe("random graphs against directional finite differences", () => {
  // Every op below keeps (R, C); W (V, C) is used by embeddings and linear layers alike.
  const ops = [
    (s: q.Tensor[], g: q.Generator) => q.add(pick(s, g), pick(s, g)),
    (s: q.Tensor[], g: q.Generator) => q.sub(pick(s, g), pick(s, g)),
    (s: q.Tensor[], g: q.Generator) => q.mul(q.tanh(pick(s, g)), pick(s, g)),
    (s: q.Tensor[], g: q.Generator) => q.mul(pick(s, g), 0.7),
    (s: q.Tensor[], g: q.Generator) => q.reshape(q.transpose(q.reshape(pick(s, g), [C, R]), 0, 1), [R, C]),
    (s: q.Tensor[], g: q.Generator) => q.transpose(q.transpose(pick(s, g), 0, 1), 0, 1),
    (s: q.Tensor[], g: q.Generator) => q.expand(q.narrow(pick(s, g), 0, 3, 1), [R, C]),
    (s: q.Tensor[], g: q.Generator) =>
      q.cat([q.narrow(pick(s, g), 0, 0, 10), q.narrow(pick(s, g), 0, 10, 22)], 0),
    (s: q.Tensor[], g: q.Generator) => q.tanh(q.narrow(q.linear(pick(s, g), s[0]), 1, 0, C)),
    (s: q.Tensor[], g: q.Generator) =>
      q.add(q.embedding(ids(R, Math.floor(g.random() * 1e6)), s[0]), pick(s, g)),
    (s: q.Tensor[], g: q.Generator) => q.mul(pick(s, g), 1).retainGrad(),
  ];
  function pick(s: q.Tensor[], g: q.Generator): q.Tensor {
    // s[0] is W (V, C); the rest are (R, C)
    return s[1 + Math.floor(g.random() * (s.length - 1))];
  }

  it("gradients of every leaf match, and no leaf or activation changes", () => {
    for (let trial = 0; trial < 12; trial++) {
      const leaves = [leaf([V, C], 50 + trial), leaf([R, C], 70 + trial), leaf([R, C], 90 + trial)];
      const leafValues = leaves.map(values);
      const seedOfOps = 2000 + trial;
      const build = () => {
        const og = new q.Generator(seedOfOps);
        const s = [...leaves];
        for (let i = 0; i < 10; i++) s.push(ops[Math.floor(og.random() * ops.length)](s, og));
        // mix in a few intermediates so several paths reach the output
        const out = q.add(q.add(s[s.length - 1], s[s.length - 3]), q.mul(s[s.length - 5], 0.5));
        return { out, acts: s.slice(3) };
      };
      const w = fixed([R, C], 3000 + trial);
      const loss = (o: q.Tensor) => {
        const a = o.toArray();
        const b = w.toArray();
        let t = 0;
        for (let i = 0; i < a.length; i++) t += a[i] * b[i];
        return t;
      };
      const { out, acts } = build();
      const actValues = acts.map(values);
      dot(out, w).backward();
      expect(leaves.map(values), `trial ${trial}: leaves`).toEqual(leafValues);
      expect(acts.map(values), `trial ${trial}: activations`).toEqual(actValues);
      leaves.forEach((x, k) => {
        const dir = fixed(x.shape, 4000 + 10 * trial + k).toArray();
        const analytic = x.grad ? values(x.grad).reduce((s, v, i) => s + v * dir[i], 0) : 0;
        const eps = 1e-6;
        const at = (sign: number) =>
          q.withNoGrad(() => {
            for (let i = 0; i < dir.length; i++) x.data[i] = leafValues[k][i] + sign * eps * dir[i];
            const r = loss(build().out);
            x.data.set(leafValues[k]);
            return r;
          });
        const numeric = (at(1) - at(-1)) / (2 * eps);
        expect(
          Math.abs(analytic - numeric),
          `trial ${trial}, leaf ${k}: ${analytic} vs ${numeric}`,
        ).toBeLessThan(1e-6 * (1 + Math.abs(numeric)));
      });
    }
  });
});

describe("fewer gradient buffers", () => {
  it("a leaf keeps the gradient its rule computed (no copy), and a tied weight gets one buffer", () => {
    const x = leaf([64, 64], 60);
    const w = fixed([64, 64], 61);
    const y = dot(x, w);
    const count = () => q.memoryPool().fresh + q.memoryPool().reused;
    let n0 = count();
    y.backward();
    // mul's backward makes g·w (4096 elements): that buffer becomes x.grad
    expect(count() - n0).toBe(1);
    const W = leaf([V, C], 62);
    const tok = ids(R, 63);
    const Rw = fixed([R, V], 64);
    const loss = dot(q.linear(q.embedding(tok, W), W), Rw);
    n0 = count();
    loss.backward();
    // mul's backward (R, V); linear's weight gradient (V, C), which the embedding scatters into
    // and W keeps; no (V, C) zero gradient, sum or copy. linear's input gradient (R, C).
    expect(count() - n0).toBe(3);
  });
});
