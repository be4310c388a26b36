/**
 * Debug-state goldens, as llm.c's test_gpt2: a tiny GPT-2, BERT and encoder-decoder start from
 * the parameters PyTorch dumped (scripts/gen_debug_state.py, float64), run forward, loss,
 * backward and one AdamW step on the active backend, and must match PyTorch's logits, loss,
 * every parameter's gradient, and every parameter after the step, in float32 and float64.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  BertForMaskedLM,
  crossEntropy,
  Generator,
  GPT,
  getBackendName,
  type Module,
  optim,
  type Parameter,
  paddingMask,
  reshape,
  Seq2SeqTransformer,
  type Tensor,
  tensor,
} from "../../src/index.js";
import { readJson, readSafetensorsFile } from "../../src/node.js";

type Dtype = "float32" | "float64";

interface Fixture {
  generator: string;
  torch_version: string;
  transformers_version: string;
  adamw: { lr: number; betas: [number, number]; eps: number; weightDecay: number };
  loss: number;
  parameters: string[];
  config: Record<string, unknown>;
  [input: string]: unknown;
}

interface Golden {
  fixture: Fixture;
  tensors: Map<string, { shape: number[]; data: ArrayLike<number> }>;
}

async function golden(name: string): Promise<Golden> {
  const path = (ext: string) =>
    fileURLToPath(new URL(`../fixtures/debug-state/${name}.${ext}`, import.meta.url));
  const fixture = await readJson<Fixture>(path("json"), "debug-state fixture");
  const { tensors } = await readSafetensorsFile(path("safetensors"), { copy: true });
  return { fixture, tensors };
}

/**
 * Tolerances on the scale-relative error max|qkv − torch| / max|torch| of each tensor (see Report).
 * float32 runs start from the float64 parameters rounded once (relative 6e-8) and round every op;
 * float64 runs differ from torch only in summation order. The update p₁ − p₀ is about lr = 1e-3
 * while p is about 1, so in float32 the subtraction alone costs ulp(p) / lr ≈ 1e-4 of it.
 */
const TOL: Record<Dtype, Record<Category, number>> = {
  float32: { logits: 1e-5, loss: 1e-5, grads: 1e-5, params: 1e-5, update: 1e-3 },
  float64: { logits: 1e-10, loss: 1e-10, grads: 1e-10, params: 1e-10, update: 1e-10 },
};

type Category = "logits" | "loss" | "grads" | "params" | "update";

interface Err {
  what: string;
  /** max |qkv − torch| over the tensor */
  abs: number;
  /** max |torch| over the tensor */
  scale: number;
}

/** The largest |a − b| and max|b|, with a shape check. */
function compare(
  what: string,
  actual: Tensor | ArrayLike<number>,
  shape: readonly number[],
  ref: ArrayLike<number>,
): Err {
  const a = "toArray" in actual ? (actual as Tensor).toArray() : actual;
  if ("shape" in actual && (actual as Tensor).shape.join(",") !== shape.join(","))
    throw new Error(`${what}: shape [${(actual as Tensor).shape}] differs from torch's [${shape}]`);
  if (a.length !== ref.length) throw new Error(`${what}: ${a.length} values, torch has ${ref.length}`);
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(Number(a[i]) - ref[i]);
    abs = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(abs, d);
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return { what, abs, scale };
}

/**
 * Worst error per category. A tensor's error is relative to its own scale, floored at 1e-3 of the
 * category's largest value: some gradients are zero in exact arithmetic (BERT's key bias, since
 * softmax ignores a shift shared by all keys), and both sides then hold rounding noise (~1e-21).
 */
class Report {
  private readonly entries = new Map<Category, Err[]>();
  add(c: Category, e: Err): void {
    this.entries.set(c, [...(this.entries.get(c) ?? []), e]);
  }
  worst(): Map<Category, Err & { rel: number }> {
    const out = new Map<Category, Err & { rel: number }>();
    for (const [c, list] of this.entries) {
      const floor = 1e-3 * Math.max(...list.map((e) => e.scale));
      for (const e of list) {
        const rel = e.abs / Math.max(e.scale, floor, Number.MIN_VALUE);
        const prev = out.get(c);
        if (!prev || !(rel <= prev.rel)) out.set(c, { ...e, rel });
      }
    }
    return out;
  }
  line(): string {
    return [...this.worst()]
      .map(([c, e]) => `${c} ${e.abs.toExponential(1)} (rel ${e.rel.toExponential(1)}, ${e.what})`)
      .join("; ");
  }
}

/** A float64 tensor of the fixture as `dtype`. */
function fromFixture(g: Golden, key: string, dtype: Dtype): Tensor {
  const raw = g.tensors.get(key);
  if (!raw) throw new Error(`fixture has no tensor ${key}`);
  const data = dtype === "float64" ? Float64Array.from(raw.data) : Float32Array.from(raw.data);
  return tensor(data, { shape: raw.shape });
}

function ids(rows: unknown): Tensor {
  return tensor(rows as number[][], { dtype: "int32" });
}

interface ModelCase {
  name: string;
  build(config: Record<string, unknown>, dtype: Dtype): Module;
  /** Logits and the scalar loss on the fixture's batch. */
  step(model: Module, f: Fixture): { logits: Tensor; loss: Tensor };
}

const gen = () => new Generator(0); // the initial weights are overwritten; a private generator keeps the global one untouched

const cases: ModelCase[] = [
  {
    name: "gpt2",
    build: (config, dtype) =>
      new GPT(config as unknown as ConstructorParameters<typeof GPT>[0], { generator: gen() }).to(dtype),
    step(model, f) {
      const { logits, loss } = (model as GPT).forward(ids(f.input_ids), ids(f.targets));
      return { logits, loss: loss as Tensor };
    },
  },
  {
    name: "bert",
    build: (config, dtype) =>
      new BertForMaskedLM(config as unknown as ConstructorParameters<typeof BertForMaskedLM>[0], {
        generator: gen(),
      }).to(dtype),
    step(model, f) {
      const { logits, loss } = (model as BertForMaskedLM).forward(ids(f.input_ids), {
        attentionMask: ids(f.attention_mask),
        tokenTypeIds: ids(f.token_type_ids),
        labels: ids(f.labels),
      });
      return { logits, loss: loss as Tensor };
    },
  },
  {
    name: "seq2seq",
    build: (config, dtype) =>
      new Seq2SeqTransformer({
        ...(config as unknown as ConstructorParameters<typeof Seq2SeqTransformer>[0]),
        dtype,
        generator: gen(),
      }),
    step(model, f) {
      const src = ids(f.src);
      const tgtIn = ids(f.tgt_in);
      const pad = f.pad_id as number;
      const logits = (model as Seq2SeqTransformer).forward(src, tgtIn, {
        srcKeyPaddingMask: paddingMask(src, pad),
        tgtKeyPaddingMask: paddingMask(tgtIn, pad),
      }); // (N, T, V); the memory mask defaults to the source's
      const V = logits.shape[2];
      const loss = crossEntropy(reshape(logits, [-1, V]), reshape(ids(f.tgt_out), [-1]), {
        ignoreIndex: pad,
      });
      return { logits, loss };
    },
  },
];

/** Loads the fixture's parameters; tied aliases (absent from namedParameters) follow their owner. */
function load(model: Module, g: Golden, dtype: Dtype): void {
  const named = model.namedParameters().map(([k]) => k);
  expect([...named].sort()).toEqual([...g.fixture.parameters].sort());
  const sd = Object.fromEntries(named.map((k) => [k, fromFixture(g, `param/${k}`, dtype)]));
  const { missingKeys, unexpectedKeys } = model.loadStateDict(sd, { strict: false });
  expect(unexpectedKeys).toEqual([]);
  // Only tied aliases may be missing: stateDict lists them, namedParameters does not.
  const own = model.stateDict();
  const params = new Set<Tensor>(model.parameters());
  for (const k of missingKeys) expect(params.has(own[k]), `${k} should be a tied alias`).toBe(true);
}

/** Forward, backward and one AdamW step against the golden; returns the per-category errors. */
function debugStep(c: ModelCase, g: Golden, dtype: Dtype): Report {
  const f = g.fixture;
  const model = c.build(f.config, dtype);
  load(model, g, dtype);
  const named = model.namedParameters();
  const r = new Report();

  const { logits, loss } = c.step(model, f);
  const ref = g.tensors.get("logits");
  if (!ref) throw new Error("fixture has no logits");
  r.add("logits", compare("logits", logits, ref.shape, ref.data));
  r.add("loss", compare("loss", [loss.item()], [1], [f.loss]));

  loss.backward();
  for (const [k, p] of named) {
    const ref = g.tensors.get(`grad/${k}`);
    if (!ref) throw new Error(`fixture has no grad/${k}`);
    if (!p.grad) throw new Error(`${k} received no gradient`);
    r.add("grads", compare(`grad ${k}`, p.grad, ref.shape, ref.data));
  }

  // One AdamW step; the same param groups as the script: decay on matrices and embeddings only.
  const before = new Map(named.map(([k, p]) => [k, p.toArray().slice()]));
  const { lr, betas, eps, weightDecay } = f.adamw;
  const groups = [
    { params: named.filter(([, p]) => p.ndim >= 2).map(([, p]) => p), weightDecay },
    { params: named.filter(([, p]) => p.ndim < 2).map(([, p]) => p), weightDecay: 0 },
  ];
  new optim.AdamW(groups, { lr, betas, eps }).step();
  for (const [k, p] of model.namedParameters() as [string, Parameter][]) {
    const after = g.tensors.get(`adamw/${k}`);
    const p0 = g.tensors.get(`param/${k}`);
    if (!after || !p0) throw new Error(`fixture has no adamw/${k} or param/${k}`);
    r.add("params", compare(`param ${k}`, p, after.shape, after.data));
    // The update itself (p₁ − p₀, about lr per element) is ~1e-3 of a parameter, so it gets its own check.
    const now = p.toArray();
    const was = before.get(k) as ArrayLike<number>;
    const mine = Float64Array.from({ length: now.length }, (_, i) => now[i] - was[i]);
    const theirs = Float64Array.from({ length: now.length }, (_, i) => after.data[i] - p0.data[i]);
    r.add("update", compare(`update ${k}`, mine, after.shape, theirs));
  }
  return r;
}

describe.each(cases)("debug state: $name", (c) => {
  it("fixture records its generator and library versions", async () => {
    const g = await golden(c.name);
    expect(g.fixture.generator).toBe("scripts/gen_debug_state.py");
    expect(g.fixture.torch_version).toMatch(/^2\./);
    expect(g.fixture.transformers_version).toMatch(/^\d+\./);
  });

  it.each(["float32", "float64"] as const)(
    "%s: logits, loss, every gradient and one AdamW step match PyTorch",
    async (dtype) => {
      const g = await golden(c.name);
      const r = debugStep(c, g, dtype);
      const line = `debug-state ${c.name} ${dtype} [${getBackendName()}]: ${r.line()}`;
      console.log(line);
      const worst = r.worst();
      for (const [cat, e] of worst) expect(e.rel, `${cat}: ${e.what}`).toBeLessThan(TOL[dtype][cat]);
      expect([...worst.keys()].sort()).toEqual(["grads", "logits", "loss", "params", "update"]);
    },
  );
});

describe("the comparison", () => {
  // Guards against a check that cannot fail: one gradient element moved by 1e-3 of the tensor's scale.
  it("flags a single perturbed gradient element", async () => {
    const g = await golden("gpt2");
    const ref = g.tensors.get("grad/h.1.mlp.c_fc.weight");
    if (!ref) throw new Error("fixture has no grad/h.1.mlp.c_fc.weight");
    const scale = Math.max(...Array.from(ref.data, Math.abs));
    const bad = Float64Array.from(ref.data);
    bad[17] += 1e-3 * scale;
    const same = new Report();
    same.add("grads", compare("same", Float64Array.from(ref.data), ref.shape, ref.data));
    expect(same.worst().get("grads")?.rel).toBe(0);
    const perturbed = new Report();
    perturbed.add("grads", compare("perturbed", bad, ref.shape, ref.data));
    expect(perturbed.worst().get("grads")?.rel).toBeGreaterThan(TOL.float32.grads);
  });
});
