/** LR schedules against torch.optim.lr_scheduler goldens, plus state-dict round trips. */
import { describe, expect, it } from "vitest";
import { optim, Parameter, zeros } from "../../src/index.js";
import { expectClose } from "../helpers.js";
import { loadFixture } from "../nn/fixture.js";

interface Sched {
  lrs: number[];
}
const fx = loadFixture<{
  steps: number;
  stepLR: Sched & { lr: number; stepSize: number; gamma: number };
  lambdaLR: Sched & { lr: number };
  cosineWithWarmup: Sched & {
    lr: number;
    warmupIters: number;
    lrDecayIters: number;
    minLr: number;
    direct: number[];
  };
  inverseSqrtWarmup: Sched & { lr: number; dModel: number; warmup: number; factor: number };
}>("schedules.json");

function sgd(lr: number): optim.SGD {
  return new optim.SGD([new Parameter(zeros([1]))], { lr });
}

/** lr after construction and after each of `steps` steps, read from getLastLr and from the group. */
function run(sched: optim.LRScheduler, opt: optim.Optimizer, steps: number): number[] {
  const lrs = [sched.getLastLr()[0]];
  expect(opt.paramGroups[0].lr).toBe(lrs[0]);
  for (let i = 0; i < steps; i++) {
    opt.step();
    sched.step();
    lrs.push(sched.getLastLr()[0]);
    expect(opt.paramGroups[0].lr).toBe(lrs[lrs.length - 1]);
  }
  return lrs;
}

describe(`lr schedules match torch ${fx.torch}`, () => {
  it("StepLR matches torch's StepLR exactly", () => {
    const opt = sgd(fx.stepLR.lr);
    const lrs = run(
      new optim.StepLR(opt, { stepSize: fx.stepLR.stepSize, gamma: fx.stepLR.gamma }),
      opt,
      fx.steps,
    );
    expect(lrs).toEqual(fx.stepLR.lrs);
  });

  it("LambdaLR matches torch's LambdaLR exactly", () => {
    const opt = sgd(fx.lambdaLR.lr);
    const lrs = run(new optim.LambdaLR(opt, (e) => 0.95 ** e), opt, fx.steps);
    expectClose(lrs, fx.lambdaLR.lrs, 1e-15, 0, "LambdaLR");
  });

  it("CosineWithWarmup matches torch's LambdaLR with nanoGPT's get_lr, and get_lr itself", () => {
    const c = fx.cosineWithWarmup;
    const opt = sgd(c.lr);
    const lrs = run(new optim.CosineWithWarmup(opt, c), opt, fx.steps);
    // LambdaLR multiplies lr by get_lr(it)/lr, which can differ from get_lr(it) in the last bit.
    expectClose(lrs, c.lrs, 1e-14, 0, "CosineWithWarmup vs LambdaLR");
    expectClose(lrs, c.direct, 1e-14, 0, "CosineWithWarmup vs get_lr");
    const pure = c.direct.map((_, it) => optim.cosineWithWarmupLr(it, c));
    expectClose(pure, c.direct, 1e-14, 0, "cosineWithWarmupLr");
    // nanoGPT's warmup form: lr·(it+1)/(warmup+1), peak lr at it = warmupIters, minLr after decay.
    expect(pure[0]).toBeCloseTo(c.lr / (c.warmupIters + 1), 15);
    expect(pure[c.warmupIters]).toBe(c.lr);
    expect(pure[c.lrDecayIters]).toBeCloseTo(c.minLr, 15);
    expect(pure[c.lrDecayIters + 1]).toBe(c.minLr);
  });

  it("InverseSqrtWarmup matches torch's LambdaLR with the Transformer rate", () => {
    const c = fx.inverseSqrtWarmup;
    const opt = sgd(c.lr);
    const lrs = run(new optim.InverseSqrtWarmup(opt, c), opt, fx.steps);
    expectClose(lrs, c.lrs, 1e-14, 0, "InverseSqrtWarmup");
    // Peak at step_num = warmup (epoch warmup − 1), where both branches of the min agree.
    const peak = lrs.indexOf(Math.max(...lrs));
    expect(peak).toBe(c.warmup - 1);
    expect(optim.inverseSqrtWarmupLr(c.warmup, c)).toBeCloseTo(c.factor / Math.sqrt(c.dModel * c.warmup), 15);
    expect(() => optim.inverseSqrtWarmupLr(0, c)).toThrow(/counts from 1/);
  });
});

describe("LRScheduler behaviour", () => {
  it("sets initialLr, handles several groups, and a per-group lambda", () => {
    const opt = new optim.SGD(
      [{ params: [new Parameter(zeros([1]))] }, { params: [new Parameter(zeros([1]))], lr: 0.5 }],
      { lr: 0.1 },
    );
    const sched = new optim.LambdaLR(opt, [(e) => 1 / (e + 1), (e) => 2 ** -e]);
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual([0.1, 0.5]);
    expect(sched.baseLrs).toEqual([0.1, 0.5]);
    sched.step();
    sched.step();
    expect(sched.getLastLr()).toEqual([0.1 / 3, 0.125]);
    expect(() => new optim.LambdaLR(opt, [(e) => e])).toThrow(/expected 2 lr lambdas/);
  });

  it("resuming with lastEpoch needs initialLr; a fresh start sets it", () => {
    const opt = sgd(0.1);
    expect(() => new optim.StepLR(opt, { stepSize: 2, lastEpoch: 3 })).toThrow(/initialLr/);
  });

  it("stateDict → loadStateDict resumes a schedule exactly (and leaves out the optimizer and lambdas)", () => {
    const mk = () => {
      const opt = sgd(1e-3);
      return {
        opt,
        sched: new optim.CosineWithWarmup(opt, { warmupIters: 5, lrDecayIters: 30, minLr: 1e-4 }),
      };
    };
    const a = mk();
    for (let i = 0; i < 12; i++) a.sched.step();
    const sd = a.sched.stateDict();
    expect(sd).not.toHaveProperty("optimizer");
    expect(JSON.parse(JSON.stringify(sd))).toEqual(sd);
    const b = mk();
    b.sched.loadStateDict(sd);
    b.opt.loadStateDict(a.opt.stateDict());
    for (let i = 0; i < 25; i++) {
      a.sched.step();
      b.sched.step();
      expect(b.sched.getLastLr()).toEqual(a.sched.getLastLr());
      expect(b.opt.paramGroups[0].lr).toBe(a.opt.paramGroups[0].lr);
    }
    const lam = new optim.LambdaLR(sgd(1), (e) => e);
    expect(Object.keys(lam.stateDict())).not.toContain("lrLambdas");
    expect(() => lam.loadStateDict({ bogus: 1 })).toThrow(/unexpected key "bogus"/);
  });

  it("StepLR decays on multiples of stepSize; validates its options", () => {
    const opt = sgd(1);
    const s = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
    const seen = [s.getLastLr()[0]];
    for (let i = 0; i < 5; i++) {
      s.step();
      seen.push(s.getLastLr()[0]);
    }
    expect(seen).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25]);
    expect(() => new optim.StepLR(sgd(1), { stepSize: 0 })).toThrow(/stepSize/);
    expect(() => new optim.CosineWithWarmup(sgd(1), { warmupIters: 10, lrDecayIters: 10, minLr: 0 })).toThrow(
      /lrDecayIters/,
    );
  });
});
