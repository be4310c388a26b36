// The Trainer's NaN/Inf guard: a non-finite loss, gradient or parameter is caught at the step it
// appears, named, never saved; "stop" throws, "skip" drops exactly that update.
import { describe, expect, test } from "vitest";
import {
  Module,
  mseLoss,
  mul,
  NonFiniteError,
  optim,
  Parameter,
  sqrt,
  sum,
  Trainer,
  type TrainerState,
  type TrainOptimizer,
  type TrainTask,
  tensor,
} from "../../src/index.js";

const { AdamW } = optim;

class Affine extends Module {
  w = new Parameter(tensor([0.5, -0.25]));
  forward(x: ReturnType<typeof tensor>) {
    return sum(mul(x, this.w));
  }
}

/** Batches x·w ≈ y; the batch at `badAt` (the n-th call) holds `bad` instead of x. */
function task(model: Affine, batches: number[][], kind: "loss" | "grad" = "loss"): TrainTask {
  let call = 0;
  return {
    model,
    tokensPerBatch: 1,
    trainLoss: () => {
      const x = batches[call++ % batches.length];
      // sqrt(w·0) at w·0 = 0: the loss is 0 (finite) while d/dw = x / (2·sqrt(0)) is not.
      if (kind === "grad" && x.some((v) => Number.isNaN(v))) return sum(sqrt(mul(model.w, 0)));
      return mseLoss(model.forward(tensor(x)), tensor(1));
    },
    evalLoss: () => 0.5,
    getState: () => ({ call }),
    setState: (s) => {
      call = (s as { call: number }).call;
    },
  };
}

const opts = {
  maxIters: 5,
  gradAccum: 1,
  gradClip: 0,
  evalInterval: 100,
  evalIters: 1,
  logInterval: 1,
  alwaysSaveCheckpoint: true,
  lrAt: () => 0.05,
};

function finiteStore(model: Module, saved: number[]) {
  return {
    save: async (_kind: "last" | "best", state: TrainerState) => {
      // "Never saved": whatever reaches the store is finite.
      for (const [, p] of model.namedParameters())
        for (const v of p.toArray() as Float32Array) expect(Number.isFinite(v)).toBe(true);
      saved.push(state.iter);
      return "mem";
    },
  };
}

const good = [
  [1, 2],
  [2, 1],
  [0.5, 3],
  [3, 0.5],
];
const withBad = [good[0], good[1], good[2], [Number.POSITIVE_INFINITY, 1], good[3]];

describe("NaN/Inf guard", () => {
  test("stop: a non-finite loss at step 3 throws naming the step and the loss; nothing is saved after it", async () => {
    const model = new Affine();
    const saved: number[] = [];
    const events: unknown[] = [];
    const tr = new Trainer(task(model, withBad), new AdamW([model.w], { lr: 0.05 }), {
      ...opts,
      evalInterval: 2,
      store: finiteStore(model, saved),
      onEvent: (e) => events.push(e),
    });
    const err = await tr.run().catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as NonFiniteError).iter).toBe(3);
    expect((err as NonFiniteError).message).toMatch(/non-finite loss at iteration 3/);
    expect(events).toContainEqual({ type: "nonfinite", iter: 3, what: "loss", action: "stop" });
    expect(saved).toEqual([2]); // "last" at iteration 2 (the constant eval loss never improves), none later
  });

  test("skip: the bad step's update is dropped; the run equals one without that batch, AdamW state included", async () => {
    // Constant lr, so dropping step 3 leaves a run identical to one that never saw the bad batch.
    const a = new Affine();
    const optA = new AdamW([a.w], { lr: 0.05 });
    await new Trainer(task(a, withBad), optA, { ...opts, maxIters: 5, onNonFinite: "skip" }).run();
    const b = new Affine();
    const optB = new AdamW([b.w], { lr: 0.05 });
    await new Trainer(task(b, good), optB, { ...opts, maxIters: 4 }).run();
    expect(Array.from(a.w.toArray() as Float32Array)).toEqual(Array.from(b.w.toArray() as Float32Array));
    const sa = optA.stateDict().state[0];
    const sb = optB.stateDict().state[0];
    expect(sa.step).toBe(4); // the skipped step does not count
    expect(Array.from((sa.expAvgSq as ReturnType<typeof tensor>).toArray() as Float32Array)).toEqual(
      Array.from((sb.expAvgSq as ReturnType<typeof tensor>).toArray() as Float32Array),
    );
  });

  test("a non-finite gradient with a finite loss is named by its parameter", async () => {
    const model = new Affine();
    const tr = new Trainer(
      task(model, [good[0], [Number.NaN, 0]], "grad"),
      new AdamW([model.w], { lr: 0.05 }),
      opts,
    );
    const err = (await tr.run().catch((e) => e)) as NonFiniteError;
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err.message).toMatch(/non-finite gradient of w at iteration 1/);
  });

  test("a parameter the update makes non-finite: stop names it; skip restores parameters and optimizer state", async () => {
    // An optimizer whose 2nd update writes Inf (as an overflowing update would) and counts steps.
    class Overflowing implements TrainOptimizer {
      paramGroups = [{ lr: 0 }];
      steps = 0; // optimizer state: saved and restored
      calls = 0; // not state: the 2nd call overflows, whatever was restored
      constructor(readonly p: Parameter) {}
      step() {
        this.steps++;
        this.calls++;
        const d = this.p.data as Float32Array;
        d[this.p.offset] = this.calls === 2 ? Number.POSITIVE_INFINITY : d[this.p.offset] + 1;
      }
      zeroGrad() {
        this.p.grad = null;
      }
      stateDict() {
        return { steps: this.steps };
      }
      loadStateDict(s: never) {
        this.steps = (s as { steps: number }).steps;
      }
    }
    const m1 = new Affine();
    const err = (await new Trainer(task(m1, good), new Overflowing(m1.w), opts)
      .run()
      .catch((e) => e)) as NonFiniteError;
    expect(err.message).toMatch(/non-finite parameter w at iteration 1/);

    const m2 = new Affine();
    const opt = new Overflowing(m2.w);
    const events: { type: string; iter?: number }[] = [];
    await new Trainer(task(m2, good), opt, {
      ...opts,
      maxIters: 3,
      onNonFinite: "skip",
      onEvent: (e) => events.push(e),
    }).run();
    // Steps 0 and 2 applied (+1 each); step 1 overflowed and was undone, its step count too.
    expect((m2.w.toArray() as Float32Array)[0]).toBe(2.5);
    expect(opt.steps).toBe(2); // 1 after step 0, back to 1 when step 1 is undone, 2 after step 2
    expect(events.filter((e) => e.type === "nonfinite").map((e) => e.iter)).toEqual([1]);
  });
});
